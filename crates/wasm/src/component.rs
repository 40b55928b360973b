//! A loaded component: compiled, its imports checked, ready to hand out [`Operator`]s.

use std::sync::Arc;

use wasmtime::component::types::ComponentItem;

use crate::error::{Error, Result};
use crate::host::HostInner;
use crate::linker::{BATCH_INTERFACE, FUNCTION_TYPES_INTERFACE, STATE_INTERFACE, TYPES_INTERFACE, linker};
use crate::operator::{CheckExports, OperatorKind, dispatch};
use crate::pool::Operator;
use crate::state::NoState;

/// A compiled component. Cheap to clone; shared by every worker thread.
#[derive(Clone)]
pub struct Component {
    pub(crate) inner: Arc<ComponentInner>,
}

pub(crate) struct ComponentInner {
    pub(crate) host: Arc<HostInner>,
    pub(crate) compiled: wasmtime::component::Component,
}

impl std::fmt::Debug for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Component").field("exports", &self.exports()).finish_non_exhaustive()
    }
}

impl Component {
    pub(crate) fn load(host: Arc<HostInner>, bytes: &[u8]) -> Result<Component> {
        if is_core_module(bytes) {
            return Err(Error::Invalid(
                "this is a core WebAssembly module, not a component: build it for `wasm32-wasip2`, \
                 or turn it into a component with `wasm-tools component new`"
                    .to_owned(),
            ));
        }
        let compiled = wasmtime::component::Component::new(&host.engine, bytes)
            .map_err(|e| Error::Invalid(format!("{e:#}")))?;
        check_imports(&host.engine, &compiled)?;
        Ok(Component { inner: Arc::new(ComponentInner { host, compiled }) })
    }

    /// The names of the component's exports.
    pub fn exports(&self) -> Vec<String> {
        let ty = self.inner.compiled.component_type();
        ty.exports(&self.inner.host.engine).map(|(name, _)| name.to_owned()).collect()
    }

    /// The operator of `kind` under its default export name (`map`, `map-batch`...).
    ///
    /// # Errors
    /// As [`Component::operator_named`].
    pub fn operator(&self, kind: OperatorKind) -> Result<Operator> {
        self.operator_named(kind, kind.name())
    }

    /// The operator of `kind` exported as `name` and/or `<name>-batch` (a component may
    /// implement several operators of one kind under different names).
    ///
    /// # Errors
    /// [`Error::MissingExport`] when neither export exists, [`Error::WrongSignature`] when
    /// one has another type than the kind's.
    pub fn operator_named(&self, kind: OperatorKind, name: &str) -> Result<Operator> {
        let engine = &self.inner.host.engine;
        let ty = self.inner.compiled.component_type();
        let batch_name = format!("{name}-batch");
        let func = |export: &str| match ty.get_export(engine, export).map(|e| e.ty) {
            Some(ComponentItem::ComponentFunc(func)) => Some(func),
            _ => None,
        };
        let single = func(name);
        let batch = if kind == OperatorKind::Flush { None } else { func(&batch_name) };
        if single.is_none() && batch.is_none() {
            let found = self.exports();
            return Err(Error::MissingExport {
                operator: kind.name(),
                export: name.to_owned(),
                batch: batch_name,
                found: if found.is_empty() { "nothing".to_owned() } else { found.join(", ") },
            });
        }
        dispatch(
            kind,
            CheckExports {
                component: &ty,
                kind,
                single: single.as_ref().map(|f| (name, f)),
                batch: batch.as_ref().map(|f| (batch_name.as_str(), f)),
            },
        )?;
        let index = |present: bool, export: &str| {
            if present { self.inner.compiled.get_export_index(None, export) } else { None }
        };
        Ok(Operator::new(
            self.clone(),
            kind,
            index(single.is_some(), name),
            index(batch.is_some(), &batch_name),
        ))
    }
}

/// A core module starts with the magic and version 1; a component has a higher version
/// and layer 1.
fn is_core_module(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm\x01\0\0\0")
}

/// Refuses imports other than Eddy's and WASI's, then checks Eddy's against the host's.
fn check_imports(engine: &wasmtime::Engine, compiled: &wasmtime::component::Component) -> Result<()> {
    let ty = compiled.component_type();
    for (import, _) in ty.imports(engine) {
        let unversioned = import.split('@').next().unwrap_or(import);
        let known = [STATE_INTERFACE, TYPES_INTERFACE, BATCH_INTERFACE, FUNCTION_TYPES_INTERFACE]
            .iter()
            .any(|ours| ours.split('@').next() == Some(unversioned))
            || import.starts_with("wasi:");
        if !known {
            return Err(Error::UnknownImport { import: import.to_owned() });
        }
    }
    let linker = linker::<NoState>(engine, compiled).map_err(|e| Error::ImportMismatch(format!("{e:#}")))?;
    linker.instantiate_pre(compiled).map_err(|e| Error::ImportMismatch(format!("{e:#}")))?;
    Ok(())
}
