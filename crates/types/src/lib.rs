//! Vocabulary shared by every Eddy crate: records, offsets, event time, validated topic
//! names, key partitioning, projections of values and human-friendly byte sizes.
//!
//! This crate does no I/O and depends on no other Eddy crate.
//!
//! ```
//! use eddy_types::{partition_for_key, Record, TopicName};
//!
//! let topic = TopicName::new("sensor-readings").unwrap();
//! let record = Record::new(Some("sensor-7"), r#"{"temp":31.5}"#, 1_700_000_000_000);
//! let partition = partition_for_key(record.key.as_deref().unwrap(), 4);
//! assert!(partition < 4);
//! assert_eq!(topic.as_str(), "sensor-readings");
//! ```

mod byte_size;
mod partitioner;
mod projection;
mod record;
mod time;
mod topic_name;

pub use byte_size::{ByteSize, ParseByteSizeError};
pub use partitioner::{murmur2, partition_for_key};
pub use projection::Projection;
pub use record::{Header, Record, RecordRef};
pub use time::{Timestamp, now_millis};
pub use topic_name::{InvalidTopicName, TopicName};

/// Position of a record within one partition. Offsets are dense: 0, 1, 2, ...
pub type Offset = u64;

/// Index of a partition within a topic, `0..partitions`.
pub type PartitionId = u32;
