//! Join state: the rows a key (or a key in a window) keeps of each side of a join.
//!
//! A key's join state is the JSON value stored under the service's state `join`
//! (`eddy state list <service> join`), or `<start>/<end>/<key>` in a windowed service:
//!
//! ```json
//! {"left": [{"timestamp": 1000, "value": {…}}, …], "right": [{"timestamp": 1200, "value": {…}}]}
//! ```
//!
//! Rows are kept in arrival order; `keep: first` keeps only a side's first row (later ones
//! are dropped and pair with nothing), `keep: last` only its latest (it replaces the one
//! before). Unwindowed, a row arriving on one side is paired at once with every stored row
//! of the other side; windowed, every left row is paired with every right row when the
//! window closes. A pair's output record has the join key and the later of the two rows'
//! timestamps.

use eddy_dataflow::model::Keep;
use eddy_dataflow::{JoinPlan, JoinSidePlan};
use serde_json::{Map, Value};

/// One side of a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Left,
    Right,
}

impl Side {
    /// This side's plan.
    pub(crate) fn of(self, join: &JoinPlan) -> &JoinSidePlan {
        match self {
            Side::Left => &join.left,
            Side::Right => &join.right,
        }
    }

    /// The field of the join state holding this side's rows.
    fn field(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }

    pub(crate) fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
}

/// The state of a key no row has reached yet.
pub(crate) fn empty() -> Value {
    let mut state = Map::new();
    state.insert("left".to_owned(), Value::Array(Vec::new()));
    state.insert("right".to_owned(), Value::Array(Vec::new()));
    Value::Object(state)
}

/// A stored row.
pub(crate) fn row(value: Value, timestamp: i64) -> Value {
    let mut row = Map::new();
    row.insert("timestamp".to_owned(), Value::from(timestamp));
    row.insert("value".to_owned(), value);
    Value::Object(row)
}

/// A row's value.
pub(crate) fn value(row: &Value) -> &Value {
    row.get("value").unwrap_or(&Value::Null)
}

/// A row's timestamp.
pub(crate) fn timestamp(row: &Value) -> i64 {
    row.get("timestamp").and_then(Value::as_i64).unwrap_or(i64::MIN)
}

/// Stores `row` on `side` as `keep` says; `false` when the side keeps its first row and
/// `row` is not it.
///
/// # Errors
/// The state is not a join state (a stored value written by something else).
pub(crate) fn add(state: &mut Value, side: Side, keep: Keep, row: Value) -> Result<bool, String> {
    let Some(rows) = state.get_mut(side.field()).and_then(Value::as_array_mut) else {
        return Err(format!("join state has no `{}` list of rows: {state}", side.field()));
    };
    match keep {
        Keep::All => rows.push(row),
        Keep::First if !rows.is_empty() => return Ok(false),
        Keep::First => rows.push(row),
        Keep::Last => {
            rows.clear();
            rows.push(row);
        }
    }
    Ok(true)
}

/// The rows `side` keeps, in stored order.
pub(crate) fn rows(state: &Value, side: Side) -> &[Value] {
    state.get(side.field()).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(state: &Value, side: Side) -> Vec<&Value> {
        rows(state, side).iter().map(value).collect()
    }

    #[test]
    fn each_side_keeps_all_its_first_or_its_last_row() {
        let mut state = empty();
        for (n, keep) in [(1, Keep::All), (2, Keep::All)] {
            assert_eq!(add(&mut state, Side::Left, keep, row(json!(n), n)), Ok(true));
        }
        assert_eq!(add(&mut state, Side::Right, Keep::First, row(json!("a"), 5)), Ok(true));
        assert_eq!(add(&mut state, Side::Right, Keep::First, row(json!("b"), 6)), Ok(false));
        assert_eq!(values(&state, Side::Left), [&json!(1), &json!(2)]);
        assert_eq!(values(&state, Side::Right), [&json!("a")]);
        assert_eq!(add(&mut state, Side::Left, Keep::Last, row(json!(3), 9)), Ok(true));
        assert_eq!(values(&state, Side::Left), [&json!(3)]);
        assert_eq!(timestamp(&rows(&state, Side::Left)[0]), 9);
        assert_eq!(
            state,
            json!({"left": [{"timestamp": 9, "value": 3}], "right": [{"timestamp": 5, "value": "a"}]})
        );
    }

    #[test]
    fn a_state_that_is_not_a_join_state_is_an_error() {
        let mut state = json!(7);
        assert!(add(&mut state, Side::Left, Keep::All, row(json!(1), 1)).is_err());
        assert!(rows(&state, Side::Right).is_empty());
        assert_eq!(Side::Left.other(), Side::Right);
    }
}
