//! The stateless operators, fused: a chain runs on one record in the calling task, with no
//! channel hop between steps. A step's failure (an expression error, a `filter` that does
//! not return a boolean, a `flat-map` that does not return a list) ends that record's trip
//! through the chain with the operator's place and the reason, for the dead-letter topic.

use eddy_dataflow::expr::{Bindings, EvalError, Expr};
use eddy_dataflow::{EmitPlan, Logic, OperatorKind, OperatorPlan, WasmSource};
use eddy_wasm::OperatorKind as WasmKind;
use serde_json::Value;

use crate::flow::Flow;
use crate::wasm::{Instances, step_kind};

/// Runs user logic on a record: a CEL expression with the record's bindings, or a
/// WebAssembly component as `role`. `state` is the key's state and its name (`update-state`).
pub(crate) fn call(
    logic: &Logic,
    role: WasmKind,
    wasm: &mut Instances,
    flow: &Flow,
    key: &Value,
    state: Option<(&str, &Value)>,
) -> Result<Value, String> {
    match logic {
        Logic::Cel(expr) => {
            let mut bindings = Bindings::new(&flow.value).with_key(key).with_timestamp(flow.timestamp);
            if let Some((_, state)) = state {
                bindings = bindings.with_state(state);
            }
            expr.eval(&bindings).map_err(|e: EvalError| e.to_string())
        }
        Logic::Wasm(WasmSource::Component(path)) => wasm.call(path, role, flow, state),
        Logic::Aggregate(plan) => match state {
            Some((_, state)) => crate::aggregate::update(plan, flow, key, state),
            None => Err(format!("`{}` only runs in `update-state`", plan.kind.name())),
        },
        other => Err(not_runnable(other)),
    }
}

fn not_runnable(logic: &Logic) -> String {
    match logic {
        Logic::Wasm(WasmSource::Inline(_)) => {
            "inline code is not built; run `eddy build` on the dataflow file".to_owned()
        }
        Logic::Wasm(WasmSource::Uses(name)) => {
            format!("package function `{name}` is not built; run `eddy build` on the dataflow file")
        }
        _ => "this logic cannot run in this build".to_owned(),
    }
}

fn cel(logic: &Logic) -> Result<&Expr, String> {
    logic.as_cel().ok_or_else(|| not_runnable(logic))
}

/// Runs a window's `flush` logic: `key` and `state` for a per-key flush, `entries` for a
/// per-window one, `window` for both.
pub(crate) fn call_flush(
    logic: &Logic,
    key: &Value,
    state: Option<&Value>,
    window: &Value,
    entries: Option<&Value>,
) -> Result<Value, String> {
    let function = cel(logic)?;
    let mut bindings = Bindings::new(&Value::Null).with_key(key).with_window(window);
    if let Some(state) = state {
        bindings = bindings.with_state(state);
    }
    if let Some(entries) = entries {
        bindings = bindings.with_entries(entries);
    }
    function.eval(&bindings).map_err(|e: EvalError| e.to_string())
}

/// Runs a join's `emit` on one pair of rows: `sides` are the sides' names with their rows'
/// values, `key` the join key, `window` the window in a windowed service.
pub(crate) fn call_emit(
    logic: &Logic,
    key: &Value,
    window: Option<&Value>,
    sides: [(&str, &Value); 2],
) -> Result<Value, String> {
    let function = cel(logic)?;
    let mut bindings = Bindings::new(&Value::Null).with_key(key).with_named(&sides);
    if let Some(window) = window {
        bindings = bindings.with_window(window);
    }
    function.eval(&bindings).map_err(|e: EvalError| e.to_string())
}

/// Runs a partition's `emit` after a state update: the record's bindings, the key's new
/// `state` and its `previous` one.
pub(crate) fn call_state_emit(
    logic: &Logic,
    flow: &Flow,
    key: &Value,
    state: &Value,
    previous: &Value,
) -> Result<Value, String> {
    let named = [(EmitPlan::PREVIOUS, previous)];
    let bindings = Bindings::new(&flow.value)
        .with_key(key)
        .with_timestamp(flow.timestamp)
        .with_state(state)
        .with_named(&named);
    cel(logic)?.eval(&bindings).map_err(|e: EvalError| e.to_string())
}

/// Runs a session window's `merge`: `state` is the earlier session's, `other` the later's.
pub(crate) fn call_merge(logic: &Logic, state: &Value, other: &Value) -> Result<Value, String> {
    let bindings = Bindings::new(&Value::Null).with_state(state).with_other(other);
    cel(logic)?.eval(&bindings).map_err(|e: EvalError| e.to_string())
}

/// Runs `ops` on `flow`: every record that comes out of the last step goes to `emit`, every
/// failure to `fail` with the failing step. `key` is the key as bound in expressions.
pub(crate) fn run_chain<'a>(
    wasm: &mut Instances,
    ops: &'a [OperatorPlan],
    mut flow: Flow,
    key: &Value,
    emit: &mut dyn FnMut(Flow),
    fail: &mut dyn FnMut(&'a OperatorPlan, Flow, String),
) {
    for (index, op) in ops.iter().enumerate() {
        let result = match call(&op.logic, step_kind(op.kind), wasm, &flow, key, None) {
            Ok(result) => result,
            Err(reason) => return fail(op, flow, reason),
        };
        match op.kind {
            OperatorKind::Filter => match result {
                Value::Bool(true) => {}
                Value::Bool(false) => return,
                other => return fail(op, flow, format!("filter returned {other}, expected a boolean")),
            },
            OperatorKind::Map => flow.replace_value(result),
            OperatorKind::FilterMap => match result {
                Value::Null => return,
                value => flow.replace_value(value),
            },
            OperatorKind::FlatMap => match result {
                Value::Array(items) => {
                    let rest = &ops[index + 1..];
                    for item in items {
                        let next = Flow {
                            key: flow.key.clone(),
                            value: item,
                            timestamp: flow.timestamp,
                            origin: flow.origin,
                            projected: false,
                        };
                        run_chain(wasm, rest, next, key, emit, fail);
                    }
                    return;
                }
                other => return fail(op, flow, format!("flat-map returned {other}, expected a list")),
            },
        }
    }
    emit(flow);
}

/// What became of one record run through a chain with others ([`run_chain_batch`]).
#[derive(Debug, Default)]
pub(crate) struct ChainOutcome<'a> {
    /// What failed, with the failing step, in the order [`run_chain`] reports it.
    pub(crate) failed: Vec<(&'a OperatorPlan, Flow, String)>,
    /// What came out of the last step, in order.
    pub(crate) out: Vec<Flow>,
}

/// Runs `ops` on `flows` step by step: each WebAssembly component step is called once for
/// every record still going (through its batch export, see [`Instances::call_batch`]), other
/// steps record by record. The outcome of each record, in the order of `flows`, is exactly
/// what [`run_chain`] gives for it alone. `key_of` is the key as bound in expressions.
pub(crate) fn run_chain_batch<'a>(
    wasm: &mut Instances,
    ops: &'a [OperatorPlan],
    flows: Vec<Flow>,
    key_of: &dyn Fn(&Flow) -> Value,
) -> Vec<ChainOutcome<'a>> {
    let mut outcomes: Vec<ChainOutcome<'a>> = flows.iter().map(|_| ChainOutcome::default()).collect();
    // (record, where it sits among the records a flat-map made of it, the flow). The
    // places order the failures of one record as run_chain's depth-first walk finds them.
    let mut items: Vec<(usize, Vec<usize>, Flow)> =
        flows.into_iter().enumerate().map(|(index, flow)| (index, Vec::new(), flow)).collect();
    let mut failures: Vec<(usize, Vec<usize>, &'a OperatorPlan, Flow, String)> = Vec::new();
    for op in ops {
        if items.is_empty() {
            break;
        }
        let kind = step_kind(op.kind);
        let results = match &op.logic {
            Logic::Wasm(WasmSource::Component(path)) if items.len() > 1 => {
                let flows: Vec<&Flow> = items.iter().map(|(_, _, flow)| flow).collect();
                wasm.call_batch(path, kind, &flows)
            }
            logic => {
                items.iter().map(|(_, _, flow)| call(logic, kind, wasm, flow, &key_of(flow), None)).collect()
            }
        };
        let mut next = Vec::with_capacity(items.len());
        for ((index, place, mut flow), result) in items.into_iter().zip(results) {
            let mut fail =
                |flow: Flow, reason: String| failures.push((index, place.clone(), op, flow, reason));
            let result = match result {
                Ok(result) => result,
                Err(reason) => {
                    fail(flow, reason);
                    continue;
                }
            };
            match op.kind {
                OperatorKind::Filter => match result {
                    Value::Bool(true) => next.push((index, place, flow)),
                    Value::Bool(false) => {}
                    other => fail(flow, format!("filter returned {other}, expected a boolean")),
                },
                OperatorKind::Map => {
                    flow.replace_value(result);
                    next.push((index, place, flow));
                }
                OperatorKind::FilterMap => match result {
                    Value::Null => {}
                    value => {
                        flow.replace_value(value);
                        next.push((index, place, flow));
                    }
                },
                OperatorKind::FlatMap => match result {
                    Value::Array(values) => {
                        for (position, value) in values.into_iter().enumerate() {
                            let mut at = place.clone();
                            at.push(position);
                            let item = Flow {
                                key: flow.key.clone(),
                                value,
                                timestamp: flow.timestamp,
                                origin: flow.origin,
                                projected: false,
                            };
                            next.push((index, at, item));
                        }
                    }
                    other => fail(flow, format!("flat-map returned {other}, expected a list")),
                },
            }
        }
        items = next;
    }
    failures.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    for (index, _, op, flow, reason) in failures {
        outcomes[index].failed.push((op, flow, reason));
    }
    for (index, _, flow) in items {
        outcomes[index].out.push(flow);
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Origin;
    use eddy_dataflow::expr::Expr;
    use serde_json::json;

    fn op(kind: OperatorKind, cel: &str) -> OperatorPlan {
        OperatorPlan { kind, logic: Logic::Cel(Expr::compile(cel).unwrap()), origin: format!("{kind:?}") }
    }

    fn run(ops: &[OperatorPlan], value: Value) -> (Vec<Value>, Vec<String>) {
        let flow = Flow {
            key: None,
            value,
            timestamp: 7,
            origin: Origin { source: 0, partition: 0, offset: 0 },
            projected: false,
        };
        let (mut out, mut failed) = (Vec::new(), Vec::new());
        let mut wasm = Instances::new(std::sync::Arc::default());
        run_chain(&mut wasm, ops, flow, &Value::Null, &mut |f| out.push(f.value), &mut |op, _, reason| {
            failed.push(format!("{}: {reason}", op.origin))
        });
        (out, failed)
    }

    #[test]
    fn filter_map_and_flat_map_compose() {
        let ops = [
            op(OperatorKind::FlatMap, "value.items"),
            op(OperatorKind::Filter, "value > 1"),
            op(OperatorKind::Map, "{'n': value * 10, 'at': timestamp}"),
        ];
        let (out, failed) = run(&ops, json!({"items": [1, 2, 3]}));
        assert_eq!(out, vec![json!({"n": 20, "at": 7}), json!({"n": 30, "at": 7})]);
        assert!(failed.is_empty());
    }

    #[test]
    fn a_batch_gives_each_record_what_it_gets_alone() {
        let ops = [
            op(OperatorKind::FlatMap, "value.items"),
            op(OperatorKind::Filter, "value > 1"),
            op(OperatorKind::FlatMap, "[value, value * 10]"),
            op(OperatorKind::Map, "100 / (value - 2)"),
        ];
        let values =
            [json!({"items": [1, "x", 3, 2, "y"]}), json!(3), json!({"items": []}), json!({"items": [5, 2]})];
        let flow = |value: &Value| Flow {
            key: None,
            value: value.clone(),
            timestamp: 7,
            origin: Origin { source: 0, partition: 0, offset: 0 },
            projected: false,
        };
        let mut wasm = Instances::new(std::sync::Arc::default());
        let outcomes = run_chain_batch(&mut wasm, &ops, values.iter().map(flow).collect(), &|_| Value::Null);
        assert_eq!(outcomes.len(), values.len());
        let mut failures = 0;
        for (value, outcome) in values.iter().zip(outcomes) {
            let (out, failed) = run(&ops, value.clone());
            let batch_out: Vec<Value> = outcome.out.into_iter().map(|f| f.value).collect();
            let batch_failed: Vec<String> =
                outcome.failed.iter().map(|(op, _, reason)| format!("{}: {reason}", op.origin)).collect();
            assert_eq!(batch_out, out, "{value}");
            assert_eq!(batch_failed, failed, "{value}");
            failures += failed.len();
        }
        assert!(failures >= 3, "the case exercises failures at several depths");
    }

    #[test]
    fn filter_map_drops_nulls() {
        let ops = [op(OperatorKind::FilterMap, "value > 1 ? value : null")];
        assert_eq!(run(&ops, json!(5)).0, vec![json!(5)]);
        assert!(run(&ops, json!(0)).0.is_empty());
    }

    #[test]
    fn a_failing_step_reports_its_place_and_stops_the_record() {
        let ops = [op(OperatorKind::Filter, "value.temp > 30.0"), op(OperatorKind::Map, "value")];
        let (out, failed) = run(&ops, json!({"temp": "hot"}));
        assert!(out.is_empty());
        assert_eq!(failed.len(), 1);
        assert!(failed[0].starts_with("Filter: expression `value.temp > 30.0` failed"), "{failed:?}");
        let (_, failed) = run(&[op(OperatorKind::Filter, "value")], json!(3));
        assert_eq!(failed, vec!["Filter: filter returned 3, expected a boolean"]);
        let (_, failed) = run(&[op(OperatorKind::FlatMap, "value")], json!(3));
        assert_eq!(failed, vec!["FlatMap: flat-map returned 3, expected a list"]);
    }
}
