//! Eddy's embedded event log: named topics of partitions, each partition an append-only
//! sequence of CRC-checked record batches in segment files, with dense offsets, a sparse
//! offset index, a committed end that readers never pass, configurable fsync, retention
//! by age and size, and crash recovery.
//!
//! It is not a network server, does no replication and knows nothing of dataflows: the
//! engine builds those on top.
//!
//! ```
//! use eddy_log::{Log, Options, TopicConfig};
//! use eddy_types::{RecordRef, TopicName};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let log = Log::open(dir.path(), Options::default()).unwrap();
//! let topic = log.create_topic(&TopicName::new("greetings").unwrap(), TopicConfig::with_partitions(2)).unwrap();
//! let partition = topic.partition(0).unwrap();
//! partition.append([RecordRef::new(None, b"hello", 1), RecordRef::new(None, b"world", 2)]).unwrap();
//! assert_eq!(partition.committed_end(), 0); // appended, not yet visible
//! partition.commit().unwrap();
//! let batches = partition.read(0, 1 << 20).unwrap();
//! let values: Vec<&[u8]> = batches.iter().flat_map(|b| b.records()).map(|r| r.value).collect();
//! assert_eq!(values, [&b"hello"[..], &b"world"[..]]);
//! ```
//!
//! # Guarantees
//! - Offsets are dense per partition and assigned at append.
//! - Readers see records only below the committed end, which moves on `commit`.
//! - After a crash, reopening keeps every batch that reached the disk intact and cuts a
//!   torn tail (with a warning naming file and offset); damage inside the region recorded
//!   as durable is reported as [`Error::Corruption`], never papered over.
//! - One process owns a log directory at a time ([`Error::Locked`] otherwise).

mod batch;
mod checkpoint;
mod error;
mod index;
mod lock;
#[allow(clippy::module_inception)]
mod log;
mod options;
mod partition;
mod segment;
mod topic;

pub use batch::{Batch, MAX_BATCH_BYTES, ReadPosition, Records, StoredRecord};
pub use error::{Error, Result};
pub use log::Log;
pub use options::{FsyncPolicy, Options, TopicConfig};
pub use partition::{Partition, PartitionStats, RetentionOutcome};
pub use topic::Topic;
