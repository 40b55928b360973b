//! JSON ↔ CEL values.
//!
//! | JSON | CEL |
//! |---|---|
//! | `null`, `true`/`false`, string | `null`, `bool`, `string` |
//! | integer fitting `i64` / larger | `int` / `uint` |
//! | other number | `double` |
//! | array / object | `list` / `map` with string keys |
//!
//! Back to JSON, `int`/`uint`/`double` become numbers (a NaN or an infinity is an error), map
//! keys of any CEL key type become strings, and `bytes` become a string when they are UTF-8,
//! an array of byte values otherwise. Functions, types and other opaque values are errors.

use std::collections::HashMap;
use std::sync::Arc;

use cel::Value as Cel;
use cel::objects::{Key, Map};
use serde_json::{Number, Value};

/// Converts a JSON value to CEL.
pub(crate) fn to_cel(value: &Value) -> Cel {
    match value {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Cel::Int(i),
            (None, Some(u), _) => Cel::UInt(u),
            (None, None, Some(f)) => Cel::Float(f),
            (None, None, None) => Cel::Null,
        },
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(items) => Cel::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(fields) => {
            let map: HashMap<Key, Cel> = fields
                .iter()
                .map(|(name, value)| (Key::String(Arc::new(name.clone())), to_cel(value)))
                .collect();
            Cel::Map(Map { map: Arc::new(map) })
        }
    }
}

/// Converts a CEL value to JSON.
///
/// # Errors
/// A reason when the value (or a part of it) has no JSON form.
pub(crate) fn from_cel(value: &Cel) -> Result<Value, String> {
    Ok(match value {
        Cel::Null => Value::Null,
        Cel::Bool(b) => Value::Bool(*b),
        Cel::Int(i) => Value::from(*i),
        Cel::UInt(u) => Value::from(*u),
        Cel::Float(f) => {
            Value::Number(Number::from_f64(*f).ok_or_else(|| format!("{f} is not a finite number"))?)
        }
        Cel::String(s) => Value::String(s.as_str().to_owned()),
        Cel::Bytes(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => Value::String(text.to_owned()),
            Err(_) => Value::Array(bytes.iter().map(|b| Value::from(*b)).collect()),
        },
        Cel::List(items) => Value::Array(items.iter().map(from_cel).collect::<Result<_, _>>()?),
        Cel::Map(map) => {
            let mut entries: Vec<(String, Value)> = map
                .map
                .iter()
                .map(|(key, value)| Ok((key_text(key), from_cel(value)?)))
                .collect::<Result<_, String>>()?;
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        other => return Err(format!("a {} has no JSON form", other.type_of())),
    })
}

fn key_text(key: &Key) -> String {
    match key {
        Key::Int(i) => i.to_string(),
        Key::Uint(u) => u.to_string(),
        Key::Bool(b) => b.to_string(),
        Key::String(s) => s.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_survives_a_round_trip() {
        let value = json!({"a": [1, -2, 2.5, u64::MAX, null, true, "s"], "b": {"c": {}}});
        assert_eq!(from_cel(&to_cel(&value)).unwrap(), value);
    }

    #[test]
    fn cel_only_values_convert_or_fail_cleanly() {
        assert_eq!(from_cel(&Cel::Bytes(Arc::new(b"hi".to_vec()))).unwrap(), json!("hi"));
        assert_eq!(from_cel(&Cel::Bytes(Arc::new(vec![0xff]))).unwrap(), json!([255]));
        let map: HashMap<Key, Cel> = [(Key::Int(1), Cel::Bool(true))].into_iter().collect();
        assert_eq!(from_cel(&Cel::Map(Map { map: Arc::new(map) })).unwrap(), json!({"1": true}));
        assert!(from_cel(&Cel::Float(f64::INFINITY)).is_err());
        assert!(from_cel(&Cel::Function(Arc::new("size".to_owned()), None)).is_err());
    }
}
