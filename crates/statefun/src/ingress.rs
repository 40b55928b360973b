//! Routing topic records into messages, as a Kafka ingress does: the record key (UTF-8) is the
//! function id, the value becomes a [`TypedValue`] of the topic's `valueType`, and one message
//! goes to each target function type, with no caller.

use bytes::Bytes;

use crate::address::Address;
use crate::invocation::Message;
use crate::module::IngressTopic;
use crate::value::TypedValue;

/// Why a record cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The record has no key, or an empty one.
    #[error("a record of topic `{0}` has no key; the key names the function instance")]
    MissingKey(String),
    /// The key is not UTF-8.
    #[error("a record key of topic `{0}` is not UTF-8")]
    KeyNotUtf8(String),
}

/// The messages a record of `topic` becomes.
///
/// # Errors
/// [`RouteError`] when the key is missing or not UTF-8.
pub fn route_record(
    topic: &IngressTopic,
    key: Option<&[u8]>,
    value: Bytes,
) -> Result<Vec<(Address, Message)>, RouteError> {
    let name = || topic.topic.to_string();
    let key = key.filter(|key| !key.is_empty()).ok_or_else(|| RouteError::MissingKey(name()))?;
    let id = std::str::from_utf8(key).map_err(|_| RouteError::KeyNotUtf8(name()))?;
    let argument = TypedValue::new(topic.value_type.as_str(), value);
    Ok(topic
        .targets
        .iter()
        .map(|function_type| {
            let address = Address { function_type: function_type.clone(), id: id.to_owned() };
            (address, Message { caller: None, argument: argument.clone() })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_goes_to_every_target_with_its_key_as_id() {
        let topic = IngressTopic {
            topic: "names".parse().unwrap(),
            value_type: "io.statefun.types/string".parse().unwrap(),
            targets: vec!["ex/a".parse().unwrap(), "ex/b".parse().unwrap()],
        };
        let routed = route_record(&topic, Some(b"ann"), Bytes::from("v")).unwrap();
        assert_eq!(routed.len(), 2);
        assert_eq!(routed[1].0.to_string(), "ex/b/ann");
        assert_eq!(routed[0].1.argument, TypedValue::new("io.statefun.types/string", "v"));
        assert_eq!(route_record(&topic, None, Bytes::new()), Err(RouteError::MissingKey("names".into())));
        assert_eq!(
            route_record(&topic, Some(&[0xff]), Bytes::new()),
            Err(RouteError::KeyNotUtf8("names".into()))
        );
    }
}
