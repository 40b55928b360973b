//! The built-in aggregates, run natively: `count`, `sum`, `min`, `max` and `avg` in
//! `update-state`, and `top-k` over a window's keys in a per-window `flush`.
//!
//! Integers stay integers (checked for overflow) while both sides are integers; anything
//! else is summed as `f64`. `min` and `max` start from the first value a key sees; `avg`
//! keeps the row `{sum, count}`.

use bytes::Bytes;
use eddy_dataflow::AggregatePlan;
use eddy_dataflow::expr::Bindings;
use eddy_dataflow::model::Aggregate;
use serde_json::{Map, Value};

use crate::flow::{self, Flow};

/// The key's new state after `flow`.
pub(crate) fn update(plan: &AggregatePlan, flow: &Flow, key: &Value, state: &Value) -> Result<Value, String> {
    let of = || -> Result<Value, String> {
        let Some(expr) = &plan.of else {
            return Err(format!("`{}` has no `of`", plan.kind.name()));
        };
        let bindings = Bindings::new(&flow.value).with_key(key).with_timestamp(flow.timestamp);
        let value = expr.eval(&bindings).map_err(|e| format!("`of`: {e}"))?;
        match value {
            Value::Number(_) => Ok(value),
            other => Err(format!("`of` gave {other}; `{}` needs a number", plan.kind.name())),
        }
    };
    match plan.kind {
        Aggregate::Count => add(state, &Value::from(1)),
        Aggregate::Sum => add(state, &of()?),
        Aggregate::Min | Aggregate::Max => {
            let value = of()?;
            if state.is_null() {
                return Ok(value);
            }
            let (current, candidate) = (number(state)?, number(&value)?);
            let replace = if plan.kind == Aggregate::Min { candidate < current } else { candidate > current };
            Ok(if replace { value } else { state.clone() })
        }
        Aggregate::Avg => {
            let value = of()?;
            let field = |name: &str| state.get(name).cloned().unwrap_or_else(|| Value::from(0));
            let mut row = Map::new();
            row.insert("sum".to_owned(), Value::from(number(&field("sum"))? + number(&value)?));
            row.insert("count".to_owned(), add(&field("count"), &Value::from(1))?);
            Ok(Value::Object(row))
        }
        Aggregate::TopK => Err("`top-k` runs in a per-window `flush`".to_owned()),
    }
}

/// Two sessions' states combined when a record bridges them: counts and sums add, `min`
/// and `max` keep the smaller or larger, `avg` adds sums and counts. A session's state is
/// what [`update`] made, so `null` (a `min` or `max` with no value yet) yields the other.
pub(crate) fn merge(kind: Aggregate, earlier: &Value, later: &Value) -> Result<Value, String> {
    match kind {
        Aggregate::Count | Aggregate::Sum => add(earlier, later),
        Aggregate::Min | Aggregate::Max => {
            if earlier.is_null() || later.is_null() {
                return Ok(if earlier.is_null() { later.clone() } else { earlier.clone() });
            }
            let (a, b) = (number(earlier)?, number(later)?);
            let later_wins = if kind == Aggregate::Min { b < a } else { b > a };
            Ok(if later_wins { later.clone() } else { earlier.clone() })
        }
        Aggregate::Avg => {
            let field =
                |state: &Value, name: &str| state.get(name).cloned().unwrap_or_else(|| Value::from(0));
            let mut row = Map::new();
            row.insert(
                "sum".to_owned(),
                Value::from(number(&field(earlier, "sum"))? + number(&field(later, "sum"))?),
            );
            row.insert("count".to_owned(), add(&field(earlier, "count"), &field(later, "count"))?);
            Ok(Value::Object(row))
        }
        Aggregate::TopK => Err("`top-k` has no session state to merge".to_owned()),
    }
}

/// `top-k`: the window's `k` entries with the largest `by`, as records
/// `{rank, key, state, window}`; ties go to the smaller key. `with-ties` adds the entries
/// that tie with the `k`-th, ranked as it is (SQL's `RANK`).
pub(crate) fn top_k(
    plan: &AggregatePlan,
    states: impl IntoIterator<Item = (Bytes, Value)>,
    window: &Value,
) -> Result<Value, String> {
    let mut ranked = rank(plan, states, window)?;
    ranked.truncate(kept(plan, &ranked));
    let mut top = Vec::with_capacity(ranked.len());
    let mut rank_of_previous = (f64::NAN, 0);
    for (index, (by, key, _, state)) in ranked.into_iter().enumerate() {
        let rank = if plan.with_ties && by == rank_of_previous.0 { rank_of_previous.1 } else { index + 1 };
        rank_of_previous = (by, rank);
        top.push(serde_json::json!({"rank": rank, "key": key, "state": state, "window": window}));
    }
    Ok(Value::Array(top))
}

/// How many of the ranked entries `top-k` keeps: `k`, and with ties those equal to the `k`-th.
fn kept(plan: &AggregatePlan, ranked: &[(f64, Value, Bytes, Value)]) -> usize {
    let k = plan.k.min(ranked.len());
    if !plan.with_ties || k == 0 {
        return k;
    }
    let last = ranked[k - 1].0;
    k + ranked[k..].iter().take_while(|entry| entry.0 == last).count()
}

/// A worker's part of a `top-k` over a window whose keys are spread over workers: its own
/// best `k` entries (and their ties), which hold every entry of the window's top `k` this
/// worker has. When
/// `by` fails, every entry, so that the window's collector reports the failure.
pub(crate) fn top_k_candidates(
    plan: &AggregatePlan,
    states: Vec<(Bytes, Value)>,
    bounds: (i64, i64),
) -> Vec<(Bytes, Value)> {
    let window = crate::windows::window_value(bounds);
    match rank(plan, states.iter().cloned(), &window) {
        Ok(mut ranked) => {
            ranked.truncate(kept(plan, &ranked));
            ranked.into_iter().map(|(_, _, key, state)| (key, state)).collect()
        }
        Err(_) => states,
    }
}

/// The entries with their `by`, best first; ties in key order.
fn rank(
    plan: &AggregatePlan,
    states: impl IntoIterator<Item = (Bytes, Value)>,
    window: &Value,
) -> Result<Vec<(f64, Value, Bytes, Value)>, String> {
    let Some(by) = &plan.by else {
        return Err("`top-k` has no `by`".to_owned());
    };
    let mut ranked = Vec::new();
    for (raw_key, state) in states {
        let key = flow::key_value(Some(&raw_key));
        let bindings = Bindings::new(&Value::Null).with_key(&key).with_state(&state).with_window(window);
        let rank = by.eval(&bindings).map_err(|e| format!("`by`: {e}"))?;
        let rank = number(&rank).map_err(|e| format!("`by`: {e}"))?;
        ranked.push((rank, key, raw_key, state));
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.as_str().cmp(&b.1.as_str())));
    Ok(ranked)
}

/// `a + b`: integers while both are integers (and the sum fits), else `f64`.
fn add(a: &Value, b: &Value) -> Result<Value, String> {
    let a = if a.is_null() { &Value::from(0) } else { a };
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64())
        && let Some(sum) = x.checked_add(y)
    {
        return Ok(Value::from(sum));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x.checked_add(y).map(Value::from).ok_or_else(|| format!("{x} + {y} overflows"));
    }
    Ok(Value::from(number(a)? + number(b)?))
}

fn number(value: &Value) -> Result<f64, String> {
    value.as_f64().ok_or_else(|| format!("{value} is not a number"))
}

#[cfg(test)]
mod tests {
    use eddy_dataflow::expr::Expr;
    use serde_json::json;

    use super::*;
    use crate::flow::Origin;

    fn plan(kind: Aggregate, of: Option<&str>) -> AggregatePlan {
        AggregatePlan {
            kind,
            of: of.map(|cel| Expr::compile(cel).unwrap()),
            by: None,
            k: 0,
            with_ties: false,
        }
    }

    fn flow(value: Value) -> Flow {
        Flow {
            key: None,
            value,
            timestamp: 0,
            origin: Origin { source: 0, partition: 0, offset: 0 },
            projected: false,
        }
    }

    fn fold(plan: &AggregatePlan, initial: Value, values: &[Value]) -> Result<Value, String> {
        values
            .iter()
            .try_fold(initial, |state, value| update(plan, &flow(value.clone()), &Value::Null, &state))
    }

    #[test]
    fn aggregates_fold_exactly() {
        let values = [json!({"v": 3}), json!({"v": -1}), json!({"v": 7})];
        assert_eq!(fold(&plan(Aggregate::Count, None), json!(0), &values), Ok(json!(3)));
        assert_eq!(fold(&plan(Aggregate::Sum, Some("value.v")), json!(0), &values), Ok(json!(9)));
        assert_eq!(fold(&plan(Aggregate::Min, Some("value.v")), Value::Null, &values), Ok(json!(-1)));
        assert_eq!(fold(&plan(Aggregate::Max, Some("value.v")), Value::Null, &values), Ok(json!(7)));
        assert_eq!(
            fold(&plan(Aggregate::Avg, Some("value.v")), json!({"sum": 0.0, "count": 0}), &values),
            Ok(json!({"sum": 9.0, "count": 3}))
        );
        let floats = [json!({"v": 0.5}), json!({"v": 2})];
        assert_eq!(fold(&plan(Aggregate::Sum, Some("value.v")), json!(0), &floats), Ok(json!(2.5)));
    }

    #[test]
    fn merged_sessions_equal_one_session_over_both_parts() {
        let values = [json!(4), json!(-2), json!(7.5), json!(3)];
        for (kind, of, initial) in [
            (Aggregate::Count, None, json!(0)),
            (Aggregate::Sum, Some("value"), json!(0)),
            (Aggregate::Min, Some("value"), Value::Null),
            (Aggregate::Max, Some("value"), Value::Null),
            (Aggregate::Avg, Some("value"), json!({"sum": 0.0, "count": 0})),
        ] {
            let plan = plan(kind, of);
            let whole = fold(&plan, initial.clone(), &values).unwrap();
            for split in 0..=values.len() {
                let earlier = fold(&plan, initial.clone(), &values[..split]).unwrap();
                let later = fold(&plan, initial.clone(), &values[split..]).unwrap();
                let merged = merge(kind, &earlier, &later).unwrap();
                assert_eq!(number_or_row(&merged), number_or_row(&whole), "{kind:?} split at {split}");
            }
        }
        assert!(merge(Aggregate::Sum, &json!("x"), &json!(1)).is_err());
    }

    /// Numbers compared as f64 (`4 + 3.5` and `7.5` are the same sum).
    fn number_or_row(value: &Value) -> Value {
        match value {
            Value::Number(n) => json!(n.as_f64()),
            Value::Object(row) => row.iter().map(|(k, v)| (k.clone(), number_or_row(v))).collect(),
            other => other.clone(),
        }
    }

    #[test]
    fn bad_values_are_errors_not_panics() {
        let sum = plan(Aggregate::Sum, Some("value.v"));
        assert_eq!(
            fold(&sum, json!(0), &[json!({"v": "x"})]),
            Err("`of` gave \"x\"; `sum` needs a number".into())
        );
        assert!(fold(&sum, json!(0), &[json!({})]).unwrap_err().starts_with("`of`: "));
        assert_eq!(
            fold(&sum, json!(u64::MAX), &[json!({"v": 1})]),
            Err(format!("{} + 1 overflows", u64::MAX))
        );
    }

    #[test]
    fn top_k_ranks_by_the_expression_and_breaks_ties_by_key() {
        let plan = AggregatePlan {
            kind: Aggregate::TopK,
            of: None,
            by: Some(Expr::compile("state").unwrap()),
            k: 2,
            with_ties: false,
        };
        let states =
            [("b", 5), ("a", 5), ("c", 9), ("d", 1)].map(|(key, count)| (Bytes::from(key), json!(count)));
        let window = json!({"start": 0, "end": 10});
        let top = top_k(&plan, states, &window).unwrap();
        assert_eq!(
            top,
            json!([
                {"rank": 1, "key": "c", "state": 9, "window": window},
                {"rank": 2, "key": "a", "state": 5, "window": window},
            ])
        );
    }

    #[test]
    fn top_k_with_ties_keeps_every_entry_equal_to_the_kth_and_ranks_ties_alike() {
        let plan = AggregatePlan {
            kind: Aggregate::TopK,
            of: None,
            by: Some(Expr::compile("state").unwrap()),
            k: 1,
            with_ties: true,
        };
        let states = || {
            [("b", 9), ("a", 5), ("c", 9), ("d", 9)]
                .map(|(key, count)| (Bytes::from(key), json!(count)))
                .into_iter()
        };
        let window = json!({"start": 0, "end": 10});
        let top = top_k(&plan, states(), &window).unwrap();
        let ranks: Vec<(u64, &str)> = top
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| (entry["rank"].as_u64().unwrap(), entry["key"].as_str().unwrap()))
            .collect();
        assert_eq!(ranks, [(1, "b"), (1, "c"), (1, "d")]);
        let part: Vec<Bytes> =
            top_k_candidates(&plan, states().collect(), (10, 0)).into_iter().map(|(key, _)| key).collect();
        assert_eq!(part, ["b", "c", "d"].map(Bytes::from));
        let plan = AggregatePlan { with_ties: false, k: 2, ..plan };
        assert_eq!(top_k_candidates(&plan, states().collect(), (10, 0)).len(), 2);
    }
}
