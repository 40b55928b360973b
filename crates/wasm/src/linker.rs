//! The imports a component gets: `eddy:dataflow/state`, forwarded to the pool's [`State`],
//! and a trap for every WASI function it may have been linked with (Rust's `wasm32-wasip2`
//! target links some in even when the code never calls them).

use std::sync::{Arc, Mutex, PoisonError};

use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Linker, LinkerInstance};

use crate::abi::Entry;
use crate::limits::MemoryLimiter;
use crate::state::{State, StateError};

/// The versioned name of the state interface.
pub(crate) const STATE_INTERFACE: &str = "eddy:dataflow/state@0.1.0";
/// The versioned name of the types interface (types only, no functions).
pub(crate) const TYPES_INTERFACE: &str = "eddy:dataflow/types@0.1.0";
/// The versioned name of the batch interface (types only).
pub(crate) const BATCH_INTERFACE: &str = "eddy:dataflow/batch@0.1.0";
/// The versioned name of the types interface of stateful functions (types only).
pub(crate) const FUNCTION_TYPES_INTERFACE: &str = "eddy:function/types@0.1.0";

/// What a store holds: the state its component reaches, and its memory limit.
pub(crate) struct Ctx<S> {
    pub(crate) state: Arc<Mutex<S>>,
    pub(crate) limiter: MemoryLimiter,
}

/// A linker with Eddy's imports, and traps for the WASI imports of `component`.
pub(crate) fn linker<S: State>(
    engine: &Engine,
    component: &wasmtime::component::Component,
) -> wasmtime::Result<Linker<Ctx<S>>> {
    let mut linker = Linker::new(engine);
    linker.instance(TYPES_INTERFACE)?;
    linker.instance(BATCH_INTERFACE)?;
    linker.instance(FUNCTION_TYPES_INTERFACE)?;
    define_state(&mut linker.instance(STATE_INTERFACE)?)?;
    stub_wasi_functions(&mut linker, engine, component)?;
    // What is left: the resource types of WASI interfaces (their functions are stubbed).
    linker.define_unknown_imports_as_traps(component)?;
    Ok(linker)
}

/// The error a WASI function the component calls fails with.
#[derive(Debug, thiserror::Error)]
#[error("the component called `{0}`, which Eddy does not provide")]
pub(crate) struct UnprovidedImport(pub(crate) String);

/// Defines each WASI function `component` imports as one that fails with
/// [`UnprovidedImport`], so the failure can name it.
fn stub_wasi_functions<S: State>(
    linker: &mut Linker<Ctx<S>>,
    engine: &Engine,
    component: &wasmtime::component::Component,
) -> wasmtime::Result<()> {
    let ty = component.component_type();
    for (import, item) in ty.imports(engine) {
        if !import.starts_with("wasi:") {
            continue;
        }
        match item.ty {
            ComponentItem::ComponentInstance(instance) => {
                let mut stubs = linker.instance(import)?;
                for (function, export) in instance.exports(engine) {
                    if matches!(export.ty, ComponentItem::ComponentFunc(_)) {
                        let name = format!("{import}#{function}");
                        stubs.func_new(function, move |_, _, _, _| {
                            Err(UnprovidedImport(name.clone()).into())
                        })?;
                    }
                }
            }
            ComponentItem::ComponentFunc(_) => {
                let name = import.to_owned();
                linker
                    .root()
                    .func_new(import, move |_, _, _, _| Err(UnprovidedImport(name.clone()).into()))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// An import's answer: the state's result, its error as the `string` of a WIT `result`.
type Reply<T> = wasmtime::Result<(Result<T, String>,)>;

fn with_state<S: State, T>(
    cx: wasmtime::StoreContextMut<'_, Ctx<S>>,
    op: impl FnOnce(&mut S) -> Result<T, StateError>,
) -> Reply<T> {
    let mut state = cx.data().state.lock().unwrap_or_else(PoisonError::into_inner);
    Ok((op(&mut *state).map_err(|e| e.0),))
}

fn define_state<S: State>(instance: &mut LinkerInstance<'_, Ctx<S>>) -> wasmtime::Result<()> {
    instance.func_wrap("get-value", |cx, (name, key): (String, Vec<u8>)| {
        with_state(cx, |s: &mut S| s.get_value(&name, &key))
    })?;
    instance.func_wrap("set-value", |cx, (name, key, value): (String, Vec<u8>, Vec<u8>)| {
        with_state(cx, |s: &mut S| s.set_value(&name, &key, value))
    })?;
    instance.func_wrap("increment", |cx, (name, key, by): (String, Vec<u8>, i64)| {
        with_state(cx, |s: &mut S| s.increment(&name, &key, by))
    })?;
    instance.func_wrap("delete-value", |cx, (name, key): (String, Vec<u8>)| {
        with_state(cx, |s: &mut S| s.delete_value(&name, &key))
    })?;
    instance.func_wrap("get-row", |cx, (name, key): (String, Vec<u8>)| {
        with_state(cx, |s: &mut S| s.get_row(&name, &key))
    })?;
    instance.func_wrap("set-row", |cx, (name, key, row): (String, Vec<u8>, Vec<u8>)| {
        with_state(cx, |s: &mut S| s.set_row(&name, &key, row))
    })?;
    instance.func_wrap("delete-row", |cx, (name, key): (String, Vec<u8>)| {
        with_state(cx, |s: &mut S| s.delete_row(&name, &key))
    })?;
    instance.func_wrap("scan-window", |cx, (name,): (String,)| {
        with_state(cx, |s: &mut S| s.scan_window(&name).map(|entries: Vec<Entry>| entries))
    })?;
    Ok(())
}
