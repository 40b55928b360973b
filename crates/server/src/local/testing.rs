//! A [`Backend`] for tests and examples: a plain log, produced to directly, and state kept
//! in memory. (The engine's backend produces through its commit thread and reads state
//! from its store.)

use std::{
    collections::BTreeMap,
    ops::Range,
    path::Path,
    sync::{Mutex, MutexGuard},
};

use eddy_log::{Log, Options};
use eddy_types::{Offset, PartitionId, Record};

use super::{Backend, BackendError};

/// State values by key, by (service, state).
type States = BTreeMap<(String, String), BTreeMap<Vec<u8>, serde_json::Value>>;

/// A [`Backend`] over a log this process opened, with state in a map.
#[derive(Debug)]
pub struct LogBackend {
    log: Log,
    states: Mutex<States>,
}

impl LogBackend {
    /// Opens the log of `data_dir` (in `<data-dir>/log`), taking the directory's lock.
    ///
    /// # Errors
    /// Errors of [`Log::open`].
    pub fn open(data_dir: &Path) -> eddy_log::Result<LogBackend> {
        Ok(LogBackend::new(Log::open(data_dir.join("log"), Options::default())?))
    }

    /// A backend over `log`, with no state.
    pub fn new(log: Log) -> LogBackend {
        LogBackend { log, states: Mutex::new(BTreeMap::new()) }
    }

    /// Sets `key` of `state` of `service` to `value` (creating the state).
    pub fn put_state(&self, service: &str, state: &str, key: &[u8], value: serde_json::Value) {
        self.states().entry((service.to_owned(), state.to_owned())).or_default().insert(key.to_vec(), value);
    }

    fn states(&self) -> MutexGuard<'_, States> {
        self.states.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_state<T>(
        &self,
        service: &str,
        state: &str,
        f: impl FnOnce(&BTreeMap<Vec<u8>, serde_json::Value>) -> T,
    ) -> Result<T, BackendError> {
        let states = self.states();
        let entries = states.get(&(service.to_owned(), state.to_owned())).ok_or_else(|| {
            BackendError::UnknownState { service: service.to_owned(), state: state.to_owned() }
        })?;
        Ok(f(entries))
    }
}

impl Backend for LogBackend {
    fn log(&self) -> &Log {
        &self.log
    }

    fn produce(
        &self,
        topic: &str,
        partition: PartitionId,
        records: Vec<Record>,
    ) -> Result<Range<Offset>, BackendError> {
        let partition = self.log.topic(topic)?.partition(partition)?;
        let offsets = partition.append(records.iter().map(Record::as_ref))?;
        partition.commit()?;
        Ok(offsets)
    }

    fn state_get(
        &self,
        service: &str,
        state: &str,
        key: &[u8],
    ) -> Result<Option<serde_json::Value>, BackendError> {
        self.with_state(service, state, |entries| entries.get(key).cloned())
    }

    fn state_list(
        &self,
        service: &str,
        state: &str,
    ) -> Result<Vec<(Vec<u8>, serde_json::Value)>, BackendError> {
        self.with_state(service, state, |entries| {
            entries.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        })
    }
}
