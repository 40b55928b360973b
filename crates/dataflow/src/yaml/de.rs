//! A serde [`Deserializer`](serde::Deserializer) over the [`Node`] tree that knows where it is.
//!
//! Every error leaves with the [`Path`] and [`Pos`] of the innermost node it concerns, so
//! "expected u32, found string `many`" becomes a diagnostic on the line of `partitions:`.
//! Entries listed in the `skip` set are invisible to serde: [`super::recover`] uses that to
//! take a broken node out and deserialize again, finding the next problem.
//!
//! Scalars are typed on demand, following the YAML 1.2 core schema for plain scalars
//! (`null`, `~`, `true`, `42`, `0x2a`, `1.5`, `.inf`); a string is accepted from any scalar
//! except a plain null, so `version: 0.1.0` and `version: 1` both read as text.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Visitor};

use super::node::{Entry, Kind, Node, Pos, Scalar};
use super::path::Path;

/// What kind of problem a [`DeError`] is; the recovery loop and the messages depend on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeErrorKind {
    /// A required field is absent from the mapping at the error's path.
    MissingField(&'static str),
    /// A key not in `expected`.
    UnknownField { field: String, expected: &'static [&'static str] },
    /// A value not in `expected`.
    UnknownVariant { variant: String, expected: &'static [&'static str] },
    /// Anything else; the message says it all.
    Other,
}

/// A deserialization error, with the place of the node it concerns once known (boxed: it
/// travels through every `Result` of the deserializer).
#[derive(Debug, Clone)]
pub(crate) struct DeError(Box<DeErrorData>);

/// What a [`DeError`] holds.
#[derive(Debug, Clone)]
pub(crate) struct DeErrorData {
    pub(crate) kind: DeErrorKind,
    pub(crate) message: String,
    pub(crate) expected: Option<String>,
    pub(crate) place: Option<(Path, Pos)>,
}

impl DeError {
    fn new(kind: DeErrorKind, message: String, expected: Option<String>) -> Self {
        DeError(Box::new(DeErrorData { kind, message, expected, place: None }))
    }

    /// Gives the error a place unless a more precise one is already known.
    fn locate(mut self, path: &Path, pos: Pos) -> Self {
        if self.0.place.is_none() {
            self.0.place = Some((path.clone(), pos));
        }
        self
    }

    /// The error's contents.
    pub(crate) fn into_data(self) -> DeErrorData {
        *self.0
    }
}

impl std::ops::Deref for DeError {
    type Target = DeErrorData;

    fn deref(&self) -> &DeErrorData {
        &self.0
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

/// Lists `items` as "a, b or c".
pub(crate) fn one_of(items: &[&str]) -> String {
    match items {
        [] => "nothing".to_owned(),
        [one] => format!("`{one}`"),
        [first, second] => format!("`{first}` or `{second}`"),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(|item| format!("`{item}`")).collect();
            format!("one of {} or `{last}`", rest.join(", "))
        }
    }
}

fn unexpected(found: &de::Unexpected<'_>) -> String {
    match found {
        de::Unexpected::Unit => "null".to_owned(),
        de::Unexpected::Str(text) => format!("string `{text}`"),
        de::Unexpected::Map => "a mapping".to_owned(),
        de::Unexpected::Seq => "a sequence".to_owned(),
        other => other.to_string(),
    }
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        DeError::new(DeErrorKind::Other, message.to_string(), None)
    }

    fn invalid_type(found: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        let expected = match expected.to_string() {
            name if name.starts_with("struct ") || name == "a map" => "a mapping".to_owned(),
            name => name,
        };
        DeError::new(
            DeErrorKind::Other,
            format!("expected {expected}, found {}", unexpected(&found)),
            Some(expected),
        )
    }

    fn invalid_value(found: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        let expected = expected.to_string();
        DeError::new(
            DeErrorKind::Other,
            format!("invalid value {}, expected {expected}", unexpected(&found)),
            Some(expected),
        )
    }

    fn invalid_length(len: usize, expected: &dyn de::Expected) -> Self {
        let expected = expected.to_string();
        DeError::new(DeErrorKind::Other, format!("found {len} elements, expected {expected}"), Some(expected))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(
            DeErrorKind::UnknownVariant { variant: variant.to_owned(), expected },
            format!("unknown value `{variant}`, expected {}", one_of(expected)),
            Some(one_of(expected)),
        )
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(
            DeErrorKind::UnknownField { field: field.to_owned(), expected },
            format!("unknown field `{field}`, expected {}", one_of(expected)),
            Some(one_of(expected)),
        )
    }

    fn missing_field(field: &'static str) -> Self {
        DeError::new(DeErrorKind::MissingField(field), format!("missing required field `{field}`"), None)
    }

    fn duplicate_field(field: &'static str) -> Self {
        DeError::new(DeErrorKind::Other, format!("field `{field}` is given twice"), None)
    }
}

/// What plain scalars resolve to under the YAML 1.2 core schema.
enum Resolved<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a str),
}

fn resolve(scalar: &Scalar) -> Resolved<'_> {
    let text = scalar.text.as_str();
    if !scalar.plain {
        return Resolved::Str(text);
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    if let Some(octal) = text.strip_prefix("0o")
        && let Ok(value) = u64::from_str_radix(octal, 8)
    {
        return Resolved::UInt(value);
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(value) = u64::from_str_radix(hex, 16)
    {
        return Resolved::UInt(value);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(value) = text.parse::<i64>() {
            return Resolved::Int(value);
        }
        if let Ok(value) = text.trim_start_matches('+').parse::<u64>() {
            return Resolved::UInt(value);
        }
    }
    let is_float = digits.bytes().any(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if is_float && let Ok(value) = text.parse::<f64>() {
        return Resolved::Float(value);
    }
    Resolved::Str(text)
}

/// Deserializes one node; the entry point is [`NodeDe::new`] on the root.
pub(crate) struct NodeDe<'t> {
    node: &'t Node,
    path: Path,
    skip: &'t HashSet<Path>,
}

impl<'t> NodeDe<'t> {
    /// A deserializer for `node` at `path`, hiding the entries whose paths are in `skip`.
    pub(crate) fn new(node: &'t Node, path: Path, skip: &'t HashSet<Path>) -> Self {
        NodeDe { node, path, skip }
    }

    fn child(&self, node: &'t Node, path: Path) -> NodeDe<'t> {
        NodeDe { node, path, skip: self.skip }
    }

    fn locate<T>(&self, result: Result<T, DeError>) -> Result<T, DeError> {
        result.map_err(|error| error.locate(&self.path, self.node.pos))
    }

    fn visit_any<V: Visitor<'t>>(&self, visitor: V) -> Result<V::Value, DeError> {
        let result = match &self.node.kind {
            Kind::Scalar(scalar) => match resolve(scalar) {
                Resolved::Null => visitor.visit_unit(),
                Resolved::Bool(value) => visitor.visit_bool(value),
                Resolved::Int(value) => visitor.visit_i64(value),
                Resolved::UInt(value) => visitor.visit_u64(value),
                Resolved::Float(value) => visitor.visit_f64(value),
                Resolved::Str(text) => visitor.visit_borrowed_str(text),
            },
            Kind::Seq(items) => visitor.visit_seq(SeqDe { de: self, items: items.iter().enumerate() }),
            Kind::Map(entries) => visitor.visit_map(MapDe { de: self, entries: entries.iter(), value: None }),
        };
        self.locate(result)
    }

    /// What this node is, for "expected X, found Y".
    fn unexpected(&self) -> de::Unexpected<'t> {
        match &self.node.kind {
            Kind::Scalar(scalar) => match resolve(scalar) {
                Resolved::Null => de::Unexpected::Unit,
                Resolved::Bool(value) => de::Unexpected::Bool(value),
                Resolved::Int(value) => de::Unexpected::Signed(value),
                Resolved::UInt(value) => de::Unexpected::Unsigned(value),
                Resolved::Float(value) => de::Unexpected::Float(value),
                Resolved::Str(text) => de::Unexpected::Str(text),
            },
            Kind::Seq(_) => de::Unexpected::Seq,
            Kind::Map(_) => de::Unexpected::Map,
        }
    }

    fn number<V: Visitor<'t>>(&self, visitor: V) -> Result<V::Value, DeError> {
        // Numbers, booleans and nulls resolve the same way whatever the target type; the visitor
        // range-checks and reports a string or a collection as the wrong type.
        self.visit_any(visitor)
    }

    fn string<V: Visitor<'t>>(&self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Scalar(scalar) if !matches!(resolve(scalar), Resolved::Null) => {
                self.locate(visitor.visit_borrowed_str(scalar.text.as_str()))
            }
            _ => self.visit_any(visitor),
        }
    }
}

macro_rules! forward_to_number {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, DeError> {
            self.number(visitor)
        }
    )*};
}

impl<'t> de::Deserializer<'t> for NodeDe<'t> {
    type Error = DeError;

    forward_to_number! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_any<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_any(visitor)
    }

    fn deserialize_char<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.string(visitor)
    }

    fn deserialize_str<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.string(visitor)
    }

    fn deserialize_string<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.string(visitor)
    }

    fn deserialize_bytes<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.string(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.string(visitor)
    }

    fn deserialize_option<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Scalar(scalar) if matches!(resolve(scalar), Resolved::Null) => {
                self.locate(visitor.visit_none())
            }
            _ => {
                let (path, pos) = (self.path.clone(), self.node.pos);
                visitor.visit_some(self).map_err(|error| error.locate(&path, pos))
            }
        }
    }

    fn deserialize_unit<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_any(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'t>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.visit_any(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'t>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let (path, pos) = (self.path.clone(), self.node.pos);
        visitor.visit_newtype_struct(self).map_err(|error| error.locate(&path, pos))
    }

    fn deserialize_seq<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_any(visitor)
    }

    fn deserialize_tuple<V: Visitor<'t>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.visit_any(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'t>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.visit_any(visitor)
    }

    fn deserialize_map<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'t>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Map(_) => self.visit_any(visitor),
            // Not `visit_seq`: a struct written as a list is a mistake, not a tuple.
            _ => self.locate(Err(de::Error::invalid_type(self.unexpected(), &visitor))),
        }
    }

    fn deserialize_enum<V: Visitor<'t>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.kind {
            Kind::Scalar(scalar) if !matches!(resolve(scalar), Resolved::Null) => {
                self.locate(visitor.visit_enum(UnitVariant(scalar.text.as_str())))
            }
            _ => self.visit_any(visitor),
        }
    }

    fn deserialize_identifier<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'t>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct SeqDe<'a, 't> {
    de: &'a NodeDe<'t>,
    items: std::iter::Enumerate<std::slice::Iter<'t, Node>>,
}

impl<'t> de::SeqAccess<'t> for SeqDe<'_, 't> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'t>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        for (index, item) in self.items.by_ref() {
            let path = self.de.path.index(index);
            if self.de.skip.contains(&path) {
                continue;
            }
            let pos = item.pos;
            return seed
                .deserialize(self.de.child(item, path.clone()))
                .map(Some)
                .map_err(|error| error.locate(&path, pos));
        }
        Ok(None)
    }
}

struct MapDe<'a, 't> {
    de: &'a NodeDe<'t>,
    entries: std::slice::Iter<'t, Entry>,
    value: Option<(&'t Node, Path)>,
}

impl<'t> de::MapAccess<'t> for MapDe<'_, 't> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'t>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        for entry in self.entries.by_ref() {
            let path = match entry.key.as_scalar() {
                Some(key) => self.de.path.key(&key.text),
                None => self.de.path.key("<complex key>"),
            };
            if self.de.skip.contains(&path) {
                continue;
            }
            let pos = entry.key.pos;
            let key = seed
                .deserialize(self.de.child(&entry.key, path.clone()))
                .map_err(|error| error.locate(&path, pos))?;
            self.value = Some((&entry.value, path));
            return Ok(Some(key));
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'t>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (node, path) = self
            .value
            .take()
            .ok_or_else(|| <DeError as de::Error>::custom("a mapping value was requested before its key"))?;
        seed.deserialize(self.de.child(node, path.clone())).map_err(|error| error.locate(&path, node.pos))
    }
}

/// An enum written as a plain name (`operator: filter`).
struct UnitVariant<'t>(&'t str);

impl<'t> de::EnumAccess<'t> for UnitVariant<'t> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'t>>(self, seed: V) -> Result<(V::Value, Self), DeError> {
        let deserializer = de::value::BorrowedStrDeserializer::<DeError>::new(self.0);
        Ok((seed.deserialize(deserializer)?, self))
    }
}

impl<'t> de::VariantAccess<'t> for UnitVariant<'t> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'t>>(self, _seed: T) -> Result<T::Value, DeError> {
        Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"a value"))
    }

    fn tuple_variant<V: Visitor<'t>>(self, _len: usize, _visitor: V) -> Result<V::Value, DeError> {
        Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"a sequence"))
    }

    fn struct_variant<V: Visitor<'t>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, DeError> {
        Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"a mapping"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;
    use crate::yaml::node;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    struct Doc {
        name: String,
        #[serde(default)]
        count: Option<u32>,
        ratio: Option<f64>,
        on: Option<bool>,
        #[serde(default)]
        items: Vec<Item>,
        #[serde(default)]
        extra: BTreeMap<String, serde_json::Value>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "kebab-case", deny_unknown_fields)]
    struct Item {
        kind: Color,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "kebab-case")]
    enum Color {
        Red,
        DarkBlue,
    }

    fn de(source: &str) -> Result<Doc, DeError> {
        let (root, problems) = node::parse(source);
        assert!(problems.is_empty(), "{problems:?}");
        Doc::deserialize(NodeDe::new(&root.unwrap(), Path::root(), &HashSet::new()))
    }

    fn place(error: &DeError) -> (String, usize, usize) {
        let (path, pos) = error.place.clone().unwrap();
        (path.to_string(), pos.line, pos.column)
    }

    #[test]
    fn scalars_resolve_to_the_requested_types() {
        let doc = de("name: 0.1.0\ncount: 0x10\nratio: 3\non: TRUE\nitems: [{kind: dark-blue}]\nextra: {a: [1, -2, 1.5, ~, 'q', yes]}\n").unwrap();
        assert_eq!(doc.name, "0.1.0");
        assert_eq!(doc.count, Some(16));
        assert_eq!(doc.ratio, Some(3.0));
        assert_eq!(doc.on, Some(true));
        assert_eq!(doc.items, vec![Item { kind: Color::DarkBlue }]);
        assert_eq!(doc.extra["a"], serde_json::json!([1, -2, 1.5, null, "q", "yes"]));
    }

    #[test]
    fn wrong_types_point_at_the_value() {
        let error = de("name: x\ncount: many\n").unwrap_err();
        assert_eq!(place(&error), ("count".to_owned(), 2, 8));
        assert_eq!(error.message, "expected u32, found string `many`");
        let error = de("name: x\ncount: -1\n").unwrap_err();
        assert_eq!(error.message, "invalid value integer `-1`, expected u32");
        let error = de("name: [a]\n").unwrap_err();
        assert_eq!(place(&error), ("name".to_owned(), 1, 7));
        let error = de("name:\n").unwrap_err();
        assert_eq!(error.message, "expected a string, found null");
    }

    #[test]
    fn unknown_fields_point_at_the_key() {
        let error = de("name: x\nitems:\n  - kind: red\n    colour: 1\n").unwrap_err();
        assert_eq!(place(&error), ("items[0].colour".to_owned(), 4, 5));
        assert!(matches!(error.kind, DeErrorKind::UnknownField { ref field, .. } if field == "colour"));
        assert_eq!(error.message, "unknown field `colour`, expected `kind`");
    }

    #[test]
    fn unknown_variants_list_the_valid_ones() {
        let error = de("name: x\nitems:\n  - kind: green\n").unwrap_err();
        assert_eq!(place(&error), ("items[0].kind".to_owned(), 3, 11));
        assert_eq!(error.message, "unknown value `green`, expected `red` or `dark-blue`");
    }

    #[test]
    fn missing_fields_point_at_the_mapping() {
        let error = de("items:\n  - {}\nname2: 1\n").unwrap_err();
        assert!(matches!(error.kind, DeErrorKind::UnknownField { .. } | DeErrorKind::MissingField(_)));
        let error = de("name: x\nitems:\n  - {}\n").unwrap_err();
        assert_eq!(place(&error), ("items[0]".to_owned(), 3, 5));
        assert_eq!(error.kind, DeErrorKind::MissingField("kind"));
    }

    #[test]
    fn skipped_entries_are_invisible() {
        let (root, _) = node::parse("name: x\ncount: many\nitems: [{kind: red}, {kind: nope}]\n");
        let skip: HashSet<Path> =
            [Path::root().key("count"), Path::root().key("items").index(1)].into_iter().collect();
        let doc = Doc::deserialize(NodeDe::new(&root.unwrap(), Path::root(), &skip)).unwrap();
        assert_eq!(doc.count, None);
        assert_eq!(doc.items, vec![Item { kind: Color::Red }]);
    }
}
