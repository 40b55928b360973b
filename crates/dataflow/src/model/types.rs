//! Data types (`types:`) and checking a JSON value against one.
//!
//! A type is a primitive (`string`, `bool`, `i32`, `i64`, `u32`, `u64`, `f32`, `f64`,
//! `bytes`), an object with typed properties, a list of one item type, or the name of a type
//! declared in `types`:
//!
//! ```yaml
//! types:
//!   reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}}}
//!   readings: {type: list, items: {type: reading}}
//! ```
//!
//! [`TypeDef::check`] says why a value does not match ("field `temp`: expected f64, got
//! string"); the engine puts that reason on records it sends to the dead-letter topic.
//! Objects must have every declared property and may have more. `bytes` accepts a string or
//! an array of integers 0–255.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A primitive type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Primitive {
    /// UTF-8 text.
    String,
    /// `true` or `false`.
    Bool,
    /// A signed 32-bit integer.
    I32,
    /// A signed 64-bit integer.
    I64,
    /// An unsigned 32-bit integer.
    U32,
    /// An unsigned 64-bit integer.
    U64,
    /// A 32-bit float.
    F32,
    /// A 64-bit float.
    F64,
    /// Bytes.
    Bytes,
}

impl Primitive {
    /// Every primitive, in the order the docs list them.
    pub const ALL: [Primitive; 9] = [
        Primitive::String,
        Primitive::Bool,
        Primitive::I32,
        Primitive::I64,
        Primitive::U32,
        Primitive::U64,
        Primitive::F32,
        Primitive::F64,
        Primitive::Bytes,
    ];

    /// The name used in dataflow files.
    pub fn name(self) -> &'static str {
        match self {
            Primitive::String => "string",
            Primitive::Bool => "bool",
            Primitive::I32 => "i32",
            Primitive::I64 => "i64",
            Primitive::U32 => "u32",
            Primitive::U64 => "u64",
            Primitive::F32 => "f32",
            Primitive::F64 => "f64",
            Primitive::Bytes => "bytes",
        }
    }

    /// The primitive called `name`, if any.
    pub fn from_name(name: &str) -> Option<Primitive> {
        Primitive::ALL.into_iter().find(|primitive| primitive.name() == name)
    }

    /// Whether it is an integer type.
    pub fn is_integer(self) -> bool {
        matches!(self, Primitive::I32 | Primitive::I64 | Primitive::U32 | Primitive::U64)
    }

    /// Why `value` is not of this type, if it is not.
    fn check(self, value: &Value) -> Result<(), String> {
        if self.fits(value) {
            return Ok(());
        }
        let got = match value {
            Value::Number(n) => n.to_string(),
            other => kind(other).to_owned(),
        };
        Err(format!("expected {}, got {got}", self.name()))
    }

    /// Whether `value` is of this type.
    pub fn fits(self, value: &Value) -> bool {
        match self {
            Primitive::String => value.is_string(),
            Primitive::Bool => value.is_boolean(),
            Primitive::I32 => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            Primitive::I64 => value.is_i64(),
            Primitive::U32 => value.as_u64().is_some_and(|n| u32::try_from(n).is_ok()),
            Primitive::U64 => value.is_u64(),
            Primitive::F32 => value.as_f64().is_some_and(|n| n.abs() <= f64::from(f32::MAX)),
            Primitive::F64 => value.is_number(),
            Primitive::Bytes => match value {
                Value::String(_) => true,
                Value::Array(items) => items.iter().all(|item| item.as_u64().is_some_and(|b| b <= 255)),
                _ => false,
            },
        }
    }
}

impl fmt::Display for Primitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// A data type, as declared in `types` or used inline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTypeDef", into = "RawTypeDef")]
pub enum TypeDef {
    /// A primitive: `{type: f64}`.
    Primitive(Primitive),
    /// An object: `{type: object, properties: {name: <type>, ...}}`.
    Object(BTreeMap<String, TypeDef>),
    /// A list: `{type: list, items: <type>}`.
    List(Box<TypeDef>),
    /// A type declared in `types`: `{type: reading}`.
    Named(String),
}

/// The shape of a type in the file, before it is told apart.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawTypeDef {
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    properties: Option<BTreeMap<String, TypeDef>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    items: Option<Box<TypeDef>>,
}

impl TryFrom<RawTypeDef> for TypeDef {
    type Error = String;

    fn try_from(raw: RawTypeDef) -> Result<Self, String> {
        let RawTypeDef { type_name, properties, items } = raw;
        match (type_name.as_str(), properties, items) {
            ("object", Some(properties), None) => Ok(TypeDef::Object(properties)),
            ("object", None, None) => Err("`type: object` needs `properties`".to_owned()),
            ("list", None, Some(items)) => Ok(TypeDef::List(items)),
            ("list", None, None) => Err("`type: list` needs `items`".to_owned()),
            ("object", _, Some(_)) | (_, None, Some(_)) => {
                Err("`items` is only allowed with `type: list`".to_owned())
            }
            (_, Some(_), _) => Err("`properties` is only allowed with `type: object`".to_owned()),
            ("", None, None) => Err("`type` is empty".to_owned()),
            (name, None, None) => Ok(Primitive::from_name(name)
                .map_or_else(|| TypeDef::Named(name.to_owned()), TypeDef::Primitive)),
        }
    }
}

impl From<TypeDef> for RawTypeDef {
    fn from(def: TypeDef) -> Self {
        let raw =
            |type_name: &str| RawTypeDef { type_name: type_name.to_owned(), properties: None, items: None };
        match def {
            TypeDef::Primitive(primitive) => raw(primitive.name()),
            TypeDef::Named(name) => raw(&name),
            TypeDef::Object(properties) => RawTypeDef { properties: Some(properties), ..raw("object") },
            TypeDef::List(items) => RawTypeDef { items: Some(items), ..raw("list") },
        }
    }
}

impl TypeDef {
    /// The type referred to by `name`: a primitive, or a named reference.
    pub fn from_name(name: &str) -> TypeDef {
        Primitive::from_name(name).map_or_else(|| TypeDef::Named(name.to_owned()), TypeDef::Primitive)
    }

    /// Checks `value` against this type.
    ///
    /// # Errors
    /// Why it does not match, naming the field: "field `temp`: expected f64, got string".
    /// A [`TypeDef::Named`] that was not [resolved](TypeDef::resolve) never matches.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        // The common case, a match, allocates nothing; the path is built only to explain a
        // mismatch.
        if self.matches(value) {
            return Ok(());
        }
        let mut path = String::new();
        self.check_at(value, &mut path).map_err(|reason| {
            if path.is_empty() {
                reason
            } else if path.starts_with('[') {
                format!("element `{path}`: {reason}")
            } else {
                format!("field `{path}`: {reason}")
            }
        })
    }

    /// Whether `value` is of this type: [`TypeDef::check`] without the explanation.
    pub fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (TypeDef::Primitive(primitive), value) => primitive.fits(value),
            (TypeDef::Object(properties), Value::Object(fields)) => properties
                .iter()
                .all(|(name, def)| fields.get(name.as_str()).is_some_and(|field| def.matches(field))),
            (TypeDef::List(items), Value::Array(elements)) => {
                elements.iter().all(|element| items.matches(element))
            }
            _ => false,
        }
    }

    /// Whether every string is of this type. No rule looks inside a string, so the empty
    /// one (which costs no allocation) stands for them all.
    pub(crate) fn matches_any_string(&self) -> bool {
        self.matches(&Value::String(String::new()))
    }

    fn check_at(&self, value: &Value, path: &mut String) -> Result<(), String> {
        match self {
            TypeDef::Primitive(primitive) => primitive.check(value),
            TypeDef::Named(name) => Err(format!("type `{name}` is not resolved")),
            TypeDef::Object(properties) => {
                let Value::Object(fields) = value else {
                    return Err(format!("expected object, got {}", kind(value)));
                };
                for (name, def) in properties {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name);
                    match fields.get(name) {
                        None => return Err("missing".to_owned()),
                        Some(field) => def.check_at(field, path)?,
                    }
                    path.truncate(len);
                }
                Ok(())
            }
            TypeDef::List(items) => {
                let Value::Array(elements) = value else {
                    return Err(format!("expected list, got {}", kind(value)));
                };
                for (index, element) in elements.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{index}]"));
                    items.check_at(element, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
        }
    }

    /// This type with every [`TypeDef::Named`] replaced by its definition from `types`.
    ///
    /// # Errors
    /// The unknown name, or the chain of names that refers back to itself.
    pub fn resolve(&self, types: &BTreeMap<String, TypeDef>) -> Result<TypeDef, String> {
        self.resolve_within(types, &mut Vec::new())
    }

    fn resolve_within<'a>(
        &'a self,
        types: &'a BTreeMap<String, TypeDef>,
        visiting: &mut Vec<&'a str>,
    ) -> Result<TypeDef, String> {
        match self {
            TypeDef::Primitive(_) => Ok(self.clone()),
            TypeDef::Object(properties) => Ok(TypeDef::Object(
                properties
                    .iter()
                    .map(|(name, def)| Ok((name.clone(), def.resolve_within(types, visiting)?)))
                    .collect::<Result<_, String>>()?,
            )),
            TypeDef::List(items) => Ok(TypeDef::List(Box::new(items.resolve_within(types, visiting)?))),
            TypeDef::Named(name) => {
                if visiting.contains(&name.as_str()) {
                    visiting.push(name);
                    return Err(format!("type `{name}` refers to itself ({})", visiting.join(" → ")));
                }
                let def = types.get(name).ok_or_else(|| format!("unknown type `{name}`"))?;
                visiting.push(name);
                let resolved = def.resolve_within(types, visiting)?;
                visiting.pop();
                Ok(resolved)
            }
        }
    }

    /// Every [`TypeDef::Named`] reference inside this type, with the path to its `type` key
    /// relative to this type (e.g. `properties.temp.type`).
    pub(crate) fn references(&self) -> Vec<(Vec<&str>, &str)> {
        let mut found = Vec::new();
        self.collect_references(&mut Vec::new(), &mut found);
        found
    }

    fn collect_references<'a>(&'a self, path: &mut Vec<&'a str>, found: &mut Vec<(Vec<&'a str>, &'a str)>) {
        match self {
            TypeDef::Primitive(_) => {}
            TypeDef::Named(name) => {
                let mut at = path.clone();
                at.push("type");
                found.push((at, name));
            }
            TypeDef::Object(properties) => {
                for (name, def) in properties {
                    path.extend(["properties", name.as_str()]);
                    def.collect_references(path, found);
                    path.truncate(path.len() - 2);
                }
            }
            TypeDef::List(items) => {
                path.push("items");
                items.collect_references(path, found);
                path.pop();
            }
        }
    }
}

impl fmt::Display for TypeDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeDef::Primitive(primitive) => write!(f, "{primitive}"),
            TypeDef::Named(name) => f.write_str(name),
            TypeDef::Object(_) => f.write_str("object"),
            TypeDef::List(items) => write!(f, "list of {items}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reading() -> TypeDef {
        TypeDef::Object(BTreeMap::from([
            ("sensor".to_owned(), TypeDef::Primitive(Primitive::String)),
            ("temp".to_owned(), TypeDef::Primitive(Primitive::F64)),
            ("count".to_owned(), TypeDef::Primitive(Primitive::U32)),
            ("tags".to_owned(), TypeDef::List(Box::new(TypeDef::Primitive(Primitive::String)))),
        ]))
    }

    #[test]
    fn matching_values_pass() {
        let value = json!({"sensor": "s1", "temp": 21, "count": 3, "tags": ["a"], "extra": null});
        assert_eq!(reading().check(&value), Ok(()));
        assert_eq!(TypeDef::Primitive(Primitive::Bytes).check(&json!([0, 255])), Ok(()));
        assert_eq!(TypeDef::Primitive(Primitive::I32).check(&json!(-5)), Ok(()));
    }

    #[test]
    fn mismatches_name_the_field_and_the_types() {
        let check = |value: Value| reading().check(&value).unwrap_err();
        assert_eq!(
            check(json!({"sensor": "s1", "temp": "hot", "count": 3, "tags": []})),
            "field `temp`: expected f64, got string"
        );
        assert_eq!(check(json!({"sensor": "s1", "temp": 1.0, "tags": []})), "field `count`: missing");
        assert_eq!(
            check(json!({"sensor": "s1", "temp": 1.0, "count": -1, "tags": []})),
            "field `count`: expected u32, got -1"
        );
        assert_eq!(
            check(json!({"sensor": "s1", "temp": 1.0, "count": 1, "tags": ["a", 2]})),
            "field `tags[1]`: expected string, got 2"
        );
        assert_eq!(check(json!([1])), "expected object, got list");
        let list = TypeDef::List(Box::new(reading()));
        assert_eq!(list.check(&json!([{"sensor": 1}])).unwrap_err(), "element `[0].count`: missing");
        assert_eq!(
            TypeDef::Primitive(Primitive::I32).check(&json!(3_000_000_000_u64)).unwrap_err(),
            "expected i32, got 3000000000"
        );
        assert_eq!(
            TypeDef::Primitive(Primitive::U64).check(&json!(1.5)).unwrap_err(),
            "expected u64, got 1.5"
        );
        assert!(TypeDef::Primitive(Primitive::F32).check(&json!(1e300)).is_err());
        assert!(TypeDef::Primitive(Primitive::Bytes).check(&json!([256])).is_err());
        assert!(TypeDef::Named("reading".to_owned()).check(&json!({})).is_err());
    }

    #[test]
    fn names_resolve_and_cycles_are_refused() {
        let types = BTreeMap::from([
            ("reading".to_owned(), reading()),
            ("readings".to_owned(), TypeDef::List(Box::new(TypeDef::Named("reading".to_owned())))),
            ("a".to_owned(), TypeDef::List(Box::new(TypeDef::Named("b".to_owned())))),
            ("b".to_owned(), TypeDef::Named("a".to_owned())),
        ]);
        assert_eq!(
            TypeDef::Named("readings".to_owned()).resolve(&types),
            Ok(TypeDef::List(Box::new(reading())))
        );
        assert_eq!(
            TypeDef::Named("a".to_owned()).resolve(&types).unwrap_err(),
            "type `a` refers to itself (a → b → a)"
        );
        assert_eq!(TypeDef::Named("nope".to_owned()).resolve(&types).unwrap_err(), "unknown type `nope`");
    }

    #[test]
    fn the_raw_shape_is_checked() {
        let raw = |type_name: &str, properties: bool, items: bool| RawTypeDef {
            type_name: type_name.to_owned(),
            properties: properties.then(BTreeMap::new),
            items: items.then(|| Box::new(TypeDef::Primitive(Primitive::Bool))),
        };
        assert_eq!(TypeDef::try_from(raw("f64", false, false)), Ok(TypeDef::Primitive(Primitive::F64)));
        assert_eq!(TypeDef::try_from(raw("reading", false, false)), Ok(TypeDef::Named("reading".to_owned())));
        assert!(TypeDef::try_from(raw("object", false, false)).unwrap_err().contains("needs `properties`"));
        assert!(TypeDef::try_from(raw("list", false, false)).unwrap_err().contains("needs `items`"));
        assert!(TypeDef::try_from(raw("string", true, false)).unwrap_err().contains("only allowed with"));
        assert!(TypeDef::try_from(raw("object", true, true)).unwrap_err().contains("`items` is only"));
    }
}
