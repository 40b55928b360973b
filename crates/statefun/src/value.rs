//! [`TypedValue`]: bytes tagged with a typename, and the primitive types the Statefun SDKs
//! share (`io.statefun.types/*`, each a one-field protobuf wrapper).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::proto::{reqreply, types};

/// The typenames of the SDKs' built-in types.
pub mod typenames {
    /// A protobuf `bool` in `BooleanWrapper`.
    pub const BOOL: &str = "io.statefun.types/bool";
    /// A protobuf `sfixed32` in `IntWrapper`.
    pub const INT: &str = "io.statefun.types/int";
    /// A protobuf `float` in `FloatWrapper`.
    pub const FLOAT: &str = "io.statefun.types/float";
    /// A protobuf `sfixed64` in `LongWrapper`.
    pub const LONG: &str = "io.statefun.types/long";
    /// A protobuf `double` in `DoubleWrapper`.
    pub const DOUBLE: &str = "io.statefun.types/double";
    /// A protobuf `string` in `StringWrapper`.
    pub const STRING: &str = "io.statefun.types/string";
    /// The payload the SDKs' `kafka_egress_message` builds.
    pub const KAFKA_PRODUCER_RECORD: &str = "type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord";
    /// The payload the SDKs' `kinesis_egress_message` builds.
    pub const KINESIS_EGRESS_RECORD: &str = "type.googleapis.com/io.statefun.sdk.egress.KinesisEgressRecord";
}

/// Why a value could not be read as the type asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The value is of another type.
    #[error("expected a value of type `{expected}`, found `{found}`")]
    WrongTypename {
        /// The typename asked for.
        expected: String,
        /// The value's typename.
        found: String,
    },
    /// The value is absent.
    #[error("the `{0}` value is absent")]
    Absent(String),
    /// The bytes do not decode as the type says.
    #[error("the bytes of a `{typename}` value do not decode: {reason}")]
    Malformed {
        /// The value's typename.
        typename: String,
        /// What the decoder said.
        reason: String,
    },
}

/// A value with its typename, as messages and state carry it. `value` is `None` for an
/// absent value (`has_value = false` on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedValue {
    /// The typename, `namespace/name`.
    pub typename: String,
    /// The serialized value, or `None` when absent.
    pub value: Option<Bytes>,
}

impl TypedValue {
    /// A present value of type `typename`.
    pub fn new(typename: impl Into<String>, value: impl Into<Bytes>) -> Self {
        Self { typename: typename.into(), value: Some(value.into()) }
    }

    /// An `io.statefun.types/string`.
    pub fn string(value: &str) -> Self {
        Self::wrapped(typenames::STRING, &types::StringWrapper { value: value.to_owned() })
    }

    /// An `io.statefun.types/int`.
    pub fn int(value: i32) -> Self {
        Self::wrapped(typenames::INT, &types::IntWrapper { value })
    }

    /// An `io.statefun.types/long`.
    pub fn long(value: i64) -> Self {
        Self::wrapped(typenames::LONG, &types::LongWrapper { value })
    }

    /// An `io.statefun.types/bool`.
    pub fn bool(value: bool) -> Self {
        Self::wrapped(typenames::BOOL, &types::BooleanWrapper { value })
    }

    /// An `io.statefun.types/float`.
    pub fn float(value: f32) -> Self {
        Self::wrapped(typenames::FLOAT, &types::FloatWrapper { value })
    }

    /// An `io.statefun.types/double`.
    pub fn double(value: f64) -> Self {
        Self::wrapped(typenames::DOUBLE, &types::DoubleWrapper { value })
    }

    /// A JSON value of a user type, serialized as the SDKs' `make_json_type` does (UTF-8 JSON).
    ///
    /// # Errors
    /// The error of `serde_json` when `value` does not serialize.
    pub fn json<T: Serialize>(typename: impl Into<String>, value: &T) -> Result<Self, serde_json::Error> {
        Ok(Self::new(typename, serde_json::to_vec(value)?))
    }

    fn wrapped(typename: &str, message: &impl prost::Message) -> Self {
        Self::new(typename, message.encode_to_vec())
    }

    /// The value as a string, if it is an `io.statefun.types/string`.
    ///
    /// # Errors
    /// [`ValueError`] when the type differs, the value is absent or does not decode.
    pub fn as_string(&self) -> Result<String, ValueError> {
        self.unwrap_as::<types::StringWrapper>(typenames::STRING).map(|wrapper| wrapper.value)
    }

    /// The value as an `i32`, if it is an `io.statefun.types/int`.
    ///
    /// # Errors
    /// [`ValueError`] when the type differs, the value is absent or does not decode.
    pub fn as_int(&self) -> Result<i32, ValueError> {
        self.unwrap_as::<types::IntWrapper>(typenames::INT).map(|wrapper| wrapper.value)
    }

    /// The value as an `i64`, if it is an `io.statefun.types/long`.
    ///
    /// # Errors
    /// [`ValueError`] when the type differs, the value is absent or does not decode.
    pub fn as_long(&self) -> Result<i64, ValueError> {
        self.unwrap_as::<types::LongWrapper>(typenames::LONG).map(|wrapper| wrapper.value)
    }

    /// The value as a `bool`, if it is an `io.statefun.types/bool`.
    ///
    /// # Errors
    /// [`ValueError`] when the type differs, the value is absent or does not decode.
    pub fn as_bool(&self) -> Result<bool, ValueError> {
        self.unwrap_as::<types::BooleanWrapper>(typenames::BOOL).map(|wrapper| wrapper.value)
    }

    /// The value as an `f64`, if it is an `io.statefun.types/double`.
    ///
    /// # Errors
    /// [`ValueError`] when the type differs, the value is absent or does not decode.
    pub fn as_double(&self) -> Result<f64, ValueError> {
        self.unwrap_as::<types::DoubleWrapper>(typenames::DOUBLE).map(|wrapper| wrapper.value)
    }

    /// The value as JSON of type `typename`.
    ///
    /// # Errors
    /// [`ValueError`] when the type differs, the value is absent or is not that JSON.
    pub fn as_json<T: serde::de::DeserializeOwned>(&self, typename: &str) -> Result<T, ValueError> {
        let bytes = self.present_bytes(typename)?;
        serde_json::from_slice(bytes).map_err(|error| ValueError::Malformed {
            typename: self.typename.clone(),
            reason: error.to_string(),
        })
    }

    /// The bytes of a present value of type `typename`.
    ///
    /// # Errors
    /// [`ValueError`] when the type differs or the value is absent.
    pub fn present_bytes(&self, typename: &str) -> Result<&Bytes, ValueError> {
        if self.typename != typename {
            return Err(ValueError::WrongTypename {
                expected: typename.to_owned(),
                found: self.typename.clone(),
            });
        }
        self.value.as_ref().ok_or_else(|| ValueError::Absent(self.typename.clone()))
    }

    fn unwrap_as<M: prost::Message + Default>(&self, typename: &str) -> Result<M, ValueError> {
        let bytes = self.present_bytes(typename)?;
        M::decode(bytes.clone()).map_err(|error| ValueError::Malformed {
            typename: self.typename.clone(),
            reason: error.to_string(),
        })
    }

    /// The protocol form. The payload is shared, not copied.
    pub fn to_proto(&self) -> reqreply::TypedValue {
        reqreply::TypedValue {
            typename: self.typename.clone(),
            has_value: self.value.is_some(),
            value: self.value.clone().unwrap_or_default(),
        }
    }

    /// The value a protocol message carries. The payload is shared with the message (a decoded
    /// reply's payloads are slices of the reply's buffer), not copied.
    pub fn from_proto(value: reqreply::TypedValue) -> Self {
        Self { typename: value.typename, value: value.has_value.then_some(value.value) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_are_encoded_as_the_sdks_wrappers() {
        // Bytes as the Python SDK writes them (`IntWrapper(value=7).SerializeToString()`).
        assert_eq!(TypedValue::int(7).value.unwrap().as_ref(), [0x0d, 7, 0, 0, 0]);
        assert_eq!(
            TypedValue::long(-1).value.unwrap().as_ref(),
            [0x09, 255, 255, 255, 255, 255, 255, 255, 255]
        );
        assert_eq!(TypedValue::string("hi").value.unwrap().as_ref(), [0x0a, 2, b'h', b'i']);
        assert_eq!(TypedValue::bool(true).value.unwrap().as_ref(), [0x08, 1]);
        assert_eq!(TypedValue::int(0).typename, "io.statefun.types/int");
    }

    #[test]
    fn primitives_round_trip() {
        assert_eq!(TypedValue::string("héllo").as_string().unwrap(), "héllo");
        assert_eq!(TypedValue::int(i32::MIN).as_int().unwrap(), i32::MIN);
        assert_eq!(TypedValue::long(i64::MAX).as_long().unwrap(), i64::MAX);
        assert!(TypedValue::bool(true).as_bool().unwrap());
        assert_eq!(TypedValue::double(2.5).as_double().unwrap(), 2.5);
    }

    #[test]
    fn reading_the_wrong_type_is_an_error() {
        assert_eq!(
            TypedValue::int(1).as_string(),
            Err(ValueError::WrongTypename {
                expected: typenames::STRING.into(),
                found: typenames::INT.into()
            })
        );
        let absent = TypedValue { typename: typenames::INT.into(), value: None };
        assert_eq!(absent.as_int(), Err(ValueError::Absent(typenames::INT.into())));
        let garbage = TypedValue::new(typenames::INT, vec![0xff]);
        assert!(matches!(garbage.as_int(), Err(ValueError::Malformed { .. })));
    }

    #[test]
    fn absent_values_cross_the_wire_without_has_value() {
        let absent = TypedValue { typename: "ns/t".into(), value: None };
        let wire = absent.to_proto();
        assert!(!wire.has_value);
        assert_eq!(TypedValue::from_proto(wire), absent);
        let empty_but_present = TypedValue::new("ns/t", Vec::new());
        assert_eq!(TypedValue::from_proto(empty_but_present.to_proto()), empty_but_present);
    }

    #[test]
    fn json_values_round_trip() {
        let value = TypedValue::json("shop/order", &serde_json::json!({"item": "apple", "n": 2})).unwrap();
        let back: serde_json::Value = value.as_json("shop/order").unwrap();
        assert_eq!(back["item"], "apple");
        assert!(value.as_json::<serde_json::Value>("shop/other").is_err());
    }
}
