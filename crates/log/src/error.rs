//! Errors of the log.

use std::path::PathBuf;

use eddy_types::{InvalidTopicName, Offset, PartitionId};

/// Result type of the log.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another process holds the data directory.
    #[error("data directory in use by pid {pid} (lock held on {})", lock_file.display())]
    Locked {
        /// The lock file.
        lock_file: PathBuf,
        /// The process id written by the holder.
        pid: String,
    },
    /// An operating-system error on a file or directory.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Stored data fails its checks inside the region that was committed.
    #[error("corrupt data in {} at byte offset {offset}: {reason}", file.display())]
    Corruption {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset of the first bad byte range found.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// No topic of that name.
    #[error("unknown topic '{0}'; `eddy topic list` shows the existing topics")]
    UnknownTopic(String),
    /// A topic of that name already exists.
    #[error("topic '{0}' already exists")]
    TopicExists(String),
    /// The topic has no such partition.
    #[error("topic '{topic}' has no partition {partition}; it has partitions 0..{count}")]
    UnknownPartition {
        /// The topic.
        topic: String,
        /// The requested partition.
        partition: PartitionId,
        /// How many partitions the topic has.
        count: u32,
    },
    /// A read asked for an offset that is not stored.
    #[error(
        "offset {requested} is not available in '{topic}' partition {partition}: it holds offsets {start}..{end}"
    )]
    OffsetOutOfRange {
        /// The topic.
        topic: String,
        /// The partition.
        partition: PartitionId,
        /// The requested offset.
        requested: Offset,
        /// First stored offset.
        start: Offset,
        /// One past the last committed offset.
        end: Offset,
    },
    /// The topic name breaks the naming rules.
    #[error(transparent)]
    InvalidTopicName(#[from] InvalidTopicName),
    /// A topic setting is out of range.
    #[error("invalid topic setting: {0}")]
    InvalidConfig(String),
    /// One append is larger than a batch may be.
    #[error("batch of {size} bytes exceeds the limit of {limit} bytes; append fewer records at a time")]
    BatchTooLarge {
        /// Encoded size of the batch.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A write or fsync failed earlier; the partition refuses writes until reopened.
    #[error(
        "partition {topic}/{partition} refuses writes after an earlier write failure; restart to recover"
    )]
    Poisoned {
        /// The topic.
        topic: String,
        /// The partition.
        partition: PartitionId,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}
