//! Kafka ingresses on Eddy topics: each partition of each topic an ingress names is read from
//! the position the last epoch committed (else the ingress's startup position), and each
//! record becomes one message per target function type, the record key being the id. Every
//! module also reads the topic of messages sent from outside (the playground ingress's HTTP
//! side and `eddy invoke`, see [`crate::playground`]), each record naming its target and
//! typename in headers.

use std::sync::Arc;

use eddy_log::{Log, Partition, TopicConfig};
use eddy_state::StateStore;
use eddy_statefun::ingress::route_record;
use eddy_statefun::invocation::Message;
use eddy_statefun::module::{IngressTopic, KafkaIngress, StartupPosition};
use eddy_statefun::{Address, Module, TypedValue};
use eddy_types::Offset;

use crate::{Error, Result, playground};

/// One partition of one topic of one ingress, and where reading goes on.
pub(crate) struct IngressPartition {
    /// The ingress id: the store keeps its positions under it.
    pub(crate) ingress: String,
    pub(crate) topic: IngressTopic,
    pub(crate) partition: Arc<Partition>,
    /// The next offset to read.
    pub(crate) next: Offset,
    /// Whether `next` moved since the last epoch.
    pub(crate) moved: bool,
    /// Records of the invocations topic: the target and typename are in their headers.
    pub(crate) invocations: bool,
}

/// What one read of a partition gave.
pub(crate) struct Read {
    /// Records read.
    pub(crate) records: u64,
    /// Records that could not be routed (no key, a key not UTF-8), skipped.
    pub(crate) skipped: u64,
}

/// The ingress partitions of `module`, positioned.
pub(crate) fn open(module: &Module, log: &Log, store: &StateStore) -> Result<Vec<IngressPartition>> {
    let mut partitions = vec![open_invocations(log, store)?];
    for ingress in &module.ingresses {
        let eddy_statefun::module::Ingress::Kafka(ingress) = ingress else {
            continue; // the playground ingress appends to the invocations topic
        };
        let id = ingress.id.to_string();
        for topic in &ingress.topics {
            let handle = match log.topic(topic.topic.as_str()) {
                Ok(handle) => handle,
                Err(eddy_log::Error::UnknownTopic(_)) => {
                    tracing::info!(topic = %topic.topic, ingress = %id, "creating ingress topic");
                    log.create_topic(&topic.topic, TopicConfig::default())?
                }
                Err(error) => return Err(error.into()),
            };
            for partition in handle.partitions()? {
                let next = match store.source_offset(&id, topic.topic.as_str(), partition.id())? {
                    Some(next) => next,
                    None => start_position(ingress, topic, &partition)?,
                };
                partitions.push(IngressPartition {
                    ingress: id.clone(),
                    topic: topic.clone(),
                    partition,
                    next,
                    moved: false,
                    invocations: false,
                });
            }
        }
    }
    Ok(partitions)
}

/// The one partition of the invocations topic, created when missing; read from where the
/// last epoch left it, else from its start (no acknowledged message is skipped).
fn open_invocations(log: &Log, store: &StateStore) -> Result<IngressPartition> {
    let name = eddy_types::TopicName::new(playground::INVOCATIONS_TOPIC)
        .map_err(|error| Error::Internal(format!("the invocations topic: {error}")))?;
    let handle = match log.topic(name.as_str()) {
        Ok(handle) => handle,
        Err(eddy_log::Error::UnknownTopic(_)) => log.create_topic(&name, TopicConfig::default())?,
        Err(error) => return Err(error.into()),
    };
    let partition = handle.partition(0)?;
    let next = match store.source_offset(playground::INVOCATIONS_ID, name.as_str(), 0)? {
        Some(next) => next,
        None => partition.start_offset(),
    };
    let topic = IngressTopic {
        topic: name,
        value_type: "io.eddy/invocation"
            .parse()
            .map_err(|error| Error::Internal(format!("the invocations typename: {error}")))?,
        targets: Vec::new(),
    };
    Ok(IngressPartition {
        ingress: playground::INVOCATIONS_ID.to_owned(),
        topic,
        partition,
        next,
        moved: false,
        invocations: true,
    })
}

/// The message an invocations record carries: its key is the id, its headers name the
/// target function type and the value's typename.
fn route_playground(record: &eddy_log::StoredRecord<'_>) -> std::result::Result<(Address, Message), String> {
    let header = |name: &str| {
        record
            .headers()
            .find(|(key, _)| *key == name.as_bytes())
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
            .ok_or_else(|| format!("no `{name}` header"))
    };
    let function_type = header(playground::TARGET_HEADER)?
        .parse()
        .map_err(|error| format!("the target is not a function type: {error}"))?;
    let typename = header(playground::TYPENAME_HEADER)?;
    let id = record
        .key
        .and_then(|key| std::str::from_utf8(key).ok())
        .filter(|id| !id.is_empty())
        .ok_or("no function id in the key")?;
    let argument = TypedValue::new(typename.to_owned(), bytes::Bytes::copy_from_slice(record.value));
    // A request waiting for its reply is the caller, so that the function answers it as it
    // would answer another function.
    let caller = match header(playground::REPLY_HEADER) {
        Ok(token) => Some(Address {
            function_type: playground::REPLY_TYPE
                .parse()
                .map_err(|error| format!("the reply type: {error}"))?,
            id: token.to_owned(),
        }),
        Err(_) => None,
    };
    Ok((Address { function_type, id: id.to_owned() }, Message { caller, argument }))
}

fn start_position(ingress: &KafkaIngress, topic: &IngressTopic, partition: &Partition) -> Result<Offset> {
    let reset =
        if ingress.auto_offset_reset_earliest { partition.start_offset() } else { partition.committed_end() };
    Ok(match &ingress.startup_position {
        StartupPosition::Earliest => partition.start_offset(),
        StartupPosition::Latest => partition.committed_end(),
        StartupPosition::GroupOffsets => reset,
        StartupPosition::SpecificOffsets(offsets) => offsets
            .iter()
            .find(|(name, id, _)| name == topic.topic.as_str() && *id == partition.id())
            .map_or(reset, |(_, _, offset)| {
                (*offset).clamp(partition.start_offset(), partition.committed_end())
            }),
        StartupPosition::Date(date) => {
            return Err(Error::Unsupported(format!(
                "ingress `{}`: the startup position `date` ({date}) is not supported yet; use \
                 `earliest`, `latest`, `group-offsets` or `specific-offsets`",
                ingress.id
            )));
        }
    })
}

impl IngressPartition {
    /// Reads about `max_bytes` of records, `max_records` at most, and hands each routed
    /// message to `deliver`.
    pub(crate) fn read(
        &mut self,
        max_bytes: usize,
        max_records: u64,
        mut deliver: impl FnMut(Address, Message),
    ) -> Result<Read> {
        let mut read = Read { records: 0, skipped: 0 };
        let start = self.partition.start_offset();
        if self.next < start {
            tracing::warn!(
                topic = %self.topic.topic, partition = self.partition.id(), from = self.next, to = start,
                "records were removed by retention before they were read; skipping them"
            );
            self.next = start;
            self.moved = true;
        }
        if self.next >= self.partition.committed_end() {
            return Ok(read);
        }
        for batch in self.partition.read(self.next, max_bytes)? {
            for record in batch.records() {
                if record.offset < self.next {
                    continue;
                }
                if read.records >= max_records {
                    return Ok(read);
                }
                read.records += 1;
                if self.invocations {
                    match route_playground(&record) {
                        Ok((address, message)) => deliver(address, message),
                        Err(reason) => {
                            read.skipped += 1;
                            tracing::warn!(offset = record.offset, "invocations topic: {reason}; skipped");
                        }
                    }
                    self.next = record.offset + 1;
                    self.moved = true;
                    continue;
                }
                match route_record(&self.topic, record.key, bytes::Bytes::copy_from_slice(record.value)) {
                    Ok(messages) => {
                        for (address, message) in messages {
                            deliver(address, message);
                        }
                    }
                    Err(error) => {
                        read.skipped += 1;
                        tracing::warn!(
                            offset = record.offset,
                            partition = self.partition.id(),
                            "{error}; skipped"
                        );
                    }
                }
                self.next = record.offset + 1;
                self.moved = true;
            }
        }
        Ok(read)
    }

    /// Whether every committed record was read.
    pub(crate) fn caught_up(&self) -> bool {
        self.next >= self.partition.committed_end()
    }
}
