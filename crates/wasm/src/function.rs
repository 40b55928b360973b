//! Stateful functions as components: the world `function` of the WIT package
//! `eddy:function` (`wit/function/function.wit`, [`FUNCTION_WIT`]).
//!
//! ```text
//!  Component ──function()──▶ StatefulFunction (exports checked, declared states read once)
//!                               │ instance(): one per thread, or a pool of them
//!                               ▼
//!                            FunctionInstance: first call instantiates; each call refuels
//!                            (fuel per message), calls `invoke`, and after a trap, running
//!                            out of fuel or memory throws the instance away
//! ```
//!
//! This module knows the WIT types only; turning the Statefun protocol's requests into a
//! [`Context`] and [`Message`]s, and [`Effects`] back into a reply, is the runtime's job.

use std::sync::{Arc, Mutex};

use wasmtime::Store;
use wasmtime::component::types::ComponentItem;

use crate::component::Component;
use crate::error::{CallError, Error, Result};
use crate::limits::MemoryLimiter;
use crate::linker::{Ctx, linker};
use crate::pool::classify;
use crate::state::NoState;

#[allow(missing_docs, clippy::all, clippy::pedantic)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "wit/function",
        world: "function",
        additional_derives: [PartialEq, Eq],
    });
}

pub use bindings::eddy::function::types::{
    Address, Context, DelayedChange, DelayedMessage, Effects, EgressMessage, EgressValue, Expiration,
    Message, OutgoingMessage, StateSpec, StateValue, TopicRecord, TypedValue,
};

/// The export that handles a batch of messages.
const INVOKE: &str = "invoke";
/// The export that lists the declared states.
const STATES: &str = "states";
/// The exports' types, in WIT, for error messages.
const SIGNATURES: &str = "`states: func() -> list<state-spec>` and \
                          `invoke: func(context: context, messages: list<message>) -> result<effects, string>`";

/// A component implementing the world `eddy:function/function`: its exports checked and its
/// declared states read. Cheap to clone; share it between threads and make a
/// [`FunctionInstance`] per thread (or keep a pool).
#[derive(Clone)]
pub struct StatefulFunction {
    inner: Arc<FunctionInner>,
}

struct FunctionInner {
    component: Component,
    pre: bindings::FunctionPre<Ctx<NoState>>,
    states: Vec<StateSpec>,
}

impl std::fmt::Debug for StatefulFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatefulFunction").field("states", &self.inner.states).finish_non_exhaustive()
    }
}

impl Component {
    /// The stateful function this component implements: checks it exports `states` and
    /// `invoke` with the types of `eddy:function/function`, and calls `states` once.
    ///
    /// # Errors
    /// [`Error::NotAFunction`] when an export is missing, [`Error::WrongSignature`] when
    /// one has another type, [`Error::FunctionStates`] when `states` fails.
    pub fn function(&self) -> Result<StatefulFunction> {
        let engine = &self.inner.host.engine;
        let ty = self.inner.compiled.component_type();
        let has = |name: &str| {
            matches!(
                ty.get_export(engine, name).map(|export| export.ty),
                Some(ComponentItem::ComponentFunc(_))
            )
        };
        if !has(INVOKE) || !has(STATES) {
            let found = self.exports();
            return Err(Error::NotAFunction {
                expected: SIGNATURES,
                found: if found.is_empty() { "nothing".to_owned() } else { found.join(", ") },
            });
        }
        let instance_pre = linker::<NoState>(engine, &self.inner.compiled)
            .and_then(|linker| linker.instantiate_pre(&self.inner.compiled))
            .map_err(|e| Error::ImportMismatch(format!("{e:#}")))?;
        let pre = bindings::FunctionPre::new(instance_pre).map_err(|e| Error::WrongSignature {
            export: format!("{STATES}` or `{INVOKE}"),
            expected: SIGNATURES,
            reason: format!("{e:#}"),
        })?;
        let probe = StatefulFunction {
            inner: Arc::new(FunctionInner { component: self.clone(), pre: pre.clone(), states: Vec::new() }),
        };
        let states = probe.instance().states().map_err(Error::FunctionStates)?;
        Ok(StatefulFunction { inner: Arc::new(FunctionInner { component: self.clone(), pre, states }) })
    }
}

impl StatefulFunction {
    /// The states each instance keeps, as the component declared them.
    pub fn states(&self) -> &[StateSpec] {
        &self.inner.states
    }

    /// A new instance; instantiation happens at its first call.
    pub fn instance(&self) -> FunctionInstance {
        FunctionInstance { function: self.clone(), live: None }
    }
}

/// One instance of a [`StatefulFunction`], created at the first call and replaced after a
/// failed one. `Send`, not shared: one thread calls it at a time.
pub struct FunctionInstance {
    function: StatefulFunction,
    live: Option<Live>,
}

impl std::fmt::Debug for FunctionInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionInstance").field("instantiated", &self.live.is_some()).finish_non_exhaustive()
    }
}

struct Live {
    store: Store<Ctx<NoState>>,
    bindings: bindings::Function,
}

impl FunctionInstance {
    /// Runs `messages` for `context.address`: the effects, or why the call failed (the
    /// instance stays usable: a failure replaced it). The call gets the host's fuel per call
    /// for each message.
    ///
    /// # Errors
    /// [`CallError::Returned`] for the component's `err`, else a trap, fuel or memory.
    pub fn invoke(&mut self, context: &Context, messages: &[Message]) -> Result<Effects, CallError> {
        let fuel = self.fuel(messages.len().max(1));
        let live = self.live_with_fuel(fuel)?;
        match live.bindings.call_invoke(&mut live.store, context, messages) {
            Ok(result) => result.map_err(CallError::Returned),
            Err(error) => Err(self.fail(error, fuel)),
        }
    }

    /// Calls the component's `states` export.
    ///
    /// # Errors
    /// A trap, fuel or memory.
    pub fn states(&mut self) -> Result<Vec<StateSpec>, CallError> {
        let fuel = self.fuel(1);
        let live = self.live_with_fuel(fuel)?;
        match live.bindings.call_states(&mut live.store) {
            Ok(states) => Ok(states),
            Err(error) => Err(self.fail(error, fuel)),
        }
    }

    fn fuel(&self, messages: usize) -> u64 {
        let per_call = self.function.inner.component.inner.host.options.fuel_per_call;
        per_call.saturating_mul(u64::try_from(messages).unwrap_or(u64::MAX))
    }

    fn live_with_fuel(&mut self, fuel: u64) -> Result<&mut Live, CallError> {
        let live = match &mut self.live {
            Some(live) => live,
            slot @ None => slot.insert(self.function.instantiate()?),
        };
        live.store.set_fuel(fuel).map_err(|e| CallError::Instantiate(format!("{e:#}")))?;
        Ok(live)
    }

    fn fail(&mut self, error: wasmtime::Error, fuel: u64) -> CallError {
        let Some(mut live) = self.live.take() else {
            return CallError::Trapped(format!("{error:#}"));
        };
        classify(error, &mut live.store.data_mut().limiter, fuel)
    }
}

impl StatefulFunction {
    fn instantiate(&self) -> Result<Live, CallError> {
        let host = &self.inner.component.inner.host;
        let limiter = MemoryLimiter::new(host.options.memory_limit);
        let state = Arc::new(Mutex::new(NoState));
        let mut store = Store::new(&host.engine, Ctx { state, limiter });
        store.limiter(|cx| &mut cx.limiter);
        let fuel = host.options.fuel_per_call;
        store.set_fuel(fuel).map_err(|e| CallError::Instantiate(format!("{e:#}")))?;
        match self.inner.pre.instantiate(&mut store) {
            Ok(bindings) => Ok(Live { store, bindings }),
            Err(error) => Err(match classify(error, &mut store.data_mut().limiter, fuel) {
                CallError::Trapped(reason) => CallError::Instantiate(reason),
                other => other,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_between_threads<T: Send + Sync>() {}
    fn moved_to_a_thread<T: Send>() {}

    #[test]
    fn functions_are_shared_and_instances_move_between_threads() {
        shared_between_threads::<StatefulFunction>();
        moved_to_a_thread::<FunctionInstance>();
    }
}
