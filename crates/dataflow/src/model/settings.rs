//! The dataflow's identity (`meta`) and defaults (`config`).

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `meta`: who the dataflow is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Meta {
    /// The dataflow's name; it prefixes the dead-letter topic (`<name>.dead-letter`), so it
    /// follows the rules of topic names.
    pub name: String,
    /// The dataflow's version, free text. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The dataflow's namespace, free text. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `config`: defaults for the whole dataflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// How record values are encoded. Default: `json`.
    #[serde(default)]
    pub converter: Converter,
    /// Where sources start reading. Default: the end of each topic (as in SDF).
    #[serde(default)]
    pub consumer: ConsumerConfig,
    /// How often the engine commits an epoch (humantime: `100ms`, `1s`). Default: `100ms`.
    #[serde(
        default = "default_commit_interval",
        deserialize_with = "deserialize_duration",
        serialize_with = "serialize_duration"
    )]
    pub commit_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            converter: Converter::default(),
            consumer: ConsumerConfig::default(),
            commit_interval: default_commit_interval(),
        }
    }
}

fn default_commit_interval() -> Duration {
    Duration::from_millis(100)
}

pub(crate) fn deserialize_duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    humantime::parse_duration(&text).map_err(|error| {
        serde::de::Error::custom(format!(
            "invalid duration `{text}` ({error}); write e.g. `100ms`, `1s` or `2m`"
        ))
    })
}

/// Like [`deserialize_duration`], for an optional field.
pub(crate) fn deserialize_optional_duration<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    deserialize_duration(deserializer).map(Some)
}

/// Like [`serialize_duration`], for an optional field (skipped when `None`).
pub(crate) fn serialize_optional_duration<S: Serializer>(
    duration: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => serialize_duration(duration, serializer),
        None => serializer.serialize_none(),
    }
}

pub(crate) fn serialize_duration<S: Serializer>(
    duration: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&humantime::format_duration(*duration).to_string())
}

/// How record values are encoded on topics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Converter {
    /// JSON, checked against the topic's type.
    #[default]
    Json,
    /// Raw bytes, passed through.
    Raw,
}

/// `config.consumer`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ConsumerConfig {
    /// Where a source with no committed offset starts. Spelt `default_starting_offset`, as
    /// in SDF (`default-starting-offset` is accepted too). Default: the end.
    #[serde(rename = "default_starting_offset", alias = "default-starting-offset", default)]
    pub default_starting_offset: StartingOffset,
}

/// A starting offset: a position and a count relative to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StartingOffset {
    /// Where to count from.
    pub position: Position,
    /// For `Beginning`, records to skip from the start; for `End`, records to re-read before
    /// the end; for `Offset`, the absolute offset. Default: 0.
    #[serde(default)]
    pub value: u64,
}

/// The reference point of a [`StartingOffset`], spelt as in SDF.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Position {
    /// The first record still in the topic.
    #[serde(alias = "beginning")]
    Beginning,
    /// After the last record.
    #[default]
    #[serde(alias = "end")]
    End,
    /// An absolute offset.
    #[serde(alias = "offset")]
    Offset,
}
