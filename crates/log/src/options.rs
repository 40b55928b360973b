//! Settings of the log and of each topic.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// When appended data is forced to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync on every commit: nothing committed is lost even on power failure.
    EveryCommit,
    /// fsync on a commit when at least this long has passed since the last one. A process
    /// crash loses nothing committed; a power failure loses at most this window.
    Interval(Duration),
    /// Leave flushing to the operating system (and to explicit `sync` calls).
    Never,
}

/// Settings of a [`Log`](crate::Log).
#[derive(Debug, Clone)]
pub struct Options {
    /// fsync policy. Default: every 10 ms at most.
    pub fsync: FsyncPolicy,
    /// A segment is sealed and a new one started once it reaches this size, unless the
    /// topic sets its own. Default: 128 MiB.
    pub segment_bytes: u64,
    /// One sparse index entry per this many bytes of batches. Default: 4 KiB.
    pub index_interval_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fsync: FsyncPolicy::Interval(Duration::from_millis(10)),
            segment_bytes: 128 << 20,
            index_interval_bytes: 4 << 10,
        }
    }
}

/// Settings of one topic, stored in the topic's `topic.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TopicConfig {
    /// Number of partitions. Default: 1.
    pub partitions: u32,
    /// Whole segments whose newest record is older than this are removed. Default: keep forever.
    #[serde(default, with = "humantime_millis", skip_serializing_if = "Option::is_none")]
    pub retention_time: Option<Duration>,
    /// Oldest whole segments are removed while a partition is larger than this. Default: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_bytes: Option<u64>,
    /// Segment size for this topic. Default: the log's [`Options::segment_bytes`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_bytes: Option<u64>,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig { partitions: 1, retention_time: None, retention_bytes: None, segment_bytes: None }
    }
}

impl TopicConfig {
    /// The most partitions a topic may have.
    pub const MAX_PARTITIONS: u32 = 4096;

    /// A config with `partitions` partitions and no retention limits.
    pub fn with_partitions(partitions: u32) -> Self {
        TopicConfig { partitions, ..TopicConfig::default() }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.partitions == 0 || self.partitions > Self::MAX_PARTITIONS {
            return Err(Error::InvalidConfig(format!(
                "partitions must be between 1 and {}, got {}",
                Self::MAX_PARTITIONS,
                self.partitions
            )));
        }
        if self.retention_time.is_some_and(|t| t.is_zero()) {
            return Err(Error::InvalidConfig("retention-time must be longer than 0".into()));
        }
        if self.retention_bytes == Some(0) {
            return Err(Error::InvalidConfig("retention-bytes must be larger than 0".into()));
        }
        if self.segment_bytes.is_some_and(|s| s < 1024) {
            return Err(Error::InvalidConfig("segment size must be at least 1KiB".into()));
        }
        Ok(())
    }
}

/// Stores durations as whole milliseconds so `topic.json` stays readable by any tool.
mod humantime_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}
