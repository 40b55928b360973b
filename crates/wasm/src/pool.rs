//! Running an operator: [`Operator`] is what a component exports for one operator (shared,
//! cheap to clone); [`Pool`] is one worker thread's instance of it.
//!
//! ```text
//!  Operator ──pool(state)──▶ Pool (one per worker thread, owns the state handle S)
//!                              │ first call: new Store (memory limiter) + instance
//!                              │ each call:  refuel, call, result or CallError
//!                              │ trap / out of fuel / over memory: drop Store + instance,
//!                              ▼ the next call instantiates afresh
//! ```
//!
//! An instance serves many calls, so the cost of instantiating is paid once per worker, not
//! per record; a failure throws the whole store away, so what a broken call left in the
//! instance's memory never reaches the next record.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use wasmtime::component::{ComponentExportIndex, Instance, InstancePre, Lift};
use wasmtime::{Store, Trap};

use crate::abi::{Record, RecordBatch, Window};
use crate::batch::{Batch, Unpack};
use crate::component::Component;
use crate::error::{CallError, Error, Result};
use crate::limits::MemoryLimiter;
use crate::linker::{Ctx, UnprovidedImport, linker};
use crate::operator::{ComponentTypeBounds, OperatorKind, Output, Shape, dispatch};
use crate::state::State;

/// One operator a component implements. Cheap to clone; create a [`Pool`] per worker thread.
#[derive(Debug, Clone)]
pub struct Operator {
    component: Component,
    kind: OperatorKind,
    single: Option<ComponentExportIndex>,
    batch: Option<ComponentExportIndex>,
}

impl Operator {
    pub(crate) fn new(
        component: Component,
        kind: OperatorKind,
        single: Option<ComponentExportIndex>,
        batch: Option<ComponentExportIndex>,
    ) -> Self {
        Operator { component, kind, single, batch }
    }

    /// The operator's kind.
    pub fn kind(&self) -> OperatorKind {
        self.kind
    }

    /// Whether the component exports the batch form (else [`Pool::call_batch`] calls the
    /// single-record export once per record).
    pub fn has_batch(&self) -> bool {
        self.batch.is_some()
    }

    /// A pool whose component reaches `state` through its state imports. Instantiation
    /// happens at the first call.
    ///
    /// # Errors
    /// [`Error::ImportMismatch`] if the component's imports cannot be linked (already
    /// checked at load, so in practice never).
    pub fn pool<S: State>(&self, state: S) -> Result<Pool<S>> {
        let compiled = &self.component.inner.compiled;
        let engine = &self.component.inner.host.engine;
        let pre = linker::<S>(engine, compiled)
            .and_then(|linker| linker.instantiate_pre(compiled))
            .map_err(|e| Error::ImportMismatch(format!("{e:#}")))?;
        Ok(Pool { operator: self.clone(), pre, state: Arc::new(Mutex::new(state)), live: None })
    }
}

/// One worker's instance of an operator, created on first use and replaced after a failed
/// call. Not shared between threads (`Send`, not `Sync`): hold one per worker thread.
pub struct Pool<S: State> {
    operator: Operator,
    pre: InstancePre<Ctx<S>>,
    state: Arc<Mutex<S>>,
    live: Option<Live<S>>,
}

impl<S: State> std::fmt::Debug for Pool<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("operator", &self.operator.kind)
            .field("instantiated", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

/// A store with its one instance's exports, bound to their Rust types.
struct Live<S: 'static> {
    store: Store<Ctx<S>>,
    calls: Calls<S>,
}

type SingleCall<S> =
    Box<dyn Fn(&mut Store<Ctx<S>>, Record) -> wasmtime::Result<Result<Output, String>> + Send + Sync>;
/// Calls the batch export with a batch of `usize` records; one result per record.
type BatchCall<S> = Box<
    dyn Fn(&mut Store<Ctx<S>>, Arc<RecordBatch>, usize) -> wasmtime::Result<Vec<Result<Output, CallError>>>
        + Send
        + Sync,
>;
type FlushCall<S> =
    Box<dyn Fn(&mut Store<Ctx<S>>, Window) -> wasmtime::Result<Result<Vec<Vec<u8>>, String>> + Send + Sync>;

struct Calls<S: 'static> {
    single: Option<SingleCall<S>>,
    batch: Option<BatchCall<S>>,
    flush: Option<FlushCall<S>>,
}

impl<S: State> Pool<S> {
    /// The operator this pool runs.
    pub fn operator(&self) -> &Operator {
        &self.operator
    }

    /// The state the component reaches, to set up before a call or read after it.
    pub fn state(&self) -> MutexGuard<'_, S> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs the operator on one record (through the batch export if it is the only one).
    ///
    /// # Errors
    /// Why this record failed; the pool stays usable.
    pub fn call(&mut self, record: Record) -> Result<Output, CallError> {
        self.refuse_flush("call")?;
        if self.operator.single.is_none() && self.operator.batch.is_some() {
            let mut batch: Batch = std::iter::once(record).collect();
            return self
                .call_batch(&mut batch)
                .pop()
                .unwrap_or(Err(CallError::BatchLength { expected: 1, got: 0 }));
        }
        let fuel = self.fuel(1);
        let result = match self.live_with_fuel(fuel)? {
            Live { store, calls: Calls { single: Some(single), .. } } => single(store, record),
            _ => return Err(CallError::Instantiate("the operator has no export to call".to_owned())),
        };
        match result {
            Ok(output) => output.map_err(CallError::Returned),
            Err(error) => Err(self.fail(error, fuel)),
        }
    }

    /// Runs the operator on the records of `batch`: one call of the batch export when the
    /// component has one (with the fuel of that many calls), else one call per record. The
    /// results are in the records' order; a trap in a batch call fails every record of the
    /// batch, a malformed result ([`CallError::MalformedResult`]) only its record. `batch`
    /// lends its buffers to the call and is as it was when the call returns, to be cleared
    /// and filled again.
    pub fn call_batch(&mut self, batch: &mut Batch) -> Vec<Result<Output, CallError>> {
        let count = batch.len();
        if self.operator.batch.is_none() || count == 0 {
            return batch.records().map(|record| self.call(record)).collect();
        }
        if let Err(error) = self.refuse_flush("call_batch") {
            return vec![Err(error); count];
        }
        if u32::try_from(batch.byte_len()).is_err() {
            let wanted = u64::try_from(batch.byte_len()).unwrap_or(u64::MAX);
            let limit = self.operator.component.inner.host.options.memory_limit;
            return vec![Err(CallError::MemoryLimit { wanted, limit }); count];
        }
        let fuel = self.fuel(count);
        let result = match self.live_with_fuel(fuel) {
            Err(error) => return vec![Err(error); count],
            Ok(Live { store, calls: Calls { batch: Some(call), .. } }) => {
                batch.lend(|records| call(store, records, count))
            }
            Ok(_) => {
                return vec![
                    Err(CallError::Instantiate("the operator has no batch export".to_owned()));
                    count
                ];
            }
        };
        match result {
            Ok(results) => results,
            Err(error) => vec![Err(self.fail(error, fuel)); count],
        }
    }

    /// Runs a `flush` operator for `window`: the values to send to the sinks.
    ///
    /// # Errors
    /// Why the flush failed; the pool stays usable.
    pub fn flush(&mut self, window: Window) -> Result<Vec<Vec<u8>>, CallError> {
        if self.operator.kind != OperatorKind::Flush {
            return Err(CallError::WrongCall { operator: self.operator.kind.name(), call: "flush" });
        }
        let fuel = self.fuel(1);
        let result = match self.live_with_fuel(fuel)? {
            Live { store, calls: Calls { flush: Some(flush), .. } } => flush(store, window),
            _ => return Err(CallError::Instantiate("the operator has no flush export".to_owned())),
        };
        match result {
            Ok(output) => output.map_err(CallError::Returned),
            Err(error) => Err(self.fail(error, fuel)),
        }
    }

    fn refuse_flush(&self, call: &'static str) -> Result<(), CallError> {
        if self.operator.kind == OperatorKind::Flush {
            return Err(CallError::WrongCall { operator: "flush", call });
        }
        Ok(())
    }

    /// The fuel for a call covering `records` records.
    fn fuel(&self, records: usize) -> u64 {
        let per_call = self.operator.component.inner.host.options.fuel_per_call;
        per_call.saturating_mul(u64::try_from(records).unwrap_or(u64::MAX))
    }

    /// The live instance, instantiated if there is none; refuelled for one call of `fuel`.
    fn live_with_fuel(&mut self, fuel: u64) -> Result<&mut Live<S>, CallError> {
        let live = match &mut self.live {
            Some(live) => live,
            slot @ None => slot.insert(instantiate(&self.operator, &self.pre, &self.state)?),
        };
        live.store.set_fuel(fuel).map_err(|e| CallError::Instantiate(format!("{e:#}")))?;
        Ok(live)
    }

    /// Turns a failed call into its [`CallError`] and throws the instance away.
    fn fail(&mut self, error: wasmtime::Error, fuel: u64) -> CallError {
        let Some(mut live) = self.live.take() else {
            return CallError::Trapped(format!("{error:#}"));
        };
        classify(error, &mut live.store.data_mut().limiter, fuel)
    }
}

fn instantiate<S: State>(
    operator: &Operator,
    pre: &InstancePre<Ctx<S>>,
    state: &Arc<Mutex<S>>,
) -> Result<Live<S>, CallError> {
    let host = &operator.component.inner.host;
    let limiter = MemoryLimiter::new(host.options.memory_limit);
    let mut store = Store::new(&host.engine, Ctx { state: Arc::clone(state), limiter });
    store.limiter(|cx| &mut cx.limiter);
    let fuel = host.options.fuel_per_call;
    store.set_fuel(fuel).map_err(|e| CallError::Instantiate(format!("{e:#}")))?;
    let instance = match pre.instantiate(&mut store) {
        Ok(instance) => instance,
        Err(error) => {
            return Err(match classify(error, &mut store.data_mut().limiter, fuel) {
                CallError::Trapped(reason) => CallError::Instantiate(reason),
                other => other,
            });
        }
    };
    let calls = if operator.kind == OperatorKind::Flush {
        bind_flush(&instance, &mut store, operator.single.as_ref())
    } else {
        dispatch(operator.kind, Bind { instance: &instance, store: &mut store, operator })
    }
    .map_err(|e| CallError::Instantiate(format!("{e:#}")))?;
    Ok(Live { store, calls })
}

/// Says why a call failed: over the memory limit, out of fuel, or another trap.
pub(crate) fn classify(error: wasmtime::Error, limiter: &mut MemoryLimiter, fuel: u64) -> CallError {
    if let Some(wanted) = limiter.take_refused() {
        return CallError::MemoryLimit { wanted, limit: limiter.limit() };
    }
    if let Some(UnprovidedImport(import)) = error.downcast_ref() {
        return CallError::UnprovidedImport { import: import.clone() };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => CallError::OutOfFuel { fuel },
        Some(Trap::UnreachableCodeReached) => {
            CallError::Trapped(format!("{error:#} (the component panicked or aborted)"))
        }
        _ => CallError::Trapped(format!("{error:#}")),
    }
}

/// A [`Shape`] that binds a record operator's exports on a fresh instance.
struct Bind<'a, S: 'static> {
    instance: &'a Instance,
    store: &'a mut Store<Ctx<S>>,
    operator: &'a Operator,
}

impl<S: State> Shape for Bind<'_, S> {
    type Out = wasmtime::Result<Calls<S>>;

    fn visit<R, B>(self, wrap: fn(R) -> Output, unpack: Unpack<B>) -> Self::Out
    where
        R: ComponentTypeBounds,
        B: Lift + Send + Sync + 'static,
    {
        let single = match &self.operator.single {
            None => None,
            Some(index) => {
                let func = self
                    .instance
                    .get_typed_func::<(Record,), (Result<R, String>,)>(&mut *self.store, index)?;
                let call: SingleCall<S> = Box::new(move |store: &mut Store<Ctx<S>>, record: Record| {
                    Ok(func.call(store, (record,))?.0.map(wrap))
                });
                Some(call)
            }
        };
        let batch = match &self.operator.batch {
            None => None,
            Some(index) => {
                let func =
                    self.instance.get_typed_func::<(Arc<RecordBatch>,), (B,)>(&mut *self.store, index)?;
                let call: BatchCall<S> =
                    Box::new(move |store: &mut Store<Ctx<S>>, batch: Arc<RecordBatch>, count: usize| {
                        let (output,) = func.call(store, (batch,))?;
                        Ok(unpack(output, count))
                    });
                Some(call)
            }
        };
        Ok(Calls { single, batch, flush: None })
    }
}

fn bind_flush<S: State>(
    instance: &Instance,
    store: &mut Store<Ctx<S>>,
    index: Option<&ComponentExportIndex>,
) -> wasmtime::Result<Calls<S>> {
    let flush = match index {
        None => None,
        Some(index) => {
            let func =
                instance.get_typed_func::<(Window,), (Result<Vec<Vec<u8>>, String>,)>(&mut *store, index)?;
            let call: FlushCall<S> =
                Box::new(move |store: &mut Store<Ctx<S>>, window: Window| Ok(func.call(store, (window,))?.0));
            Some(call)
        }
    };
    Ok(Calls { single: None, batch: None, flush })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Host, MemoryState};

    fn shared_between_threads<T: Send + Sync>() {}
    fn moved_to_a_thread<T: Send>() {}

    #[test]
    fn operators_are_shared_and_pools_move_to_worker_threads() {
        shared_between_threads::<Host>();
        shared_between_threads::<Component>();
        shared_between_threads::<Operator>();
        moved_to_a_thread::<Pool<MemoryState>>();
    }
}
