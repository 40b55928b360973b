//! A record in flight through a service: decoded value, key, event time and where it came
//! from. Values are decoded once at the source and encoded once at the sink; operators in
//! between work on the JSON value.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};
use eddy_dataflow::model::{Converter, TypeDef};
use eddy_types::{Offset, PartitionId, Record, Timestamp};
use serde_json::Value;

/// Where a record was read: reported with it if it ends on the dead-letter topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    /// Index of the source in its service's sources.
    pub(crate) source: u32,
    pub(crate) partition: PartitionId,
    /// The record's offset; for a generator source, the event number.
    pub(crate) offset: Offset,
}

/// One record between operators.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Value,
    pub(crate) timestamp: Timestamp,
    pub(crate) origin: Origin,
    /// The value holds only the parts the source's steps read (`Source::projection`): a
    /// dead letter takes the whole value from the origin again.
    pub(crate) projected: bool,
}

impl Flow {
    /// The record with the result of a step that replaces its value.
    pub(crate) fn replace_value(&mut self, value: Value) {
        self.value = value;
        self.projected = false;
    }
}

/// Decodes a stored value by the topic's converter and checks it against the topic's type.
pub(crate) fn decode(bytes: &[u8], converter: Converter, value_type: &TypeDef) -> Result<Value, String> {
    let value = match converter {
        Converter::Json => {
            serde_json::from_slice(bytes).map_err(|e| format!("value is not valid JSON: {e}"))?
        }
        Converter::Raw => match std::str::from_utf8(bytes) {
            Ok(text) => Value::String(text.to_owned()),
            Err(e) => return Err(format!("raw value is not UTF-8: {e}")),
        },
    };
    if converter == Converter::Json {
        value_type
            .check(&value)
            .map_err(|reason| format!("value does not match the topic's type: {reason}"))?;
    }
    Ok(value)
}

/// Sink record values are cut from shared chunks of this many bytes.
const CHUNK_BYTES: usize = 64 * 1024;

/// Filled chunks kept for reuse, at most: 64 MiB of them.
const MAX_FILLED_CHUNKS: usize = 1024;

/// Where a worker encodes sink records: each value is written into one reused scratch
/// buffer, then copied into the current chunk and cut off as [`Bytes`] sharing that chunk.
/// A record then costs a copy of its bytes and a reference count, not an allocation sized
/// for the largest record. A filled chunk waits in a queue until every record cut from it
/// was dropped (its epoch committed), then takes records again: in a steady run chunks
/// are reused rather than allocated anew, which costs the system fresh zeroed pages.
#[derive(Debug, Default)]
pub(crate) struct SinkArena {
    scratch: Vec<u8>,
    chunk: Option<BytesMut>,
    /// Filled chunks, oldest first.
    filled: VecDeque<BytesMut>,
}

impl SinkArena {
    /// The scratch buffer, emptied, to encode one value into.
    pub(crate) fn scratch(&mut self) -> &mut Vec<u8> {
        self.scratch.clear();
        &mut self.scratch
    }

    /// What was written into the scratch buffer, as a record value.
    pub(crate) fn cut(&mut self) -> Bytes {
        let len = self.scratch.len();
        let chunk = match self.chunk.take() {
            Some(chunk) if chunk.capacity() >= len => chunk,
            full => self.next_chunk(full, len),
        };
        let chunk = self.chunk.insert(chunk);
        chunk.extend_from_slice(&self.scratch);
        chunk.split().freeze()
    }

    /// A chunk with room for `len` bytes, the current one being `full`: the oldest filled
    /// chunk when nothing cut from it is alive any more, else a new one.
    fn next_chunk(&mut self, full: Option<BytesMut>, len: usize) -> BytesMut {
        if let Some(full) = full {
            self.filled.push_back(full);
        }
        if self.filled.len() > MAX_FILLED_CHUNKS {
            self.filled.pop_front();
        }
        if let Some(mut oldest) = self.filled.pop_front() {
            if oldest.try_reclaim(len) {
                return oldest;
            }
            // Still in use: look at the next one next time.
            self.filled.push_back(oldest);
        }
        BytesMut::with_capacity(CHUNK_BYTES.max(len))
    }

    /// Encodes a value for a sink topic, after checking it against the topic's type.
    pub(crate) fn encode(
        &mut self,
        value: &Value,
        converter: Converter,
        value_type: &TypeDef,
    ) -> Result<Bytes, String> {
        match converter {
            Converter::Json => {
                value_type
                    .check(value)
                    .map_err(|reason| format!("result does not match the sink's type: {reason}"))?;
                serde_json::to_writer(self.scratch(), value)
                    .map_err(|e| format!("cannot encode result: {e}"))?;
            }
            Converter::Raw => match value {
                Value::String(text) => self.scratch().extend_from_slice(text.as_bytes()),
                other => serde_json::to_writer(self.scratch(), other)
                    .map_err(|e| format!("cannot encode result: {e}"))?,
            },
        }
        Ok(self.cut())
    }
}

/// The key bytes for a key expression's result: strings as their UTF-8, numbers and
/// booleans as their JSON text. Anything else has no key form. A string's buffer becomes the
/// key's, uncopied.
pub(crate) fn key_bytes(value: Value) -> Result<Bytes, String> {
    match value {
        Value::String(text) => Ok(Bytes::from(text.into_bytes())),
        Value::Number(number) => Ok(Bytes::from(number.to_string())),
        Value::Bool(flag) => Ok(Bytes::from(flag.to_string())),
        other => Err(format!("a key must be a string, number or boolean, got {other}")),
    }
}

/// The value `key` is bound to in expressions: the key as a string, or `null`.
pub(crate) fn key_value(key: Option<&Bytes>) -> Value {
    match key {
        Some(key) => Value::String(String::from_utf8_lossy(key).into_owned()),
        None => Value::Null,
    }
}

/// Where and why a record failed: the service and operator, the reason, and where the
/// record came from: `("topic", <topic name>)`, or `("source", "nexmark:<id>")` for a
/// generator source.
pub(crate) struct Failure<'a> {
    pub(crate) service: &'a str,
    pub(crate) operator: &'a str,
    pub(crate) reason: &'a str,
    pub(crate) source: (&'static str, &'a str),
}

/// A record for the dead-letter topic: what failed, where and why, with the value as it was
/// when it failed:
///
/// ```text
/// {"service", "operator", "reason", "topic": <name>, "partition", "offset", "value"}
/// ```
///
/// A record of a generator source has `"source": "nexmark:<id>"` instead of `topic`, and its
/// event number as `offset`.
pub(crate) fn dead_letter(failure: &Failure<'_>, flow: Flow) -> Record {
    let (field, name) = failure.source;
    let mut body = serde_json::json!({
        "service": failure.service,
        "operator": failure.operator,
        "reason": failure.reason,
        "partition": flow.origin.partition,
        "offset": flow.origin.offset,
        "value": flow.value,
    });
    if let Value::Object(fields) = &mut body {
        fields.insert(field.to_owned(), Value::from(name));
    }
    Record::new(flow.key, body.to_string(), flow.timestamp)
}

/// A dead letter for bytes that never decoded: the value is kept as (lossy) text.
pub(crate) fn raw_value(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_dataflow::model::Primitive;
    use serde_json::json;

    fn reading() -> TypeDef {
        TypeDef::Object([("temp".to_owned(), TypeDef::Primitive(Primitive::F64))].into_iter().collect())
    }

    #[test]
    fn json_values_are_checked_against_the_topic_type() {
        assert_eq!(decode(br#"{"temp": 1.5}"#, Converter::Json, &reading()).unwrap(), json!({"temp": 1.5}));
        let err = decode(br#"{"temp": "hot"}"#, Converter::Json, &reading()).unwrap_err();
        assert!(err.contains("field `temp`"), "{err}");
        let err = decode(b"{not json", Converter::Json, &reading()).unwrap_err();
        assert!(err.starts_with("value is not valid JSON"), "{err}");
    }

    #[test]
    fn raw_values_are_text() {
        assert_eq!(decode(b"hello", Converter::Raw, &reading()).unwrap(), json!("hello"));
        assert!(decode(&[0xff, 0xfe], Converter::Raw, &reading()).is_err());
    }

    #[test]
    fn a_chunk_is_reused_once_every_record_cut_from_it_is_dropped() {
        let mut arena = SinkArena::default();
        let record = vec![b'x'; CHUNK_BYTES / 4];
        let cut = |arena: &mut SinkArena| {
            arena.scratch().extend_from_slice(&record);
            arena.cut()
        };
        let first: Vec<Bytes> = (0..4).map(|_| cut(&mut arena)).collect();
        let first_chunk = first[0].as_ptr();
        // The first chunk is full and in use: the next record goes to a new one.
        let second = cut(&mut arena);
        assert_ne!(second.as_ptr(), first_chunk);
        assert!(first.iter().all(|value| value[..] == record[..]));
        drop(first);
        let more: Vec<Bytes> = (0..4).map(|_| cut(&mut arena)).collect();
        assert_eq!(more[3].as_ptr(), first_chunk, "the first chunk, free again, takes records");
        assert!(more.iter().chain([&second]).all(|value| value[..] == record[..]));
        // A record larger than a chunk gets a chunk of its own.
        arena.scratch().extend_from_slice(&vec![b'y'; CHUNK_BYTES * 2]);
        assert_eq!(arena.cut().len(), CHUNK_BYTES * 2);
    }

    #[test]
    fn keys_are_strings_numbers_or_booleans() {
        assert_eq!(key_bytes(json!("roof")).unwrap(), Bytes::from_static(b"roof"));
        assert_eq!(key_bytes(json!(42)).unwrap(), Bytes::from_static(b"42"));
        assert!(key_bytes(json!({"a": 1})).is_err());
        assert!(key_bytes(Value::Null).is_err());
    }
}
