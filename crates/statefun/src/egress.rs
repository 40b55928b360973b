//! Reading the payloads the SDKs send to egresses: Kafka producer records (which land on Eddy
//! topics) and playground egress records.

use bytes::Bytes;
use prost::Message as _;
use serde::Deserialize;

use crate::proto::egress::KafkaProducerRecord;
use crate::value::{TypedValue, ValueError, typenames};

/// The typename of the SDKs' playground egress records (JSON `{"topic", "payload"}`).
pub const PLAYGROUND_EGRESS_RECORD: &str = "io.statefun.playground/EgressRecord";

/// A record for a topic, as a Kafka egress message describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRecord {
    /// The topic.
    pub topic: String,
    /// The key, `None` when the SDK set none.
    pub key: Option<Bytes>,
    /// The value.
    pub value: Bytes,
}

impl TopicRecord {
    /// Decodes a `KafkaProducerRecord` payload (from the SDKs' `kafka_egress_message`).
    ///
    /// # Errors
    /// [`ValueError`] when the value is of another type, absent or malformed, or names no topic.
    pub fn from_kafka_egress(value: &TypedValue) -> Result<Self, ValueError> {
        let bytes = value.present_bytes(typenames::KAFKA_PRODUCER_RECORD)?;
        let malformed = |reason: String| ValueError::Malformed { typename: value.typename.clone(), reason };
        let record =
            KafkaProducerRecord::decode(bytes.clone()).map_err(|error| malformed(error.to_string()))?;
        if record.topic.is_empty() {
            return Err(malformed("the record names no topic".to_owned()));
        }
        let key = (!record.key.is_empty()).then(|| Bytes::from(record.key.into_bytes()));
        Ok(Self { topic: record.topic, key, value: record.value_bytes })
    }

    /// Decodes a playground egress record: JSON `{"topic": ..., "payload": ...}`; the payload
    /// (any JSON) becomes the value as text.
    ///
    /// # Errors
    /// [`ValueError`] when the value is of another type, absent or not that JSON.
    pub fn from_playground_egress(value: &TypedValue) -> Result<Self, ValueError> {
        #[derive(Deserialize)]
        struct Record {
            topic: String,
            payload: serde_json::Value,
        }
        let record: Record = value.as_json(PLAYGROUND_EGRESS_RECORD)?;
        let payload = match record.payload {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        };
        Ok(Self { topic: record.topic, key: None, value: Bytes::from(payload) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_producer_records_decode() {
        let record = KafkaProducerRecord {
            key: "ann".into(),
            value_bytes: Bytes::from_static(b"hello"),
            topic: "greetings".into(),
        };
        let value = TypedValue::new(typenames::KAFKA_PRODUCER_RECORD, record.encode_to_vec());
        assert_eq!(
            TopicRecord::from_kafka_egress(&value).unwrap(),
            TopicRecord {
                topic: "greetings".into(),
                key: Some(Bytes::from("ann")),
                value: Bytes::from("hello")
            }
        );
        assert!(TopicRecord::from_kafka_egress(&TypedValue::string("x")).is_err());
        let garbage = TypedValue::new(typenames::KAFKA_PRODUCER_RECORD, vec![0xff, 0xff]);
        assert!(matches!(TopicRecord::from_kafka_egress(&garbage), Err(ValueError::Malformed { .. })));
    }

    #[test]
    fn playground_records_decode() {
        let value =
            TypedValue::json(PLAYGROUND_EGRESS_RECORD, &serde_json::json!({"topic": "t", "payload": "hi"}))
                .unwrap();
        assert_eq!(TopicRecord::from_playground_egress(&value).unwrap().value, Bytes::from("hi"));
    }
}
