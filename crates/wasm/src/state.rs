//! The service state a component reaches through its `eddy:dataflow/state` imports.
//!
//! The runtime implements [`State`] over its own store; this crate only forwards the
//! component's calls to it. Each [`crate::Pool`] owns one `S: State`, reachable between
//! calls with [`crate::Pool::state_mut`], so the runtime can point it at the key being
//! processed and collect the writes of an epoch. [`NoState`] is for stateless operators;
//! [`MemoryState`] keeps everything in maps (tests, benches, and a reference for the
//! semantics).

use std::collections::BTreeMap;

use crate::abi::Entry;

/// A state operation the runtime refused or could not do. The message goes back to the
/// component as the `err` of the import it called.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StateError(pub String);

/// The service's keyed state, as the component sees it. `state` names a state declared in
/// the service; keys are raw bytes; values are JSON documents (UTF-8 bytes); rows are JSON
/// objects.
pub trait State: Send + 'static {
    /// The key's value in `state`, `None` if it has none.
    ///
    /// # Errors
    /// An unknown state, a key the runtime does not hold, a storage failure.
    fn get_value(&mut self, state: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;

    /// Replaces the key's value in `state`.
    ///
    /// # Errors
    /// As [`State::get_value`]; or a value that is not a JSON document of the state's type.
    fn set_value(&mut self, state: &str, key: &[u8], value: Vec<u8>) -> Result<(), StateError>;

    /// Adds `by` to the key's counter (absent counts as 0) and returns the new value.
    ///
    /// # Errors
    /// As [`State::get_value`]; or a value that is not an integer, or an overflow.
    fn increment(&mut self, state: &str, key: &[u8], by: i64) -> Result<i64, StateError>;

    /// Removes the key's value from `state`.
    ///
    /// # Errors
    /// As [`State::get_value`].
    fn delete_value(&mut self, state: &str, key: &[u8]) -> Result<(), StateError>;

    /// The key's row in `state` (a JSON object), `None` if it has none.
    ///
    /// # Errors
    /// As [`State::get_value`].
    fn get_row(&mut self, state: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError>;

    /// Replaces the key's row in `state`.
    ///
    /// # Errors
    /// As [`State::get_value`]; or a row that is not a JSON object.
    fn set_row(&mut self, state: &str, key: &[u8], row: Vec<u8>) -> Result<(), StateError>;

    /// Removes the key's row from `state`.
    ///
    /// # Errors
    /// As [`State::get_value`].
    fn delete_row(&mut self, state: &str, key: &[u8]) -> Result<(), StateError>;

    /// Every key's state in the window being flushed. Default: an empty list (windows do
    /// not expose their state to components yet).
    ///
    /// # Errors
    /// As [`State::get_value`].
    fn scan_window(&mut self, state: &str) -> Result<Vec<Entry>, StateError> {
        let _ = state;
        Ok(Vec::new())
    }
}

/// The state of an operator that has none: every call fails, naming the state asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoState;

impl NoState {
    fn refuse<T>(state: &str) -> Result<T, StateError> {
        Err(StateError(format!(
            "state `{state}` is not available to this operator: only `update-state` and `flush` \
             operators of a service that declares it may use state"
        )))
    }
}

impl State for NoState {
    fn get_value(&mut self, state: &str, _: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Self::refuse(state)
    }
    fn set_value(&mut self, state: &str, _: &[u8], _: Vec<u8>) -> Result<(), StateError> {
        Self::refuse(state)
    }
    fn increment(&mut self, state: &str, _: &[u8], _: i64) -> Result<i64, StateError> {
        Self::refuse(state)
    }
    fn delete_value(&mut self, state: &str, _: &[u8]) -> Result<(), StateError> {
        Self::refuse(state)
    }
    fn get_row(&mut self, state: &str, _: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Self::refuse(state)
    }
    fn set_row(&mut self, state: &str, _: &[u8], _: Vec<u8>) -> Result<(), StateError> {
        Self::refuse(state)
    }
    fn delete_row(&mut self, state: &str, _: &[u8]) -> Result<(), StateError> {
        Self::refuse(state)
    }
}

/// State kept in maps, keyed by (state name, key). Values and rows are separate spaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryState {
    /// Keyed values, JSON bytes.
    pub values: BTreeMap<(String, Vec<u8>), Vec<u8>>,
    /// Keyed rows, JSON object bytes.
    pub rows: BTreeMap<(String, Vec<u8>), Vec<u8>>,
}

impl MemoryState {
    /// The key's value in `state`, parsed.
    pub fn value(&self, state: &str, key: &[u8]) -> Option<serde_json::Value> {
        let bytes = self.values.get(&(state.to_owned(), key.to_vec()))?;
        serde_json::from_slice(bytes).ok()
    }
}

fn slot(state: &str, key: &[u8]) -> (String, Vec<u8>) {
    (state.to_owned(), key.to_vec())
}

fn check_json(bytes: &[u8]) -> Result<serde_json::Value, StateError> {
    serde_json::from_slice(bytes).map_err(|e| StateError(format!("not a JSON document: {e}")))
}

impl State for MemoryState {
    fn get_value(&mut self, state: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.values.get(&slot(state, key)).cloned())
    }

    fn set_value(&mut self, state: &str, key: &[u8], value: Vec<u8>) -> Result<(), StateError> {
        check_json(&value)?;
        self.values.insert(slot(state, key), value);
        Ok(())
    }

    fn increment(&mut self, state: &str, key: &[u8], by: i64) -> Result<i64, StateError> {
        let slot = slot(state, key);
        let current = match self.values.get(&slot) {
            None => 0,
            Some(bytes) => check_json(bytes)?.as_i64().ok_or_else(|| {
                StateError(format!("the value of `{state}` for this key is not an integer counter"))
            })?,
        };
        let next = current
            .checked_add(by)
            .ok_or_else(|| StateError(format!("incrementing `{state}` by {by} overflows")))?;
        self.values.insert(slot, next.to_string().into_bytes());
        Ok(next)
    }

    fn delete_value(&mut self, state: &str, key: &[u8]) -> Result<(), StateError> {
        self.values.remove(&slot(state, key));
        Ok(())
    }

    fn get_row(&mut self, state: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.rows.get(&slot(state, key)).cloned())
    }

    fn set_row(&mut self, state: &str, key: &[u8], row: Vec<u8>) -> Result<(), StateError> {
        if !check_json(&row)?.is_object() {
            return Err(StateError(format!("a row of `{state}` must be a JSON object")));
        }
        self.rows.insert(slot(state, key), row);
        Ok(())
    }

    fn delete_row(&mut self, state: &str, key: &[u8]) -> Result<(), StateError> {
        self.rows.remove(&slot(state, key));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_state_counts_and_refuses_what_is_not_a_counter() {
        let mut state = MemoryState::default();
        assert_eq!(state.increment("n", b"a", 2), Ok(2));
        assert_eq!(state.increment("n", b"a", 3), Ok(5));
        assert_eq!(state.value("n", b"a"), Some(serde_json::json!(5)));
        state.set_value("n", b"b", b"\"x\"".to_vec()).expect("a JSON string is a value");
        assert!(state.increment("n", b"b", 1).is_err());
        assert!(state.set_value("n", b"c", b"{not json".to_vec()).is_err());
        assert!(state.set_row("r", b"a", b"[1]".to_vec()).is_err());
        state.delete_value("n", b"a").expect("delete");
        assert_eq!(state.get_value("n", b"a"), Ok(None));
    }

    #[test]
    fn no_state_names_the_state_it_refuses() {
        let error = NoState.get_value("counts", b"k").expect_err("no state");
        assert!(error.0.contains("`counts`"), "{error}");
    }
}
