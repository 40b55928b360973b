//! Egress messages to topic records: a Kafka egress's `KafkaProducerRecord` names its topic,
//! key and value; a playground egress record its topic and payload. Both land on Eddy topics.

use bytes::Bytes;
use eddy_statefun::invocation::EgressMessage;
use eddy_statefun::module::{Egress, PLAYGROUND_EGRESS_ID};
use eddy_statefun::{Address, Module, TopicRecord};
use eddy_types::TopicName;

use crate::{Error, Result};

/// A record for an egress topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EgressRecord {
    /// The topic.
    pub(crate) topic: TopicName,
    /// The key, if the function set one.
    pub(crate) key: Option<Bytes>,
    /// The value.
    pub(crate) value: Bytes,
}

/// The egresses of a module.
#[derive(Debug, Clone)]
pub(crate) struct Egresses {
    module: Module,
    playground: bool,
    /// Topics written by another writer, which no egress record may go to.
    reserved: Vec<TopicName>,
}

impl Egresses {
    pub(crate) fn new(module: &Module, reserved: &[TopicName]) -> Self {
        let playground = module.egresses.iter().any(|egress| matches!(egress, Egress::Playground(_)));
        Self { module: module.clone(), playground, reserved: reserved.to_vec() }
    }

    /// The record `message` (sent by `sender`) becomes.
    pub(crate) fn route(&self, sender: &Address, message: &EgressMessage) -> Result<EgressRecord> {
        let egress = message.egress.to_string();
        let record = if self.module.kafka_egress(&message.egress).is_some() {
            TopicRecord::from_kafka_egress(&message.argument)
        } else if self.playground && egress == PLAYGROUND_EGRESS_ID {
            TopicRecord::from_playground_egress(&message.argument)
        } else {
            return Err(Error::UnknownEgress { address: sender.clone(), egress });
        };
        let bad = |reason: String| Error::BadEgressValue {
            address: sender.clone(),
            egress: egress.clone(),
            reason,
        };
        let record = record.map_err(|error| bad(error.to_string()))?;
        let topic = TopicName::new(&record.topic)
            .map_err(|error| bad(format!("`{}` is not a topic name: {error}", record.topic)))?;
        if self.reserved.contains(&topic) {
            return Err(bad(format!(
                "topic `{topic}` is written by a service of the dataflow; an egress needs a topic of its own"
            )));
        }
        Ok(EgressRecord { topic, key: record.key, value: record.value })
    }
}
