//! What `topic list` and `topic describe` show, computed from a log: by the server for its
//! clients and by the CLI on a log it opened itself.

use eddy_log::{Log, Topic, TopicConfig};
use eddy_types::{Offset, PartitionId, now_millis};
use serde::{Deserialize, Serialize};

use super::Result;

/// A topic as `topic list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TopicInfo {
    /// The topic's name.
    pub name: String,
    /// Its settings.
    pub config: TopicConfig,
    /// Bytes its files take on disk.
    pub size_bytes: u64,
}

/// A topic as `topic describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TopicDescription {
    /// The topic's name.
    pub name: String,
    /// Its settings.
    pub config: TopicConfig,
    /// Its partitions, in order.
    pub partitions: Vec<PartitionInfo>,
}

/// Offsets and sizes of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PartitionInfo {
    /// The partition's number.
    pub id: PartitionId,
    /// First stored offset.
    pub start_offset: Offset,
    /// One past the last committed offset.
    pub end_offset: Offset,
    /// Bytes of committed data on disk.
    pub size_bytes: u64,
    /// Number of segment files.
    pub segments: usize,
}

/// Every topic of `log`, ordered by name. Touches only the topics' config files and
/// directory sizes, not their partitions.
pub fn list_topics(log: &Log) -> Vec<TopicInfo> {
    log.topics()
        .iter()
        .map(|topic| TopicInfo {
            name: topic.name().to_string(),
            config: topic.config().clone(),
            size_bytes: topic.disk_usage(),
        })
        .collect()
}

/// The topic `name` of `log` with its partitions' offsets and sizes.
///
/// # Errors
/// An unknown topic; errors of opening its partitions.
pub fn describe_topic(log: &Log, name: &str) -> Result<TopicDescription> {
    let topic = log.topic(name)?;
    let partitions = topic
        .partitions()?
        .iter()
        .map(|partition| {
            let stats = partition.stats();
            PartitionInfo {
                id: partition.id(),
                start_offset: stats.start_offset,
                end_offset: stats.end_offset,
                size_bytes: stats.size_bytes,
                segments: stats.segments,
            }
        })
        .collect();
    Ok(TopicDescription { name: topic.name().to_string(), config: topic.config().clone(), partitions })
}

/// Applies the topic's retention limits, if it has any (as after a produce).
///
/// # Errors
/// I/O errors of removing segments.
pub fn enforce_retention(topic: &Topic) -> Result<()> {
    let config = topic.config();
    if config.retention_time.is_some() || config.retention_bytes.is_some() {
        topic.enforce_retention(now_millis())?;
    }
    Ok(())
}
