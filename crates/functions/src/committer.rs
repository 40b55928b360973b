//! The committer: one thread that closes epochs and, while a module runs, the only writer
//! of the log.
//!
//! Each shard sends its part of an epoch (what changed up to its snapshot, and the messages
//! that were in transit to it); once every shard's part is in, the parts commit as one:
//!
//! ```text
//!  1. append the epoch's egress records, `flush` each touched partition
//!     (written and fsynced, invisible to readers)
//!  2. one atomic, synced state-store batch: state changes, invocation state, delayed
//!     messages, ingress positions, and the end of every touched egress partition
//!  3. `publish_to(end)`: readers see the epoch's records
//! ```
//!
//! A crash before 2 leaves flushed records past the recorded ends; a restart truncates them
//! (`eddy_engine::roll_back_uncommitted`). The first time an epoch writes to a partition the
//! store has no end for, its current end is committed first, so that a crash in that epoch
//! is rolled back like any other. Records produced from outside (`Handle::produce`) go
//! through this thread too.
//!
//! An epoch in which every shard was idle at its snapshot and no message was in transit is a
//! quiescent one: with `until_idle` it is the last, and every shard stops once it commits.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

use eddy_log::{Log, Partition, TopicConfig};
use eddy_state::{CommitBatch, StateStore};
use eddy_types::{Offset, Record, now_millis, partition_for_key};
use tokio::sync::mpsc::UnboundedSender;

use crate::egress::EgressRecord;
use crate::{Error, Result};

/// Records appended as one log batch, at most.
const APPEND_CHUNK: usize = 4096;

/// A write to a state of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StateWrite {
    pub(crate) service: String,
    pub(crate) state: String,
    pub(crate) key: Vec<u8>,
    /// `None` deletes the key.
    pub(crate) value: Option<Vec<u8>>,
}

/// Everything one epoch commits.
#[derive(Debug, Default)]
pub(crate) struct EpochWrites {
    pub(crate) state: Vec<StateWrite>,
    /// (ingress id, topic, partition, next offset).
    pub(crate) offsets: Vec<(String, String, u32, Offset)>,
    pub(crate) egress: Vec<EgressRecord>,
    /// The last epoch of the run: the committer stops after it.
    pub(crate) last: bool,
}

/// One shard's part of an epoch.
#[derive(Debug, Default)]
pub(crate) struct Part {
    /// The epoch's number in this run (the same in every shard's part).
    pub(crate) epoch: u64,
    /// What changed in the shard up to its snapshot, the messages in transit to it included.
    pub(crate) writes: EpochWrites,
    /// Messages in transit to the shard at the cut.
    pub(crate) in_transit: usize,
    /// Whether the shard had nothing left to do at its snapshot.
    pub(crate) idle: bool,
}

/// Requests to the committer.
pub(crate) enum ToCommitter {
    Part(Box<Part>),
    Produce {
        topic: String,
        partition: u32,
        records: Vec<Record>,
        reply: SyncSender<Result<Range<Offset>>>,
    },
    /// The loop has ended (cleanly or not): stop, though handles may still hold senders.
    Stop,
}

/// What the committer tells every shard after an epoch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Committed {
    /// The epoch's number in this run.
    pub(crate) epoch: u64,
    /// Egress records the epoch made visible.
    pub(crate) egress_records: usize,
    /// The run's last epoch: asked for, or quiescent under `until_idle`.
    pub(crate) last: bool,
}

pub(crate) struct Committer {
    pub(crate) log: Arc<Log>,
    pub(crate) store: Arc<StateStore>,
    pub(crate) inbox: Receiver<ToCommitter>,
    /// One per shard.
    pub(crate) acks: Vec<UnboundedSender<Result<Committed>>>,
    /// The parts of the epoch being gathered.
    pub(crate) parts: Vec<Part>,
    /// Whether a quiescent epoch is the last.
    pub(crate) until_idle: bool,
    /// The number of the last store commit; the store requires it to grow.
    pub(crate) commit_number: u64,
    /// Partitions whose end the store records.
    pub(crate) recorded: HashSet<(String, u32)>,
    /// Where the next keyless record of a topic goes.
    pub(crate) round_robin: HashMap<String, u32>,
}

impl Committer {
    pub(crate) fn new(
        log: Arc<Log>,
        store: Arc<StateStore>,
        inbox: Receiver<ToCommitter>,
        acks: Vec<UnboundedSender<Result<Committed>>>,
        until_idle: bool,
    ) -> Result<Self> {
        let commit_number = store.epoch()?;
        let recorded =
            store.sink_ends()?.into_iter().map(|(topic, partition, _)| (topic, partition)).collect();
        Ok(Self {
            log,
            store,
            inbox,
            acks,
            parts: Vec::new(),
            until_idle,
            commit_number,
            recorded,
            round_robin: HashMap::new(),
        })
    }

    pub(crate) fn run(mut self) {
        while let Ok(request) = self.inbox.recv() {
            match request {
                ToCommitter::Part(part) => {
                    self.parts.push(*part);
                    if self.parts.len() < self.acks.len() {
                        continue;
                    }
                    let result = self.commit_parts();
                    let stop = result.as_ref().map_or(true, |committed| committed.last);
                    // A failure goes to the first shard; the others learn that the run stopped.
                    let others = result.as_ref().map(|committed| *committed).map_err(|_| ());
                    if let Some((first, rest)) = self.acks.split_first() {
                        let _ = first.send(result);
                        for ack in rest {
                            let _ = ack.send(others.map_err(|()| Error::Stopped));
                        }
                    }
                    if stop {
                        return;
                    }
                }
                ToCommitter::Produce { topic, partition, records, reply } => {
                    let _ = reply.send(self.produce(&topic, partition, &records));
                }
                ToCommitter::Stop => return,
            }
        }
    }

    /// The partition `record` goes to.
    fn partition_of(&mut self, record: &EgressRecord) -> Result<Arc<Partition>> {
        let topic = match self.log.topic(record.topic.as_str()) {
            Ok(topic) => topic,
            Err(eddy_log::Error::UnknownTopic(_)) => {
                tracing::info!(topic = %record.topic, "creating egress topic");
                self.log.create_topic(&record.topic, TopicConfig::default())?
            }
            Err(error) => return Err(error.into()),
        };
        let partitions = topic.partition_count();
        let id = match &record.key {
            Some(key) => partition_for_key(key, partitions),
            None => {
                let next = self.round_robin.entry(record.topic.as_str().to_owned()).or_default();
                let id = *next % partitions;
                *next = next.wrapping_add(1);
                id
            }
        };
        Ok(topic.partition(id)?)
    }

    /// Records the current end of a partition the store has no end for, in a commit of its own.
    fn ensure_recorded(&mut self, topic: &str, partition: &Partition) -> Result<()> {
        let key = (topic.to_owned(), partition.id());
        if self.recorded.contains(&key) {
            return Ok(());
        }
        let mut batch = CommitBatch::new(self.commit_number + 1);
        batch.set_sink_end(topic, partition.id(), partition.committed_end());
        self.store.commit(batch)?;
        self.commit_number += 1;
        self.recorded.insert(key);
        Ok(())
    }

    /// Commits the gathered parts as one epoch.
    fn commit_parts(&mut self) -> Result<Committed> {
        let parts = std::mem::take(&mut self.parts);
        let epoch = parts.first().map_or(0, |part| part.epoch);
        if let Some(other) = parts.iter().find(|part| part.epoch != epoch) {
            return Err(Error::Internal(format!("parts of epochs {epoch} and {} meet", other.epoch)));
        }
        let quiescent = parts.iter().all(|part| part.idle && part.in_transit == 0);
        let mut writes = EpochWrites::default();
        for part in parts {
            writes.last |= part.writes.last;
            writes.state.extend(part.writes.state);
            writes.offsets.extend(part.writes.offsets);
            writes.egress.extend(part.writes.egress);
        }
        let last = writes.last || (self.until_idle && quiescent);
        let egress_records = self.commit(writes)?;
        if last {
            // A clean stop leaves no journal to replay: the next start is quick.
            self.store.flush_journal()?;
        }
        Ok(Committed { epoch, egress_records, last })
    }

    /// Commits one epoch's writes; how many egress records it made visible.
    fn commit(&mut self, writes: EpochWrites) -> Result<usize> {
        // Group the egress records by partition, keeping their order.
        let mut groups: Vec<(String, Arc<Partition>, Vec<Record>)> = Vec::new();
        let mut index: HashMap<(String, u32), usize> = HashMap::new();
        let egress_records = writes.egress.len();
        let timestamp = now_millis();
        for record in writes.egress {
            let partition = self.partition_of(&record)?;
            let slot =
                *index.entry((record.topic.as_str().to_owned(), partition.id())).or_insert_with(|| {
                    groups.push((record.topic.as_str().to_owned(), Arc::clone(&partition), Vec::new()));
                    groups.len() - 1
                });
            groups[slot].2.push(Record::new(record.key, record.value, timestamp));
        }
        let mut touched = Vec::with_capacity(groups.len());
        for (topic, partition, records) in &groups {
            self.ensure_recorded(topic, partition)?;
            for chunk in records.chunks(APPEND_CHUNK) {
                partition.append(chunk.iter().map(Record::as_ref))?;
            }
            touched.push((topic.as_str(), partition, partition.flush()?));
        }
        let mut batch = CommitBatch::new(self.commit_number + 1);
        for (topic, partition, end) in &touched {
            batch.set_sink_end(topic, partition.id(), *end);
        }
        for write in &writes.state {
            match &write.value {
                Some(value) => batch.put_state(&write.service, &write.state, &write.key, value),
                None => batch.delete_state(&write.service, &write.state, &write.key),
            }
        }
        for (ingress, topic, partition, next) in &writes.offsets {
            batch.set_source_offset(ingress, topic, *partition, *next);
        }
        self.store.commit(batch)?;
        self.commit_number += 1;
        for (_, partition, end) in touched {
            partition.publish_to(end);
        }
        Ok(egress_records)
    }

    /// Appends records from outside and makes them durable and visible. A partition that
    /// egress writes gets its new end recorded first, so a restart does not take them back.
    fn produce(&mut self, topic: &str, partition: u32, records: &[Record]) -> Result<Range<Offset>> {
        let p = self.log.topic(topic)?.partition(partition)?;
        let start = p.committed_end();
        for chunk in records.chunks(APPEND_CHUNK) {
            p.append(chunk.iter().map(Record::as_ref))?;
        }
        let end = p.flush()?;
        if self.recorded.contains(&(topic.to_owned(), partition)) {
            let mut batch = CommitBatch::new(self.commit_number + 1);
            batch.set_sink_end(topic, partition, end);
            self.store.commit(batch)?;
            self.commit_number += 1;
        }
        p.publish_to(end);
        Ok(start..end)
    }
}
