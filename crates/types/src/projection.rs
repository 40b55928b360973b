//! Which parts of a record's value the steps of a service read.
//!
//! A filter on a Nexmark event reads 6 of its 30-odd fields, and a `map` that follows it
//! replaces the value: whatever the steps never read need not be built or decoded. A
//! [`Projection`] names the fields to keep, nested; anything not an object is kept whole,
//! so a step that reads only the named paths sees exactly what it would see in the whole
//! value (the same fields, the same absences, the same errors).
//!
//! ```
//! use eddy_types::Projection;
//!
//! let mut read = Projection::nothing();
//! read.add_path(&["bid", "price"]);
//! read.add_path(&["event_type"]);
//! assert!(read.field("bid").is_some_and(|bid| bid.field("price").is_some_and(Projection::is_whole)));
//! assert!(read.field("person").is_none());
//! read.add_path(&[]);
//! assert!(read.is_whole());
//! ```

/// The parts of a JSON value to keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Projection {
    /// All of it.
    #[default]
    Whole,
    /// Of an object, only these fields (sorted by name, distinct), each projected in
    /// turn; a value that is not an object is kept whole.
    Fields(Vec<(Box<str>, Projection)>),
}

use serde_json::{Map, Value};

/// What [`Projection::field`] answers for a field of a value kept whole.
static WHOLE: Projection = Projection::Whole;

impl Projection {
    /// Nothing read yet: of an object, no field.
    pub fn nothing() -> Projection {
        Projection::Fields(Vec::new())
    }

    /// Whether the value is kept whole.
    pub fn is_whole(&self) -> bool {
        matches!(self, Projection::Whole)
    }

    /// How to project field `name` of an object, or `None` when it is not kept.
    pub fn field(&self, name: &str) -> Option<&Projection> {
        match self {
            Projection::Whole => Some(&WHOLE),
            Projection::Fields(fields) => {
                fields.binary_search_by(|(field, _)| (**field).cmp(name)).ok().map(|at| &fields[at].1)
            }
        }
    }

    /// Keeps the value at `path` (field names from the root) whole; the empty path keeps
    /// everything.
    pub fn add_path(&mut self, path: &[&str]) {
        let Some((first, rest)) = path.split_first() else {
            *self = Projection::Whole;
            return;
        };
        let Projection::Fields(fields) = self else { return };
        let at = match fields.binary_search_by(|(field, _)| (**field).cmp(first)) {
            Ok(at) => at,
            Err(at) => {
                fields.insert(at, ((*first).into(), Projection::nothing()));
                at
            }
        };
        let field = &mut fields[at].1;
        if rest.is_empty() {
            *field = Projection::Whole;
        } else {
            field.add_path(rest);
        }
    }

    /// The parts of `value` to keep, copied.
    pub fn apply(&self, value: &Value) -> Value {
        match (self, value) {
            (Projection::Fields(fields), Value::Object(object)) => Value::Object(
                fields
                    .iter()
                    .filter_map(|(name, projection)| {
                        object.get(&**name).map(|field| (name.to_string(), projection.apply(field)))
                    })
                    .collect::<Map<String, Value>>(),
            ),
            _ => value.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_merge_and_whole_absorbs_what_is_below() {
        let mut read = Projection::nothing();
        read.add_path(&["b", "y"]);
        read.add_path(&["a"]);
        read.add_path(&["b", "x"]);
        let Projection::Fields(fields) = &read else { panic!("fields") };
        assert_eq!(fields.iter().map(|(name, _)| &**name).collect::<Vec<_>>(), ["a", "b"]);
        let b = read.field("b").unwrap();
        assert!(b.field("x").unwrap().is_whole() && b.field("y").unwrap().is_whole());
        assert!(b.field("z").is_none());

        read.add_path(&["b"]);
        assert!(read.field("b").unwrap().is_whole());
        read.add_path(&["b", "w"]);
        assert!(read.field("b").unwrap().is_whole(), "a deeper path does not narrow a whole field");
        assert_eq!(read.field("b").unwrap().field("anything"), Some(&Projection::Whole));
    }

    #[test]
    fn applied_it_keeps_the_named_fields_of_objects_and_anything_else_whole() {
        let mut read = Projection::nothing();
        read.add_path(&["bid", "price"]);
        read.add_path(&["kind"]);
        read.add_path(&["list", "x"]);
        let value = serde_json::json!({
            "kind": 2, "person": {"id": 1},
            "bid": {"price": 10, "url": "u"},
            "list": [{"x": 1, "y": 2}],
        });
        assert_eq!(
            read.apply(&value),
            serde_json::json!({"kind": 2, "bid": {"price": 10}, "list": [{"x": 1, "y": 2}]})
        );
        assert_eq!(read.apply(&serde_json::json!("text")), serde_json::json!("text"));
        assert_eq!(Projection::Whole.apply(&value), value);
    }

    #[test]
    fn nothing_keeps_no_field_and_the_empty_path_keeps_all() {
        let mut read = Projection::nothing();
        assert!(!read.is_whole());
        assert!(read.field("a").is_none());
        read.add_path(&[]);
        assert!(read.is_whole());
        read.add_path(&["a"]);
        assert!(read.is_whole());
    }
}
