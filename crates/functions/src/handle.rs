//! [`Handle`]: stop a running module, produce to its topics through it, read its committed
//! function state.

use std::ops::Range;
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};

use eddy_log::Log;
use eddy_state::StateStore;
use eddy_types::{Offset, PartitionId, Record};

use crate::committer::ToCommitter;
use crate::functions::Functions;
use crate::metrics::Metrics;
use crate::playground::{INVOCATIONS_TOPIC, TARGET_HEADER};
use crate::runtime::Shutdown;
use crate::{Error, Result};

/// A cheap, cloneable handle to a running module.
#[derive(Clone)]
pub struct Handle {
    log: Arc<Log>,
    store: Arc<StateStore>,
    shutdown: Arc<Shutdown>,
    committer: mpsc::Sender<ToCommitter>,
    /// The module's functions, once the runtime has made them: what invocations may target.
    functions: Arc<OnceLock<Arc<dyn Functions>>>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle").field("log", &self.log).field("store", &self.store).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ToCommitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToCommitter::Part(part) => f.debug_tuple("Part").field(part).finish(),
            ToCommitter::Produce { topic, partition, records, .. } => f
                .debug_struct("Produce")
                .field("topic", topic)
                .field("partition", partition)
                .field("records", &records.len())
                .finish_non_exhaustive(),
            ToCommitter::Stop => f.write_str("Stop"),
        }
    }
}

impl Handle {
    pub(crate) fn new(
        log: Arc<Log>,
        store: Arc<StateStore>,
        shutdown: Arc<Shutdown>,
        committer: mpsc::Sender<ToCommitter>,
        functions: Arc<OnceLock<Arc<dyn Functions>>>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self { log, store, shutdown, committer, functions, metrics }
    }

    /// Tells the committer that the shards have ended, so that it stops even while other
    /// handles (a server's) are alive.
    pub(crate) fn stop_committer(&self) {
        let _ = self.committer.send(ToCommitter::Stop);
    }

    /// The module's metrics, as last published (with each committed epoch).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Asks the module to commit its last epoch and stop. Batches in flight are committed as
    /// in flight and sent again by the next run.
    pub fn shutdown(&self) {
        self.shutdown.request();
    }

    /// The log the module runs on.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Appends `records` to a partition through the committer (the only writer of the log
    /// while the module runs) and returns their offsets once durable and visible.
    ///
    /// # Errors
    /// An unknown topic or partition, a failed write, or a module that stopped;
    /// [`Error::Unserved`] for an invocation (a record of [`INVOCATIONS_TOPIC`]) whose target
    /// type no function of the module serves: nothing is written.
    pub fn produce(
        &self,
        topic: &str,
        partition: PartitionId,
        records: Vec<Record>,
    ) -> Result<Range<Offset>> {
        if topic == INVOCATIONS_TOPIC
            && let Some(functions) = self.functions.get()
        {
            let targets = records.iter().filter_map(|record| {
                let target = record.headers.iter().find(|header| header.name == TARGET_HEADER)?;
                std::str::from_utf8(&target.value).ok()?.parse::<eddy_statefun::FunctionType>().ok()
            });
            for function_type in targets {
                if !functions.serves(&function_type) {
                    return Err(Error::Unserved { function_type });
                }
            }
        }
        let (reply, answer) = mpsc::sync_channel(1);
        self.committer
            .send(ToCommitter::Produce { topic: topic.to_owned(), partition, records, reply })
            .map_err(|_| Error::Stopped)?;
        answer.recv().map_err(|_| Error::Stopped)?
    }

    /// Whether the store holds state `state` of function type (or service) `service`.
    ///
    /// # Errors
    /// A store failure.
    pub fn has_state(&self, service: &str, state: &str) -> Result<bool> {
        Ok(self.store.states()?.iter().any(|(sv, st)| sv == service && st == state))
    }

    /// The committed value of `key` (a function id) in state `state` of `service` (a function
    /// type), as the JSON the store keeps.
    ///
    /// # Errors
    /// A store failure, or a value that is not JSON.
    pub fn state_get(&self, service: &str, state: &str, key: &[u8]) -> Result<Option<serde_json::Value>> {
        self.store.get(service, state, key)?.map(|value| json(service, state, key, &value)).transpose()
    }

    /// Every committed entry of a state, ordered by key.
    ///
    /// # Errors
    /// As [`state_get`](Self::state_get).
    pub fn state_list(&self, service: &str, state: &str) -> Result<Vec<(Vec<u8>, serde_json::Value)>> {
        self.store
            .list(service, state)
            .map(|entry| {
                let (key, value) = entry?;
                let json = json(service, state, &key, &value)?;
                Ok((key.to_vec(), json))
            })
            .collect()
    }
}

fn json(service: &str, state: &str, key: &[u8], value: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(value).map_err(|error| Error::Corrupt {
        what: format!("value of `{}` in state `{state}` of `{service}`", String::from_utf8_lossy(key)),
        reason: error.to_string(),
    })
}
