//! How the runtime lays out what it commits in the state store.
//!
//! ```text
//! service (state store)   state          key        value (JSON)
//! <namespace>/<type>      <state name>   <id>       {"typename": T, "value"|"text"|"hex": …}
//! ~functions              invocations    <address>  0x01, then the batch in flight and the backlog
//!                                                   as length-delimited protobuf messages
//! ~functions              registered     <fn type>  [StateSpec]
//! ~functions              delayed        <id:020>   {"due_ms", "target", "message", "token"?}
//! ~functions              in-transit     <shard>    [{"target", "message"}]
//! ```
//!
//! Function state is keyed by function type, state name and id, so
//! `eddy state get example/greeter seen ann` reads the state `seen` of `example/greeter/ann`.
//! A function type always holds a `/`, so the runtime's own service `~functions` never clashes
//! with one. Values are JSON so that `eddy state` prints them: the SDKs' primitive types show
//! their value (`{"typename": "io.statefun.types/int", "value": 3}`), UTF-8 values (the SDKs'
//! JSON types) their text, anything else its bytes in hex. Each form gives back the exact bytes.
//! The invocation queues are the exception: they are rewritten every epoch while messages wait,
//! so they are protobuf (`InvocationBatchRequest`s of the request-reply protocol), tagged by a
//! first byte that JSON never starts with; queues stored as JSON by earlier versions still read.
//! `in-transit` holds the messages one shard sent another before its snapshot of an epoch
//! that arrived after the receiver's own (the channel state of the epoch's consistent cut);
//! a restart delivers them again.
//! Ingress positions are the store's source offsets (service = the ingress id) and the ends of
//! egress partitions its sink ends.

use bytes::Bytes;
use eddy_statefun::invocation::Message;
use eddy_statefun::proto::reqreply::to_function;
use eddy_statefun::value::typenames;
use eddy_statefun::{Address, Batch, TypedValue};
use prost::Message as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The state-store service holding the runtime's own entries.
pub const RUNTIME_SERVICE: &str = "~functions";
/// Per address: the batch in flight and the backlog.
pub const INVOCATIONS: &str = "invocations";
/// Per function type: the states its functions declared.
pub const REGISTERED: &str = "registered";
/// Per delayed message not yet delivered: when, to whom, what.
pub const DELAYED: &str = "delayed";
/// Per shard: the messages in transit to it when the last epoch's cut was taken.
pub const TRANSIT: &str = "in-transit";

/// The invocation state of one address, as committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredQueue {
    /// The batch in flight.
    pub(crate) in_flight: Option<Batch>,
    /// The messages waiting behind it.
    pub(crate) backlog: Vec<Message>,
}

/// The first byte of a queue in its binary form.
const QUEUE_FORMAT: u8 = 1;

impl StoredQueue {
    /// The committed form of an address's queue: [`QUEUE_FORMAT`], then the batch in flight
    /// (no target when there is none) and the backlog, each a length-delimited
    /// `InvocationBatchRequest` without state.
    pub(crate) fn encode<'a>(
        target: &Address,
        in_flight: Option<&Batch>,
        backlog: impl Iterator<Item = &'a Message>,
    ) -> Vec<u8> {
        let invocation = |message: &Message| to_function::Invocation {
            caller: message.caller.as_ref().map(Address::to_proto),
            argument: Some(message.argument.to_proto()),
        };
        let in_flight = to_function::InvocationBatchRequest {
            target: in_flight.map(|batch| batch.target.to_proto()),
            state: Vec::new(),
            invocations: in_flight
                .map(|batch| batch.messages.iter().map(invocation).collect())
                .unwrap_or_default(),
        };
        let backlog = to_function::InvocationBatchRequest {
            target: Some(target.to_proto()),
            state: Vec::new(),
            invocations: backlog.map(invocation).collect(),
        };
        let mut bytes = Vec::with_capacity(1 + in_flight.encoded_len() + backlog.encoded_len() + 20);
        bytes.push(QUEUE_FORMAT);
        // Writing into a Vec cannot run out of room.
        let _ = in_flight.encode_length_delimited(&mut bytes);
        let _ = backlog.encode_length_delimited(&mut bytes);
        bytes
    }

    /// Reads a committed queue, binary or (from earlier versions) JSON.
    ///
    /// # Errors
    /// Why the bytes are no queue.
    pub(crate) fn decode(bytes: &[u8]) -> Result<StoredQueue, String> {
        match bytes.first() {
            Some(&QUEUE_FORMAT) => {}
            _ => return serde_json::from_slice(bytes).map_err(|error| error.to_string()),
        }
        let mut rest = &bytes[1..];
        let mut next = || {
            to_function::InvocationBatchRequest::decode_length_delimited(&mut rest)
                .map_err(|error| error.to_string())
        };
        let (in_flight, backlog) = (next()?, next()?);
        let messages = |request: to_function::InvocationBatchRequest| -> Result<Vec<Message>, String> {
            request
                .invocations
                .into_iter()
                .map(|invocation| {
                    let caller = invocation
                        .caller
                        .as_ref()
                        .map(Address::from_proto)
                        .transpose()
                        .map_err(|error| format!("a caller: {error}"))?;
                    let argument = invocation.argument.ok_or("a message without an argument")?;
                    Ok(Message { caller, argument: TypedValue::from_proto(argument) })
                })
                .collect()
        };
        let in_flight = match &in_flight.target {
            None => None,
            Some(target) => {
                let target = Address::from_proto(target).map_err(|error| format!("a target: {error}"))?;
                Some(Batch { target, messages: messages(in_flight)? })
            }
        };
        Ok(StoredQueue { in_flight, backlog: messages(backlog)? })
    }
}

/// A pending delayed message, as committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredTimer {
    /// When it is due, in milliseconds since the Unix epoch.
    pub(crate) due_ms: i64,
    /// The receiver.
    pub(crate) target: Address,
    /// The message (its caller is the function that sent it).
    pub(crate) message: Message,
    /// The token that cancels it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<String>,
}

/// The key of a delayed message: its sequence number, zero-padded so keys sort by it.
pub(crate) fn timer_key(id: u64) -> String {
    format!("{id:020}")
}

/// A state value as the JSON the store keeps.
pub fn encode_value(value: &TypedValue) -> Vec<u8> {
    let (field, content) = match &value.value {
        None => ("absent", Value::Bool(true)),
        Some(bytes) => readable(value, bytes),
    };
    // `typename` first, whatever order the JSON map keeps.
    let mut json = br#"{"typename":"#.to_vec();
    json.extend_from_slice(Value::String(value.typename.clone()).to_string().as_bytes());
    json.extend_from_slice(format!(r#","{field}":{content}}}"#).as_bytes());
    json
}

/// [`encode_value`], with the time the value expires (ms since the Unix epoch) for a state
/// declared with a time to live: `{"typename": …, "value": …, "expires": 1700000000000}`.
pub fn encode_value_expiring(value: &TypedValue, expires: Option<i64>) -> Vec<u8> {
    let mut json = encode_value(value);
    if let Some(expires) = expires {
        json.pop(); // the closing brace
        json.extend_from_slice(format!(r#","expires":{expires}}}"#).as_bytes());
    }
    json
}

/// When a stored value expires, if it was stored with a time to live.
pub fn stored_expiry(json: &[u8]) -> Option<i64> {
    serde_json::from_slice::<Value>(json).ok()?.get("expires")?.as_i64()
}

/// The most readable form of `bytes` that gives them back exactly.
fn readable(value: &TypedValue, bytes: &Bytes) -> (&'static str, Value) {
    let primitive = match value.typename.as_str() {
        typenames::INT => value.as_int().ok().map(|v| (Value::from(v), TypedValue::int(v))),
        typenames::LONG => value.as_long().ok().map(|v| (Value::from(v), TypedValue::long(v))),
        typenames::BOOL => value.as_bool().ok().map(|v| (Value::from(v), TypedValue::bool(v))),
        typenames::STRING => value.as_string().ok().map(|v| (Value::from(v.clone()), TypedValue::string(&v))),
        _ => None,
    };
    // Only when encoding the value again gives the same bytes (protobuf allows other forms).
    if let Some((json, again)) = primitive
        && again.value.as_ref() == Some(bytes)
    {
        return ("value", json);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => ("text", Value::String(text.to_owned())),
        Err(_) => ("hex", Value::String(hex(bytes))),
    }
}

/// A state value from the JSON the store keeps.
///
/// # Errors
/// A description of what is wrong with `json`.
pub fn decode_value(json: &[u8]) -> Result<TypedValue, String> {
    let value: Value = serde_json::from_slice(json).map_err(|error| format!("not JSON: {error}"))?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let typename = object.get("typename").and_then(Value::as_str).ok_or("no `typename`")?.to_owned();
    if object.get("absent").and_then(Value::as_bool) == Some(true) {
        return Ok(TypedValue { typename, value: None });
    }
    if let Some(content) = object.get("value") {
        let wrong = || format!("a `{typename}` value that is not one: {content}");
        let typed = match typename.as_str() {
            typenames::INT => {
                TypedValue::int(content.as_i64().and_then(|v| i32::try_from(v).ok()).ok_or_else(wrong)?)
            }
            typenames::LONG => TypedValue::long(content.as_i64().ok_or_else(wrong)?),
            typenames::BOOL => TypedValue::bool(content.as_bool().ok_or_else(wrong)?),
            typenames::STRING => TypedValue::string(content.as_str().ok_or_else(wrong)?),
            _ => return Err(format!("`value` is only used for primitive types, not `{typename}`")),
        };
        return Ok(typed);
    }
    if let Some(text) = object.get("text").and_then(Value::as_str) {
        return Ok(TypedValue::new(typename, text.to_owned()));
    }
    if let Some(digits) = object.get("hex").and_then(Value::as_str) {
        return Ok(TypedValue::new(typename, unhex(digits).ok_or("`hex` is not hex digits")?));
    }
    Err("none of `value`, `text`, `hex` or `absent`".to_owned())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    text
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).and_then(|d| u8::try_from(d).ok());
    text.as_bytes().chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

/// A message in transit between shards, as committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredTransit {
    /// The receiver.
    pub(crate) target: Address,
    /// The message.
    pub(crate) message: Message,
}

/// The committed form of the messages in transit to one shard.
///
/// # Errors
/// A message that cannot be serialised.
pub(crate) fn encode_transit(messages: &[(Address, Message)]) -> serde_json::Result<Vec<u8>> {
    let stored: Vec<StoredTransit> = messages
        .iter()
        .map(|(target, message)| StoredTransit { target: target.clone(), message: message.clone() })
        .collect();
    serde_json::to_vec(&stored)
}

/// Reads the committed messages in transit to one shard.
///
/// # Errors
/// Why the bytes are not such a list.
pub(crate) fn decode_transit(bytes: &[u8]) -> Result<Vec<(Address, Message)>, String> {
    let stored: Vec<StoredTransit> = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
    Ok(stored.into_iter().map(|transit| (transit.target, transit.message)).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn address(id: &str) -> Address {
        Address::new("example/greeter".parse().unwrap(), id).unwrap()
    }

    #[test]
    fn queues_round_trip_in_their_binary_form_and_read_from_json() {
        let message =
            |caller: Option<Address>, text: &str| Message { caller, argument: TypedValue::string(text) };
        let absent =
            Message { caller: None, argument: TypedValue { typename: "a/b".to_owned(), value: None } };
        let batch =
            Batch { target: address("ann"), messages: vec![message(Some(address("bob")), "hi"), absent] };
        let backlog = vec![message(None, "later"), message(Some(address("cat")), "")];
        for (in_flight, backlog) in
            [(Some(batch.clone()), backlog.clone()), (None, backlog), (Some(batch), Vec::new())]
        {
            let encoded = StoredQueue::encode(&address("ann"), in_flight.as_ref(), backlog.iter());
            let decoded = StoredQueue::decode(&encoded).unwrap();
            assert_eq!(decoded, StoredQueue { in_flight: in_flight.clone(), backlog: backlog.clone() });
            let json = serde_json::to_vec(&StoredQueue { in_flight, backlog }).unwrap();
            assert_eq!(StoredQueue::decode(&json).unwrap(), decoded, "the JSON form of earlier versions");
        }
    }

    #[test]
    fn messages_in_transit_round_trip_and_damaged_ones_are_an_error() {
        let messages = vec![
            (address("ann"), Message { caller: Some(address("bob")), argument: TypedValue::int(3) }),
            (address("cat"), Message { caller: None, argument: TypedValue::string("hi") }),
        ];
        let encoded = encode_transit(&messages).unwrap();
        assert_eq!(decode_transit(&encoded).unwrap(), messages);
        assert_eq!(decode_transit(&encode_transit(&[]).unwrap()).unwrap(), []);
        for cut in 0..encoded.len() {
            assert!(decode_transit(&encoded[..cut]).is_err(), "cut at {cut}");
        }
        let error = decode_transit(br#"[{"target":"no-slashes","message":{}}]"#).unwrap_err();
        assert!(!error.is_empty());
    }

    #[test]
    fn a_damaged_queue_is_an_error() {
        let encoded = StoredQueue::encode(
            &address("ann"),
            None,
            [Message { caller: None, argument: TypedValue::string("x") }].iter(),
        );
        for cut in 1..encoded.len() {
            assert!(StoredQueue::decode(&encoded[..cut]).is_err(), "cut at {cut}");
        }
        assert!(StoredQueue::decode(b"").is_err());
        assert!(StoredQueue::decode(&[QUEUE_FORMAT, 0xff, 0xff]).is_err());
    }

    #[test]
    fn values_round_trip_in_their_most_readable_form() {
        let cases = [
            (TypedValue::int(-5), r#"{"typename":"io.statefun.types/int","value":-5}"#),
            (TypedValue::long(1 << 40), r#"{"typename":"io.statefun.types/long","value":1099511627776}"#),
            (TypedValue::bool(true), r#"{"typename":"io.statefun.types/bool","value":true}"#),
            (TypedValue::string("hé"), r#"{"typename":"io.statefun.types/string","value":"hé"}"#),
            (
                TypedValue::new("shop/Basket", r#"{"apple": 2}"#),
                r#"{"typename":"shop/Basket","text":"{\"apple\": 2}"}"#,
            ),
            (TypedValue::new("x/bin", vec![0, 0xff, 0x10]), r#"{"typename":"x/bin","hex":"00ff10"}"#),
            (TypedValue { typename: "x/none".into(), value: None }, r#"{"typename":"x/none","absent":true}"#),
            (
                TypedValue::double(1.5),
                r#"{"typename":"io.statefun.types/double","hex":"09000000000000f83f"}"#,
            ),
        ];
        for (value, json) in cases {
            let encoded = encode_value(&value);
            assert_eq!(String::from_utf8(encoded.clone()).unwrap(), json);
            assert_eq!(decode_value(&encoded).unwrap(), value);
        }
    }

    #[test]
    fn a_primitive_in_a_non_canonical_encoding_keeps_its_bytes() {
        // An int wrapper with its field repeated: decodes to the last, re-encodes shorter.
        let odd = TypedValue::new(typenames::INT, vec![0x0d, 1, 0, 0, 0, 0x0d, 2, 0, 0, 0]);
        assert_eq!(decode_value(&encode_value(&odd)).unwrap(), odd);
    }

    #[test]
    fn broken_stored_values_are_errors() {
        for broken in [
            &b"not json"[..],
            b"[]",
            b"{}",
            br#"{"typename":"a/b"}"#,
            br#"{"typename":"a/b","hex":"abc"}"#,
            br#"{"typename":"a/b","hex":"zz"}"#,
            br#"{"typename":"io.statefun.types/int","value":"three"}"#,
            br#"{"typename":"io.statefun.types/int","value":5000000000}"#,
            br#"{"typename":"a/b","value":1}"#,
        ] {
            assert!(decode_value(broken).is_err(), "{}", String::from_utf8_lossy(broken));
        }
    }
}
