//! WebAssembly operators in the engine: every component of the plan is loaded (and compiled,
//! or taken from the on-disk cache) once at start, before anything runs; each worker then
//! holds one instance pool per operator, created at its first record.
//!
//! Operators exchange JSON values, so a call encodes the record's value to JSON bytes and
//! parses what the component returns. `update-state` reaches the key's state through the
//! `state` imports of `eddy:dataflow`: [`KeyState`] holds the one key being processed, and
//! its value after the call is the key's new state. A flush sees the window's keys and
//! states through `scan-window`.

use std::collections::HashMap;
use std::path::PathBuf;

use eddy_dataflow::{Logic, OperatorKind as StepKind, Plan, WasmSource};
use eddy_wasm::{Batch, CallError, Entry, Host, Operator, OperatorKind, Output, Pool, State, StateError};
use serde_json::Value;

use crate::flow::Flow;
use crate::{Error, Result};

/// Which operator world a piece of logic runs as.
pub(crate) fn step_kind(kind: StepKind) -> OperatorKind {
    match kind {
        StepKind::Filter => OperatorKind::Filter,
        StepKind::Map => OperatorKind::Map,
        StepKind::FilterMap => OperatorKind::FilterMap,
        StepKind::FlatMap => OperatorKind::FlatMap,
    }
}

/// The plan's components, loaded and checked. Shared by every worker.
#[derive(Debug, Default)]
pub(crate) struct Components {
    operators: HashMap<(String, OperatorKind), Operator>,
}

impl Components {
    /// Loads every component the plan names, checking each exports the operator its step
    /// needs. `cache_dir` keeps compiled components between runs.
    pub(crate) fn load(plan: &Plan, cache_dir: Option<PathBuf>) -> Result<Components> {
        let mut wanted: Vec<(String, String, OperatorKind)> = Vec::new();
        let mut inline = Vec::new();
        for service in &plan.services {
            let mut add = |origin: &str, logic: &Logic, kind: OperatorKind| match logic {
                Logic::Wasm(WasmSource::Component(path)) => {
                    wanted.push((origin.to_owned(), path.clone(), kind));
                }
                Logic::Wasm(_) => inline.push(origin.to_owned()),
                _ => {}
            };
            let chains = service
                .sources
                .iter()
                .map(|source| &source.chain)
                .chain([&service.chain])
                .chain(service.partition.iter().map(|partition| &partition.chain))
                .chain(service.sinks.iter().map(|sink| &sink.chain));
            for op in chains.flatten() {
                add(&op.origin, &op.logic, step_kind(op.kind));
            }
            if let Some(partition) = &service.partition {
                add(&partition.key_origin, &partition.key, OperatorKind::AssignKey);
                if let Some(update) = &partition.update_state {
                    add(&update.origin, &update.logic, OperatorKind::UpdateState);
                }
            }
            if let Some(join) = &service.join {
                for side in join.sides() {
                    if let Some(when) = &side.when {
                        add(&side.when_origin, when, OperatorKind::Filter);
                    }
                    add(&side.key_origin, &side.key, OperatorKind::AssignKey);
                }
            }
            if let Some(window) = &service.window {
                if let Some(timestamp) = &window.timestamp {
                    add(&window.timestamp_origin, timestamp, OperatorKind::AssignTimestamp);
                }
                if let Some(flush) = &window.flush {
                    add(&flush.origin, &flush.logic, OperatorKind::Flush);
                }
            }
        }
        if let Some(origin) = inline.first() {
            return Err(Error::Wasm(format!(
                "{origin}: inline code or a package function is not built; run `eddy build` on the dataflow file first"
            )));
        }
        let mut components = Components::default();
        if wanted.is_empty() {
            return Ok(components);
        }
        let options = eddy_wasm::Options { cache_dir, ..eddy_wasm::Options::default() };
        let host = Host::new(options).map_err(|e| Error::Wasm(format!("cannot start WebAssembly: {e}")))?;
        let mut loaded: HashMap<String, eddy_wasm::Component> = HashMap::new();
        for (origin, path, kind) in wanted {
            if components.operators.contains_key(&(path.clone(), kind)) {
                continue;
            }
            let component = match loaded.get(&path) {
                Some(component) => component.clone(),
                None => {
                    let component = host
                        .load_file(path.as_ref())
                        .map_err(|e| Error::Wasm(format!("{origin}: component {path}: {e}")))?;
                    loaded.insert(path.clone(), component.clone());
                    component
                }
            };
            let operator = component
                .operator(kind)
                .map_err(|e| Error::Wasm(format!("{origin}: component {path}: {e}")))?;
            components.operators.insert((path, kind), operator);
        }
        Ok(components)
    }
}

/// One worker's instances of the plan's components.
#[derive(Debug)]
pub(crate) struct Instances {
    components: std::sync::Arc<Components>,
    /// By operator, then component path: a lookup per record borrows the path.
    pools: HashMap<OperatorKind, HashMap<String, Pool<KeyState>>>,
    /// The records of the last batch call; cleared and filled again by the next, so its
    /// buffers are allocated once.
    batch: Batch,
}

impl Instances {
    pub(crate) fn new(components: std::sync::Arc<Components>) -> Instances {
        Instances { components, pools: HashMap::new(), batch: Batch::new() }
    }

    fn pool(&mut self, path: &str, kind: OperatorKind) -> std::result::Result<&mut Pool<KeyState>, String> {
        let pools = self.pools.entry(kind).or_default();
        if !pools.contains_key(path) {
            let Some(operator) = self.components.operators.get(&(path.to_owned(), kind)) else {
                return Err(format!("component {path} was not loaded as {}", kind.name()));
            };
            let pool = operator.pool(KeyState::default()).map_err(|e| e.to_string())?;
            pools.insert(path.to_owned(), pool);
        }
        pools.get_mut(path).ok_or_else(|| "instance pool vanished".to_owned())
    }

    /// Runs the component at `path` as `kind` on one record. For `update-state`, `state` is
    /// the key's state (its name and value) and the result is the new state.
    pub(crate) fn call(
        &mut self,
        path: &str,
        kind: OperatorKind,
        flow: &Flow,
        state: Option<(&str, &Value)>,
    ) -> std::result::Result<Value, String> {
        let record = record(flow)?;
        let pool = self.pool(path, kind)?;
        if let Some((name, value)) = state {
            pool.state().hold(name, flow.key.as_deref().unwrap_or_default(), value.clone());
        }
        let output = pool.call(record).map_err(|e| call_error(&e))?;
        match output {
            Output::Updated => Ok(pool.state().release()),
            other => output_value(other, kind),
        }
    }

    /// Runs the stateless component at `path` as `kind` on `flows`, in one call of its batch
    /// export when it has one: one result per flow, in order, each as [`Instances::call`]
    /// gives it. A failure of the whole call (a trap, fuel or memory running out, a wrong
    /// number of results) or a malformed result is not charged to every record: the records
    /// are run again one by one, so only the one that caused it fails.
    pub(crate) fn call_batch(
        &mut self,
        path: &str,
        kind: OperatorKind,
        flows: &[&Flow],
    ) -> Vec<std::result::Result<Value, String>> {
        let one_by_one = |instances: &mut Instances| -> Vec<std::result::Result<Value, String>> {
            flows.iter().map(|flow| instances.call(path, kind, flow, None)).collect()
        };
        if flows.len() <= 1 {
            return one_by_one(self);
        }
        let mut batch = std::mem::take(&mut self.batch);
        let results = match self.pool(path, kind) {
            Ok(pool) if pool.operator().has_batch() => {
                batch.clear();
                // Each value is encoded straight into the batch's buffer.
                let encoded = flows.iter().all(|flow| {
                    let encode = |bytes: &mut Vec<u8>| serde_json::to_writer(bytes, &flow.value);
                    batch.push_encoded(flow.key.as_deref(), flow.timestamp, encode).is_ok()
                });
                if encoded { pool.call_batch(&mut batch) } else { Vec::new() }
            }
            _ => Vec::new(),
        };
        self.batch = batch;
        if results.len() != flows.len()
            || results
                .iter()
                .any(|result| matches!(result, Err(error) if !matches!(error, CallError::Returned(_))))
        {
            return one_by_one(self);
        }
        results
            .into_iter()
            .map(|result| result.map_err(|e| call_error(&e)).and_then(|output| output_value(output, kind)))
            .collect()
    }

    /// Runs the flush component at `path` for the window `[start, end)` whose keys and states
    /// (of the state named `state`) are `entries`; the values to emit, as a JSON list.
    pub(crate) fn flush(
        &mut self,
        path: &str,
        bounds: (i64, i64),
        state: &str,
        entries: Vec<Entry>,
    ) -> std::result::Result<Value, String> {
        let pool = self.pool(path, OperatorKind::Flush)?;
        pool.state().scan = Some((state.to_owned(), entries));
        let result = pool.flush(eddy_wasm::Window { start: bounds.0, end: bounds.1 });
        pool.state().scan = None;
        let values = result.map_err(|e| call_error(&e))?;
        values
            .iter()
            .map(|bytes| parse_json(bytes, OperatorKind::Flush))
            .collect::<std::result::Result<_, _>>()
            .map(Value::Array)
    }
}

/// What a component's output is as a JSON value (for every output but `update-state`'s).
fn output_value(output: Output, kind: OperatorKind) -> std::result::Result<Value, String> {
    match output {
        Output::Keep(keep) => Ok(Value::Bool(keep)),
        Output::Value(bytes) => parse_json(&bytes, kind),
        Output::MaybeValue(None) => Ok(Value::Null),
        Output::MaybeValue(Some(bytes)) => parse_json(&bytes, kind),
        Output::Values(values) => values
            .iter()
            .map(|bytes| parse_json(bytes, kind))
            .collect::<std::result::Result<_, _>>()
            .map(Value::Array),
        Output::Key(bytes) => String::from_utf8(bytes)
            .map(Value::String)
            .map_err(|_| "assign-key returned a key that is not UTF-8".to_owned()),
        Output::Timestamp(time) => Ok(Value::from(time)),
        other => Err(format!("{} returned an unexpected result: {other:?}", kind.name())),
    }
}

/// The record a component is called with.
fn record(flow: &Flow) -> std::result::Result<eddy_wasm::Record, String> {
    let value = serde_json::to_vec(&flow.value).map_err(|e| format!("cannot encode the value: {e}"))?;
    let mut record = eddy_wasm::Record::new(value, flow.timestamp);
    if let Some(key) = &flow.key {
        record = record.with_key(key.to_vec());
    }
    Ok(record)
}

fn call_error(error: &CallError) -> String {
    format!("WebAssembly: {error}")
}

fn parse_json(bytes: &[u8], kind: OperatorKind) -> std::result::Result<Value, String> {
    serde_json::from_slice(bytes)
        .map_err(|e| format!("{} returned a value that is not JSON: {e}", kind.name()))
}

/// The state a component reaches during one call: the key being processed, in the state
/// `update-state` updates (or, during a flush, the window's entries through `scan-window`).
/// Any other state or key is refused, since state is partitioned by key.
#[derive(Debug, Default)]
pub(crate) struct KeyState {
    held: Option<Held>,
    scan: Option<(String, Vec<Entry>)>,
}

#[derive(Debug)]
struct Held {
    state: String,
    key: Vec<u8>,
    value: Value,
}

impl KeyState {
    fn hold(&mut self, state: &str, key: &[u8], value: Value) {
        self.held = Some(Held { state: state.to_owned(), key: key.to_vec(), value });
    }

    /// The held key's value after the call (`null` once deleted).
    fn release(&mut self) -> Value {
        self.held.take().map_or(Value::Null, |held| held.value)
    }

    fn slot(&mut self, state: &str, key: &[u8]) -> std::result::Result<&mut Value, StateError> {
        let refusal = match &self.held {
            Some(held) if held.state == state && held.key == key => None,
            Some(held) if held.state != state => Some(format!(
                "state `{state}` is not available here: this `update-state` updates `{}`",
                held.state
            )),
            Some(held) => Some(format!(
                "key {:?} is not the record's key {:?}: state is partitioned by key",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(&held.key)
            )),
            None => Some(format!(
                "state `{state}` is only available to `update-state` (and to `flush` through scan-window)"
            )),
        };
        match (refusal, &mut self.held) {
            (None, Some(held)) => Ok(&mut held.value),
            (refusal, _) => Err(StateError(refusal.unwrap_or_default())),
        }
    }

    fn read(&mut self, state: &str, key: &[u8]) -> std::result::Result<Option<Vec<u8>>, StateError> {
        let value = self.slot(state, key)?;
        if value.is_null() {
            return Ok(None);
        }
        serde_json::to_vec(value).map(Some).map_err(|e| StateError(e.to_string()))
    }

    fn write(
        &mut self,
        state: &str,
        key: &[u8],
        bytes: &[u8],
        row: bool,
    ) -> std::result::Result<(), StateError> {
        let new: Value = serde_json::from_slice(bytes)
            .map_err(|e| StateError(format!("the new state of `{state}` is not JSON: {e}")))?;
        if row && !new.is_object() {
            return Err(StateError(format!("a row of `{state}` must be a JSON object, got {new}")));
        }
        *self.slot(state, key)? = new;
        Ok(())
    }
}

impl State for KeyState {
    fn get_value(&mut self, state: &str, key: &[u8]) -> std::result::Result<Option<Vec<u8>>, StateError> {
        self.read(state, key)
    }

    fn set_value(&mut self, state: &str, key: &[u8], value: Vec<u8>) -> std::result::Result<(), StateError> {
        self.write(state, key, &value, false)
    }

    fn increment(&mut self, state: &str, key: &[u8], by: i64) -> std::result::Result<i64, StateError> {
        let slot = self.slot(state, key)?;
        let current = match slot {
            Value::Null => 0,
            Value::Number(number) => number
                .as_i64()
                .ok_or_else(|| StateError(format!("state `{state}` holds {number}, not an integer")))?,
            other => return Err(StateError(format!("state `{state}` holds {other}, not an integer"))),
        };
        let new = current
            .checked_add(by)
            .ok_or_else(|| StateError(format!("state `{state}`: {current} + {by} overflows")))?;
        *slot = Value::from(new);
        Ok(new)
    }

    fn delete_value(&mut self, state: &str, key: &[u8]) -> std::result::Result<(), StateError> {
        *self.slot(state, key)? = Value::Null;
        Ok(())
    }

    fn get_row(&mut self, state: &str, key: &[u8]) -> std::result::Result<Option<Vec<u8>>, StateError> {
        self.read(state, key)
    }

    fn set_row(&mut self, state: &str, key: &[u8], row: Vec<u8>) -> std::result::Result<(), StateError> {
        self.write(state, key, &row, true)
    }

    fn delete_row(&mut self, state: &str, key: &[u8]) -> std::result::Result<(), StateError> {
        self.delete_value(state, key)
    }

    fn scan_window(&mut self, state: &str) -> std::result::Result<Vec<Entry>, StateError> {
        match &self.scan {
            Some((name, entries)) if name == state => Ok(entries.clone()),
            Some((name, _)) => Err(StateError(format!(
                "state `{state}` is not this window's state; the window holds `{name}`"
            ))),
            None => Err(StateError("scan-window is only available to `flush`".to_owned())),
        }
    }
}
