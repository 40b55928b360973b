//! Returning the log to the last committed epoch, and where each source resumes.
//!
//! The store records, with every epoch, the end of each sink partition the epoch wrote. A
//! crash between an epoch's flush and its store commit leaves records past that end: they
//! were never acknowledged, and the epoch will be replayed, so they are cut off. This runs
//! before a dataflow starts, and whenever the CLI opens a data directory whose dataflow is
//! not running, so nobody ever reads records of an epoch that did not commit.

use eddy_dataflow::StartOffset;
use eddy_log::{Log, Partition};
use eddy_state::StateStore;
use eddy_types::Offset;

use crate::Result;

/// Truncates every recorded sink partition to its recorded end. Returns how many records
/// were removed.
///
/// # Errors
/// A log or store failure.
pub fn roll_back_uncommitted(log: &Log, store: &StateStore) -> Result<u64> {
    let mut removed = 0;
    for (topic, partition, end) in store.sink_ends()? {
        let Ok(topic) = log.topic(&topic) else { continue };
        let Ok(p) = topic.partition(partition) else { continue };
        let committed = p.committed_end();
        if committed > end {
            tracing::warn!(
                topic = %topic.name(), partition, from = end, to = committed,
                "removing records of an epoch that did not commit"
            );
            p.truncate(end)?;
            removed += committed - end;
        }
    }
    Ok(removed)
}

/// The first offset to read when a service has no committed position.
pub(crate) fn start_position(partition: &Partition, start: StartOffset) -> Offset {
    let first = partition.start_offset();
    let end = partition.committed_end();
    match start {
        StartOffset::Beginning(skip) => first.saturating_add(skip).min(end),
        StartOffset::End(back) => end.saturating_sub(back).max(first),
        StartOffset::Absolute(offset) => offset.max(first),
    }
}
