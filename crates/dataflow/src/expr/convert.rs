//! JSON ↔ CEL values.
//!
//! Bindings go straight from a borrowed JSON value to CEL's runtime values ([`to_val`]):
//! strings and object keys are borrowed, not copied. Results come back from the runtime value
//! the program produced ([`from_val`]), without the intermediate owned [`cel::Value`].
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
#[cfg(test)]
use std::sync::Arc;

#[cfg(test)]
use cel::Value as Cel;
use cel::common::types::{
    CelBool, CelBytes, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt,
};
use cel::common::value::Val;
#[cfg(test)]
use cel::objects::{Key, Map};
use serde_json::{Number, Value};

/// Converts a JSON value to a CEL runtime value that borrows its strings from `value`.
pub(crate) fn to_val(value: &Value) -> Box<dyn Val + '_> {
    match value {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Box::new(CelInt::from(i)),
            (None, Some(u), _) => Box::new(CelUInt::from(u)),
            (None, None, Some(f)) => Box::new(CelDouble::from(f)),
            (None, None, None) => Box::new(CelNull),
        },
        Value::String(s) => Box::new(CelString::from(s.as_str())),
        Value::Array(items) => Box::new(CelList::from(items.iter().map(to_val).collect::<Vec<_>>())),
        Value::Object(fields) => {
            let map: HashMap<CelMapKey<'_>, Box<dyn Val + '_>> =
                fields.iter().map(|(name, value)| (CelMapKey::from(name.as_str()), to_val(value))).collect();
            Box::new(CelMap::from(map))
        }
    }
}

/// Converts a CEL runtime value to JSON.
///
/// # Errors
/// A reason when the value (or a part of it) has no JSON form.
pub(crate) fn from_val(value: &dyn Val) -> Result<Value, String> {
    if let Some(i) = value.downcast_ref::<CelInt>() {
        Ok(Value::from(*i.inner()))
    } else if let Some(s) = value.downcast_ref::<CelString>() {
        Ok(Value::String(s.inner().to_owned()))
    } else if let Some(f) = value.downcast_ref::<CelDouble>() {
        let f = *f.inner();
        Ok(Value::Number(Number::from_f64(f).ok_or_else(|| format!("{f} is not a finite number"))?))
    } else if let Some(b) = value.downcast_ref::<CelBool>() {
        Ok(Value::Bool(*b.inner()))
    } else if value.downcast_ref::<CelNull>().is_some() {
        Ok(Value::Null)
    } else if let Some(u) = value.downcast_ref::<CelUInt>() {
        Ok(Value::from(*u.inner()))
    } else if let Some(map) = value.downcast_ref::<CelMap>() {
        let mut object = serde_json::Map::new();
        for (key, value) in map.inner() {
            object.insert(key_name(key)?, from_val(value.as_ref())?);
        }
        Ok(Value::Object(object))
    } else if let Some(list) = value.downcast_ref::<CelList>() {
        Ok(Value::Array(list.inner().iter().map(|item| from_val(item.as_ref())).collect::<Result<_, _>>()?))
    } else if let Some(bytes) = value.downcast_ref::<CelBytes>() {
        Ok(match std::str::from_utf8(bytes.inner()) {
            Ok(text) => Value::String(text.to_owned()),
            Err(_) => Value::Array(bytes.inner().iter().map(|b| Value::from(*b)).collect()),
        })
    } else {
        Err(format!("a {} has no JSON form", value.get_type().name()))
    }
}

fn key_name(key: &CelMapKey<'_>) -> Result<String, String> {
    match key {
        CelMapKey::String(s) => Ok(s.inner().to_owned()),
        CelMapKey::Int(i) => Ok(i.inner().to_string()),
        CelMapKey::UInt(u) => Ok(u.inner().to_string()),
        CelMapKey::Bool(b) => Ok(b.inner().to_string()),
    }
}

/// Converts a JSON value to CEL's owned value (the reference the runtime conversions are
/// checked against).
#[cfg(test)]
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

/// Converts CEL's owned value to JSON.
#[cfg(test)]
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

#[cfg(test)]
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
        assert_eq!(from_val(to_val(&value).as_ref()).unwrap(), value);
    }

    #[test]
    fn runtime_values_convert_like_owned_ones() {
        for value in [json!(null), json!(-3), json!(u64::MAX), json!(0.25), json!("é"), json!([[], {}])] {
            let owned: Box<dyn Val> = to_cel(&value).try_into().unwrap();
            assert_eq!(from_val(owned.as_ref()).unwrap(), value);
        }
        let bytes: Box<dyn Val> = Box::new(CelBytes::from(vec![0xff]));
        assert_eq!(from_val(bytes.as_ref()).unwrap(), json!([255]));
        let keyed: HashMap<CelMapKey<'_>, Box<dyn Val>> =
            [(CelMapKey::from(1_i64), Box::new(CelBool::from(true)) as Box<dyn Val>)].into_iter().collect();
        assert_eq!(from_val(&CelMap::from(keyed)).unwrap(), json!({"1": true}));
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
