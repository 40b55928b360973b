//! Evaluating a compiled expression straight into JSON bytes, checked against a type as
//! they are written.
//!
//! [`Node::eval_json`] builds a `serde_json::Value` that a sink then checks and serialises
//! and drops: for a map literal that is a `String` per key, a map insert per entry and a
//! clone of every value selected from the bindings. [`Node::encode_json`] writes the same
//! bytes without building it: a map literal is written entry by entry, a list literal item by
//! item, a conditional only its taken branch, and a value that names JSON in the bindings
//! (`value.bid.extra`, `value['a'][0]`) is serialised from the borrowed `&Value`. Leaves
//! are written by serde_json itself, so numbers and escapes are formatted as
//! `serde_json::to_vec` formats them.
//!
//! The type is checked while writing: an object type pairs its declared properties with the
//! literal's keys (both sorted), so a missing property is seen once per map and each declared
//! property's value is checked, by [`TypeDef`]'s own rules, as it is written. Like the rest
//! of the fast path this is strict: any evaluation fallback, any value that does not match
//! its type and any shape it does not handle (a list literal for `bytes`, say) stops it with
//! [`Fallback`], and the caller evaluates the expression the ordinary way, which reports
//! what went wrong.

use serde::Serialize;
use serde_json::{Number, Value};

use super::{Binding, Fallback, NULL, Node, Result, Val, object_field, to_json, truth};
use crate::expr::Bindings;
use crate::model::TypeDef;

/// What an expression evaluated into bytes came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::expr) enum Written {
    /// A value, written.
    Value,
    /// `null`, not written (and not checked): a `filter-map` drops it.
    Null,
}

impl Node {
    /// Writes the JSON of this expression's value on `bindings` to `out`, checking it against
    /// `value_type`. A `null` result is neither checked nor written: [`Written::Null`].
    ///
    /// # Errors
    /// [`Fallback`] as soon as evaluation falls back, the value does not match, or it takes
    /// a shape this writer leaves to the ordinary path; `out` may then hold part of the value.
    pub(in crate::expr) fn encode_json<'a>(
        &'a self,
        bindings: &Bindings<'a>,
        value_type: &TypeDef,
        out: &mut Vec<u8>,
    ) -> Result<Written> {
        match taken_branch(self, bindings)? {
            node @ (Node::Map(_) | Node::List(_)) => encode(node, bindings, Some(value_type), out)?,
            other => match locate(other, bindings)? {
                Some(Value::Null) => return Ok(Written::Null),
                Some(json) => write_checked(json, Some(value_type), out)?,
                None => match other.eval(bindings)? {
                    Val::Null => return Ok(Written::Null),
                    value => encode_val(value, Some(value_type), out)?,
                },
            },
        }
        Ok(Written::Value)
    }
}

/// The node a chain of conditionals leads to on `bindings`.
fn taken_branch<'a>(mut node: &'a Node, bindings: &Bindings<'a>) -> Result<&'a Node> {
    while let Node::Conditional(condition, then, otherwise) = node {
        node = if truth(condition.eval(bindings)?)? { then } else { otherwise };
    }
    Ok(node)
}

/// Writes `node`'s value, checked against `value_type` when there is one.
fn encode<'a>(
    node: &'a Node,
    bindings: &Bindings<'a>,
    value_type: Option<&TypeDef>,
    out: &mut Vec<u8>,
) -> Result<()> {
    match taken_branch(node, bindings)? {
        Node::Map(entries) => {
            let mut properties = match value_type {
                None => None,
                Some(TypeDef::Object(properties)) => Some(properties.iter().peekable()),
                // No other type matches an object.
                Some(_) => return Err(Fallback),
            };
            out.push(b'{');
            for (index, (key, node)) in entries.iter().enumerate() {
                // Both are sorted by key: a declared property that sorts before this entry's
                // key is not in the literal.
                let mut entry_type = None;
                if let Some(properties) = &mut properties {
                    if let Some((_, def)) = properties.next_if(|(name, _)| name.as_str() == &**key) {
                        entry_type = Some(def);
                    } else if properties.peek().is_some_and(|(name, _)| name.as_str() < &**key) {
                        return Err(Fallback);
                    }
                }
                if index > 0 {
                    out.push(b',');
                }
                write_str(key, out)?;
                out.push(b':');
                encode(node, bindings, entry_type, out)?;
            }
            if properties.is_some_and(|mut rest| rest.next().is_some()) {
                return Err(Fallback);
            }
            out.push(b'}');
            Ok(())
        }
        Node::List(items) => {
            let item_type = match value_type {
                None => None,
                Some(TypeDef::List(item_type)) => Some(&**item_type),
                // `bytes` also takes a list (of small integers): left to the ordinary path.
                Some(_) => return Err(Fallback),
            };
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                encode(item, bindings, item_type, out)?;
            }
            out.push(b']');
            Ok(())
        }
        other => match locate(other, bindings)? {
            Some(json) => write_checked(json, value_type, out),
            None => encode_val(other.eval(bindings)?, value_type, out),
        },
    }
}

/// Writes a value the expression computed.
fn encode_val(value: Val<'_>, value_type: Option<&TypeDef>, out: &mut Vec<u8>) -> Result<()> {
    match value {
        Val::Str(text) => {
            if value_type.is_some_and(|def| !def.matches_any_string()) {
                return Err(Fallback);
            }
            write_str(&text, out)
        }
        Val::Null => write_checked(&Value::Null, value_type, out),
        Val::Bool(b) => write_checked(&Value::Bool(b), value_type, out),
        Val::Int(i) => write_checked(&Value::from(i), value_type, out),
        Val::UInt(u) => write_checked(&Value::from(u), value_type, out),
        Val::Double(f) => {
            write_checked(&Value::Number(Number::from_f64(f).ok_or(Fallback)?), value_type, out)
        }
        // Lists and maps the expression made itself (`[value.l][0]`, `{'a': m}.a`): rare,
        // written from the value the ordinary path would build.
        other @ (Val::Array(_) | Val::Object(_) | Val::List(_) | Val::Map(_)) => {
            write_checked(&to_json(other)?, value_type, out)
        }
    }
}

/// Writes `json` after checking it against `value_type`.
fn write_checked(json: &Value, value_type: Option<&TypeDef>, out: &mut Vec<u8>) -> Result<()> {
    if value_type.is_some_and(|def| !def.matches(json)) {
        return Err(Fallback);
    }
    match json {
        Value::String(text) => write_str(text, out),
        other => write(other, out),
    }
}

/// Writes `text` as a JSON string, byte for byte as [`write`] does: a string with nothing to
/// escape is copied whole between its quotes, rather than looked at byte by byte.
fn write_str(text: &str, out: &mut Vec<u8>) -> Result<()> {
    if may_need_escapes(text.as_bytes()) {
        return write(text, out);
    }
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
    Ok(())
}

/// Whether `bytes` hold a byte JSON escapes: a control character (below 0x20), `"` or `\`.
/// Looks at eight bytes at a time; never says no when there is one.
fn may_need_escapes(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH_BITS: u64 = ONES << 7;
    // A byte below `n` (at most 0x80) borrows in `word - n × ONES` and leaves its high bit
    // set where `word`'s was clear: no byte is missed.
    let below = |word: u64, n: u8| word.wrapping_sub(u64::from(n) * ONES) & !word & HIGH_BITS != 0;
    let has = |word: u64, byte: u8| below(word ^ (u64::from(byte) * ONES), 1);
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_ne_bytes(word);
        if below(word, 0x20) || has(word, b'"') || has(word, b'\\') {
            return true;
        }
    }
    words.remainder().iter().any(|&byte| byte < 0x20 || byte == b'"' || byte == b'\\')
}

/// Writes `value` as `serde_json::to_vec` writes it.
fn write<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<()> {
    value.serialize(&mut serde_json::Serializer::new(out)).map_err(|_| Fallback)
}

/// The JSON `node` names in the bindings, borrowed, when it names some: a binding, or a
/// field or element of one. `None`: the node computes its value (evaluate it instead). It
/// fails exactly where evaluating the node would.
fn locate<'a>(node: &'a Node, bindings: &Bindings<'a>) -> Result<Option<&'a Value>> {
    Ok(match node {
        Node::Binding(binding) => Some(match binding {
            Binding::Value => bindings.value,
            Binding::Key => bindings.key.unwrap_or(&NULL),
            Binding::Timestamp => return Ok(None),
            Binding::State => bindings.state.ok_or(Fallback)?,
            Binding::Window => bindings.window.ok_or(Fallback)?,
            Binding::Entries => bindings.entries.ok_or(Fallback)?,
            Binding::Other => bindings.other.ok_or(Fallback)?,
            // The later of two bindings of a name, as `Binding::resolve` takes it.
            Binding::Named(name) => bindings
                .named
                .iter()
                .rev()
                .find(|(bound, _)| *bound == &**name)
                .map(|(_, value)| *value)
                .ok_or(Fallback)?,
        }),
        Node::Select(operand, field) => match locate(operand, bindings)? {
            Some(Value::Object(fields)) => Some(object_field(fields, field).ok_or(Fallback)?),
            Some(_) => return Err(Fallback),
            None => None,
        },
        Node::Index(operand, index) => match locate(operand, bindings)? {
            Some(operand) => Some(match (operand, index.eval(bindings)?) {
                (Value::Object(fields), Val::Str(key)) => object_field(fields, &key).ok_or(Fallback)?,
                (Value::Array(items), Val::Int(i)) => {
                    usize::try_from(i).ok().and_then(|i| items.get(i)).ok_or(Fallback)?
                }
                _ => return Err(Fallback),
            }),
            None => None,
        },
        _ => None,
    })
}

#[cfg(test)]
mod tests;
