//! Decoding a record's JSON value into only the parts its steps read, checked against the
//! topic's type in the same pass.
//!
//! [`flow::decode`](crate::flow::decode) builds the whole value, then checks it. A
//! [`Decoder`] walks the bytes once with the topic's type and the source's [`Projection`]:
//! fields the steps read are built; fields only the type names are checked as they are
//! parsed and never built (a string is not copied, a number not stored); fields neither
//! names are skipped. The result is what [`Projection::apply`] keeps of the whole value.
//!
//! The walk decides nothing on its own: whatever it does not accept (a value of another
//! type, a missing field, a field given twice, bytes that are not JSON, and the rare forms it
//! leaves alone: `-0`, integers beyond 64 bits, floats beyond `f64`, surrogate escapes,
//! escaped field names, nesting deeper than 100) is decoded again the exact way
//! (`serde_json`), which accepts it or gives the reason. The walk reads JSON as `serde_json`
//! does: the same numbers (integers as `u64` or negative `i64`, floats correctly rounded),
//! the last of a field given twice in a value built whole.
//!
//! ```text
//!  {"sensor":"s-1","temp":31.5,"ts":17}   type {sensor: string, temp: f64, ts: i64}
//!                                          steps read value.temp
//!      sensor: checked as a string, not copied
//!      temp:   built                          ──▶  {"temp": 31.5}
//!      ts:     checked as an i64, not stored
//! ```

use std::borrow::Cow;

use eddy_dataflow::model::{Primitive, TypeDef};
use eddy_types::Projection;
use serde_json::{Map, Number, Value};

/// Decodes values of one type into one projection.
#[derive(Debug)]
pub(crate) struct Decoder {
    root: Node,
}

/// What to do with one value.
#[derive(Debug)]
enum Node {
    /// Neither typed nor read: skipped.
    Skip,
    /// Read whole: built, then checked against the type, if any.
    Whole(Option<TypeDef>),
    /// Typed, not read: checked while parsed.
    Primitive(Primitive),
    /// A list, not read: each item checked while parsed.
    List(Box<Node>),
    /// An object of a declared type: read in part or only checked.
    Object(Box<ObjectNode>),
}

#[derive(Debug)]
struct ObjectNode {
    /// The fields typed or read, sorted by name; the others are skipped.
    fields: Vec<(Box<str>, Node)>,
    /// The bits (by index in `fields`) of the fields the type declares: all must be there.
    required: u64,
    /// Whether the object is built (some of its fields are read) or only checked.
    built: bool,
}

impl Node {
    /// Whether the walk builds the value (it is read), rather than only checking or
    /// skipping it.
    fn builds(&self) -> bool {
        match self {
            Node::Whole(_) => true,
            Node::Object(object) => object.built,
            Node::Skip | Node::Primitive(_) | Node::List(_) => false,
        }
    }
}

/// The most fields an object may have typed or read for the walk to track them in a `u64`.
const MAX_FIELDS: usize = 64;

impl Decoder {
    /// A decoder for values of `value_type` of which the steps read `projection`, or `None`
    /// when the walk would gain nothing (the whole value is read) or cannot follow the type
    /// (a name not resolved, an object of more than 64 fields).
    pub(crate) fn new(value_type: &TypeDef, projection: &Projection) -> Option<Decoder> {
        if projection.is_whole() {
            return None;
        }
        Some(Decoder { root: node(Some(value_type), Some(projection))? })
    }

    /// The projected value of `bytes`, or `None` when the walk does not accept them (decode
    /// them the exact way then).
    #[cfg(test)]
    pub(crate) fn decode(&self, bytes: &[u8]) -> Option<Value> {
        self.decode_into(bytes, Value::Null)
    }

    /// [`decode`](Self::decode), written into `spare`, a value the steps are done with: when
    /// both are objects, its fields are overwritten in place (a string keeps its buffer) and
    /// those this record does not have are removed, so its map and names are not built
    /// again. The result is the same as `decode`'s.
    pub(crate) fn decode_into(&self, bytes: &[u8], spare: Value) -> Option<Value> {
        let mut scan = Scan::new(std::str::from_utf8(bytes).ok()?);
        let value = match (&self.root, spare) {
            (Node::Object(object), Value::Object(map)) if object.built => scan.object(object, map)?,
            _ => scan.node(&self.root)?,
        };
        scan.whitespace();
        (scan.at == scan.bytes.len()).then_some(value).flatten()
    }
}

/// The node for a value of type `ty` (`None`: not typed) of which `read` is read (`None`:
/// nothing).
fn node(ty: Option<&TypeDef>, read: Option<&Projection>) -> Option<Node> {
    Some(match (ty, read) {
        (None, None) => Node::Skip,
        (_, Some(Projection::Whole)) => Node::Whole(ty.cloned()),
        // Of a value that is not an object, a projection keeps all; with no type, the value
        // may be anything, so it is kept whole (the steps read the same parts of it).
        (None, Some(Projection::Fields(_)))
        | (Some(TypeDef::Primitive(_) | TypeDef::List(_)), Some(Projection::Fields(_))) => {
            Node::Whole(ty.cloned())
        }
        (Some(TypeDef::Primitive(primitive)), None) => Node::Primitive(*primitive),
        (Some(TypeDef::List(items)), None) => Node::List(Box::new(node(Some(items), None)?)),
        (Some(TypeDef::Named(_)), _) => return None,
        (Some(TypeDef::Object(properties)), read) => {
            let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
            if let Some(Projection::Fields(fields)) = read {
                names.extend(fields.iter().map(|(name, _)| &**name));
            }
            names.sort_unstable();
            names.dedup();
            if names.len() > MAX_FIELDS {
                return None;
            }
            let mut required = 0;
            let mut fields = Vec::with_capacity(names.len());
            for (index, name) in names.into_iter().enumerate() {
                let ty = properties.get(name);
                if ty.is_some() {
                    required |= 1 << index;
                }
                fields.push((name.into(), node(ty, read.and_then(|read| read.field(name)))?));
            }
            Node::Object(Box::new(ObjectNode { fields, required, built: read.is_some() }))
        }
    })
}

/// How deep arrays and objects may nest before the walk leaves a value to the exact decoding
/// (which allows 128).
const MAX_DEPTH: u32 = 100;

/// A cursor over one value's JSON text (valid UTF-8, checked once up front).
struct Scan<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    depth: u32,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Scan<'a> {
        Scan { text, bytes: text.as_bytes(), at: 0, depth: 0 }
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.whitespace();
        self.bytes.get(self.at).copied()
    }

    /// Consumes `byte` after whitespace.
    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.bytes[self.at..].starts_with(word.as_bytes()).then(|| self.at += word.len())
    }

    /// The value at the cursor as `node` says: `Some(None)` when it is checked or skipped,
    /// `None` when the walk does not accept it.
    fn node(&mut self, node: &Node) -> Option<Option<Value>> {
        match node {
            Node::Skip => self.skip().map(|()| None),
            Node::Whole(ty) => {
                let value = self.value()?;
                ty.as_ref().is_none_or(|ty| ty.matches(&value)).then_some(Some(value))
            }
            Node::Primitive(primitive) => {
                let fits = match self.peek()? {
                    // No rule looks inside a string: the empty one (no allocation) stands
                    // for all.
                    b'"' => self.string().is_some() && primitive.fits(&Value::String(String::new())),
                    // Only `bytes` takes a list (of integers 0–255): rare enough to build.
                    b'[' | b'{' => primitive.fits(&self.value()?),
                    _ => primitive.fits(&self.scalar()?),
                };
                fits.then_some(None)
            }
            Node::List(items) => {
                self.nested(b'[', b']', |scan| scan.node(items).map(drop))?;
                Some(None)
            }
            Node::Object(object) => self.object(object, Map::new()),
        }
    }

    /// The value at the cursor, which `node` builds, written into `slot` (a value of an
    /// earlier record): a string into the string there, anything else built anew.
    fn node_into(&mut self, node: &Node, slot: &mut Value) -> Option<()> {
        if let (Node::Whole(ty), Value::String(text), Some(b'"')) = (node, &mut *slot, self.peek()) {
            let read = self.string()?;
            text.clear();
            text.push_str(&read);
            return ty.as_ref().is_none_or(|ty| ty.matches(slot)).then_some(());
        }
        *slot = self.node(node)??;
        Some(())
    }

    /// An object at the cursor, its fields built into `built` (empty, or the map of an
    /// earlier record's value, whose entries are overwritten and, if this record lacks
    /// them, removed).
    fn object(&mut self, object: &ObjectNode, mut built: Map<String, Value>) -> Option<Option<Value>> {
        let mut seen = 0u64;
        // The fields written into `built` by this record, by index.
        let mut written = 0u64;
        // Values of a topic mostly give their fields in one order: the field after the last
        // one found is tried first, before a search.
        let mut next = 0;
        self.nested(b'{', b'}', |scan| {
            // A name with escapes is left to the exact decoding.
            let Cow::Borrowed(name) = scan.string()? else { return None };
            scan.eat(b':')?;
            let index = match object.fields.get(next) {
                Some((field, _)) if **field == *name => next,
                _ => match object.fields.binary_search_by(|(field, _)| (**field).cmp(name)) {
                    Ok(index) => index,
                    Err(_) => return scan.skip(),
                },
            };
            next = index + 1;
            let bit = 1 << index;
            if seen & bit != 0 {
                // Which of the two counts is the exact decoding's to say.
                return None;
            }
            seen |= bit;
            let (name, node) = &object.fields[index];
            if !node.builds() {
                return scan.node(node).map(drop);
            }
            match built.get_mut(&**name) {
                Some(slot) => scan.node_into(node, slot)?,
                None => {
                    built.insert(String::from(&**name), scan.node(node)??);
                }
            }
            written |= bit;
            Some(())
        })?;
        if built.len() != written.count_ones() as usize {
            // Fields of the earlier record this one does not have.
            built.retain(|name, _| {
                object
                    .fields
                    .binary_search_by(|(field, _)| (**field).cmp(name.as_str()))
                    .is_ok_and(|index| written & (1 << index) != 0)
            });
        }
        (seen & object.required == object.required).then_some(object.built.then_some(Value::Object(built)))
    }

    /// An array (`open` `[`) or object (`{`) at the cursor, `item` called for each element or
    /// field (at its name).
    fn nested(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(open)?;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        if self.peek()? == close {
            self.at += 1;
        } else {
            loop {
                item(self)?;
                match self.peek()? {
                    b',' => self.at += 1,
                    byte if byte == close => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// Checks the value at the cursor is JSON the walk accepts, building nothing.
    fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'[' => self.nested(b'[', b']', Scan::skip),
            b'{' => self.nested(b'{', b'}', |scan| {
                scan.string()?;
                scan.eat(b':')?;
                scan.skip()
            }),
            _ => self.scalar().map(drop),
        }
    }

    /// The value at the cursor, built.
    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            b'"' => Some(Value::String(self.string()?.into_owned())),
            b'[' => {
                let mut items = Vec::new();
                self.nested(b'[', b']', |scan| scan.value().map(|item| items.push(item)))?;
                Some(Value::Array(items))
            }
            b'{' => {
                let mut fields = Map::new();
                self.nested(b'{', b'}', |scan| {
                    let name = scan.string()?.into_owned();
                    scan.eat(b':')?;
                    // The last of a field given twice stands, as in the exact decoding.
                    fields.insert(name, scan.value()?);
                    Some(())
                })?;
                Some(Value::Object(fields))
            }
            _ => self.scalar(),
        }
    }

    /// A literal or a number at the cursor.
    fn scalar(&mut self) -> Option<Value> {
        match self.peek()? {
            b't' => self.literal("true").map(|()| Value::Bool(true)),
            b'f' => self.literal("false").map(|()| Value::Bool(false)),
            b'n' => self.literal("null").map(|()| Value::Null),
            _ => self.number().map(Value::Number),
        }
    }

    /// A number at the cursor, as `serde_json` reads it: an integer without fraction or
    /// exponent as `u64`, or as `i64` when negative; anything else as the nearest `f64`.
    fn number(&mut self) -> Option<Number> {
        let start = self.at;
        let negative = self.bytes.get(self.at) == Some(&b'-');
        self.at += usize::from(negative);
        let digits = self.at;
        let mut significand: u64 = 0;
        let mut overflow = false;
        while let Some(&digit @ b'0'..=b'9') = self.bytes.get(self.at) {
            match significand.checked_mul(10).and_then(|n| n.checked_add(u64::from(digit - b'0'))) {
                Some(n) => significand = n,
                None => overflow = true,
            }
            self.at += 1;
        }
        let integer_digits = self.at - digits;
        if integer_digits == 0 || (integer_digits > 1 && self.bytes[digits] == b'0') {
            return None;
        }
        let mut float = false;
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            float = true;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            float = true;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            self.digits()?;
        }
        if float {
            let parsed: f64 = self.text[start..self.at].parse().ok()?;
            return parsed.is_finite().then(|| Number::from_f64(parsed)).flatten();
        }
        match (overflow, negative) {
            (true, _) => None,
            (false, false) => Some(Number::from(significand)),
            // `-0` is a float to `serde_json`; it is left to it.
            (false, true) if significand == 0 => None,
            (false, true) => 0i64.checked_sub_unsigned(significand).map(Number::from),
        }
    }

    /// At least one digit.
    fn digits(&mut self) -> Option<()> {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.bytes.get(self.at) {
            self.at += 1;
        }
        (self.at > start).then_some(())
    }

    /// A string at the cursor, borrowed when it has no escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let start = self.at;
        loop {
            match *self.bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(Cow::Borrowed(&self.text[start..self.at - 1]));
                }
                b'\\' => break,
                0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
        let mut owned = String::from(&self.text[start..self.at]);
        loop {
            let run = self.at;
            while let Some(&byte) = self.bytes.get(self.at) {
                if matches!(byte, b'"' | b'\\' | 0..=0x1f) {
                    break;
                }
                self.at += 1;
            }
            owned.push_str(&self.text[run..self.at]);
            match *self.bytes.get(self.at)? {
                b'"' => {
                    self.at += 1;
                    return Some(Cow::Owned(owned));
                }
                b'\\' => {
                    let escaped = *self.bytes.get(self.at + 1)?;
                    self.at += 2;
                    owned.push(match escaped {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = self.text.get(self.at..self.at + 4)?;
                            if !hex.bytes().all(|digit| digit.is_ascii_hexdigit()) {
                                return None;
                            }
                            self.at += 4;
                            // A surrogate (half of a pair, or alone) is left to the exact
                            // decoding.
                            char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
                        }
                        _ => return None,
                    });
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests;
