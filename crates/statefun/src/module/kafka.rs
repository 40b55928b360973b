//! `io.statefun.kafka.v1/ingress` and `egress`. Their Kafka topics are Eddy topics: an ingress
//! reads its topics from Eddy's log, an egress writes the records the functions emit into it.

use std::time::Duration;

use super::duration;
use super::reader::{Fields, Reader};
use crate::address::{FunctionType, TypeName};
use eddy_types::TopicName;

/// A Kafka ingress: records of its topics become messages to functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaIngress {
    /// The ingress id.
    pub id: TypeName,
    /// The Kafka bootstrap address, when one is given (Eddy's own log needs none).
    pub address: Option<String>,
    /// The consumer group, when given.
    pub consumer_group_id: Option<String>,
    /// Where to start reading.
    pub startup_position: StartupPosition,
    /// Where to start when the group has no committed offset: `latest` by default.
    pub auto_offset_reset_earliest: bool,
    /// The topics read and where their records go.
    pub topics: Vec<IngressTopic>,
    /// Kafka client properties, as given.
    pub properties: Vec<(String, String)>,
}

/// One topic of a Kafka ingress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressTopic {
    /// The topic.
    pub topic: TopicName,
    /// The typename given to record values.
    pub value_type: TypeName,
    /// The function types each record is sent to, with the record key as the id.
    pub targets: Vec<FunctionType>,
}

/// Where a Kafka ingress starts reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupPosition {
    /// The group's committed offsets (the default).
    GroupOffsets,
    /// The start of each partition.
    Earliest,
    /// The end of each partition.
    Latest,
    /// Given offsets: (topic, partition, offset).
    SpecificOffsets(Vec<(String, u32, u64)>),
    /// The first record at or after this date, as written.
    Date(String),
}

/// A Kafka egress: functions send it records for its topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaEgress {
    /// The egress id, as the functions name it.
    pub id: TypeName,
    /// The Kafka bootstrap address, when one is given.
    pub address: Option<String>,
    /// The delivery guarantee asked for.
    pub delivery_semantic: DeliverySemantic,
    /// Kafka client properties, as given.
    pub properties: Vec<(String, String)>,
}

/// The delivery guarantee of a Kafka egress. Eddy's own topics are always exactly-once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliverySemantic {
    /// No guarantee.
    None,
    /// At least once (Statefun's default).
    AtLeastOnce,
    /// Exactly once, with this transaction timeout.
    ExactlyOnce(Duration),
}

pub(super) fn read_ingress(reader: &mut Reader<'_>, spec: &Fields<'_>) -> Option<KafkaIngress> {
    let id = reader.parsed(spec, "id", true, type_name);
    let address = reader.string(spec, "address", false);
    let consumer_group_id = reader.string(spec, "consumerGroupId", false);
    let startup_position = match reader.sub_map(spec, "startupPosition", &["type", "offsets", "date"]) {
        Some(position) => read_startup_position(reader, &position)?,
        None => StartupPosition::GroupOffsets,
    };
    let auto_offset_reset_earliest = reader
        .parsed(spec, "autoOffsetResetPosition", false, |text| match text {
            "earliest" => Ok(true),
            "latest" => Ok(false),
            _ => Err("expected `earliest` or `latest`".to_owned()),
        })
        .unwrap_or(false);
    let mut topics = Vec::new();
    let mut complete = true;
    for (index, node) in reader.list(spec, "topics", true).unwrap_or_default().iter().enumerate() {
        let path = format!("{}[{index}]", spec.path_of("topics"));
        let Some(fields) = reader.map(node, &path, &["topic", "valueType", "targets"]) else {
            complete = false;
            continue;
        };
        match read_topic(reader, &fields) {
            Some(topic) => topics.push(topic),
            None => complete = false,
        }
    }
    let properties = reader.properties(spec, "properties");
    complete.then_some(())?;
    Some(KafkaIngress {
        id: id?,
        address,
        consumer_group_id,
        startup_position,
        auto_offset_reset_earliest,
        topics,
        properties,
    })
}

fn read_topic(reader: &mut Reader<'_>, fields: &Fields<'_>) -> Option<IngressTopic> {
    let topic = reader.parsed(fields, "topic", true, |text| {
        TopicName::new(text).map_err(|error| format!("expected a topic name: {error}"))
    });
    let topic = topic.and_then(|topic| declared(reader, fields, topic));
    let value_type = reader.parsed(fields, "valueType", true, type_name);
    let mut targets = Vec::new();
    let mut complete = true;
    for (index, node) in reader.list(fields, "targets", true).unwrap_or_default().iter().enumerate() {
        let path = format!("{}[{index}]", fields.path_of("targets"));
        let parsed = reader.text(node, &path).and_then(|text| {
            reader.parse_node(node, &path, &text, |text| {
                text.parse::<FunctionType>()
                    .map_err(|_| "expected a function type `namespace/name`".to_owned())
            })
        });
        match parsed {
            Some(target) => targets.push(target),
            None => complete = false,
        }
    }
    complete.then_some(())?;
    Some(IngressTopic { topic: topic?, value_type: value_type?, targets })
}

/// In a dataflow file's `functions` section, the log name of the declared topic that `topic`
/// names by id or by name; a problem when none is declared.
fn declared(reader: &mut Reader<'_>, fields: &Fields<'_>, topic: TopicName) -> Option<TopicName> {
    let Some(declared) = reader.declared_topics else { return Some(topic) };
    if let Some((_, name)) = declared.iter().find(|(id, name)| id == topic.as_str() || name == &topic) {
        return Some(name.clone());
    }
    let pos = fields.get("topic").map_or(fields.pos, |node| node.pos);
    let known: Vec<String> = declared.iter().map(|(id, _)| format!("`{id}`")).collect();
    let expected = if known.is_empty() {
        "none is declared".to_owned()
    } else {
        format!("declared: {}", known.join(", "))
    };
    reader.problem(
        pos,
        &fields.path_of("topic"),
        format!("topic `{topic}` is not declared under `topics` of the dataflow ({expected})"),
    );
    None
}

fn read_startup_position(reader: &mut Reader<'_>, position: &Fields<'_>) -> Option<StartupPosition> {
    let kind = reader.string(position, "type", true)?;
    match kind.as_str() {
        "group-offsets" => Some(StartupPosition::GroupOffsets),
        "earliest" => Some(StartupPosition::Earliest),
        "latest" => Some(StartupPosition::Latest),
        "date" => reader.string(position, "date", true).map(StartupPosition::Date),
        "specific-offsets" => {
            let mut offsets = Vec::new();
            for (name, offset) in reader.properties(position, "offsets") {
                let parsed = name.rsplit_once('/').and_then(|(topic, partition)| {
                    Some((topic.to_owned(), partition.parse::<u32>().ok()?, offset.parse::<u64>().ok()?))
                });
                match parsed {
                    Some(entry) => offsets.push(entry),
                    None => {
                        reader.problem(
                            position.pos,
                            &position.path_of("offsets"),
                            format!("expected `topic/partition: offset`, found `{name}: {offset}`"),
                        );
                        return None;
                    }
                }
            }
            Some(StartupPosition::SpecificOffsets(offsets))
        }
        _ => {
            let node = position.get("type")?;
            reader.problem(
                node.pos,
                &position.path_of("type"),
                format!(
                    "expected one of `group-offsets`, `earliest`, `latest`, `specific-offsets`, `date`, found `{kind}`"
                ),
            );
            None
        }
    }
}

pub(super) fn read_egress(reader: &mut Reader<'_>, spec: &Fields<'_>) -> Option<KafkaEgress> {
    let id = reader.parsed(spec, "id", true, type_name);
    let address = reader.string(spec, "address", false);
    let delivery_semantic = match reader.sub_map(spec, "deliverySemantic", &["type", "transactionTimeout"]) {
        None => DeliverySemantic::AtLeastOnce,
        Some(semantic) => match reader.string(&semantic, "type", true)?.as_str() {
            "none" => DeliverySemantic::None,
            "at-least-once" => DeliverySemantic::AtLeastOnce,
            "exactly-once" => DeliverySemantic::ExactlyOnce(
                reader
                    .parsed(&semantic, "transactionTimeout", false, duration::parse)
                    .unwrap_or(Duration::from_secs(900)),
            ),
            other => {
                let node = semantic.get("type")?;
                reader.problem(
                    node.pos,
                    &semantic.path_of("type"),
                    format!("expected `none`, `at-least-once` or `exactly-once`, found `{other}`"),
                );
                return None;
            }
        },
    };
    let properties = reader.properties(spec, "properties");
    Some(KafkaEgress { id: id?, address, delivery_semantic, properties })
}

pub(super) fn type_name(text: &str) -> Result<TypeName, String> {
    text.parse::<TypeName>().map_err(|_| "expected a typename `namespace/name`".to_owned())
}
