//! [`StateStore`]: the fjall database holding keyed state and commit metadata.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError, RwLock},
};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, OwnedWriteBatch, PersistMode};

use crate::{
    CommitBatch, Error, Result, View,
    batch::Target,
    encoding::{
        self, EPOCH_KEY, FORMAT_KEY, FORMAT_VERSION, MAX_KEY_LEN, MAX_STATE_KEY_LEN, SINK_END_TAG,
        STATE_ID_LEN, STATE_NAME_TAG,
    },
};

/// Raw keys up to this long are looked up without a heap allocation.
const STACK_KEY_LEN: usize = 60;

/// Keyed dataflow state and the engine's commit metadata, committed atomically once per
/// epoch. `Send + Sync`: share it behind an `Arc`. Reads see the last committed batch.
///
/// One store owns its directory: a second [`open`](Self::open), in this process or another,
/// fails with [`Error::InUse`] until the first store is dropped.
pub struct StateStore {
    dir: PathBuf,
    db: Database,
    state: Keyspace,
    meta: Keyspace,
    /// The id of every state ever written, as committed.
    registry: RwLock<Registry>,
    /// Held by `commit`; the last committed epoch once known.
    last_epoch: Mutex<Option<u64>>,
}

/// The (service, state) → id map of the meta keyspace, in memory.
#[derive(Debug, Default)]
struct Registry {
    /// service → state → id.
    ids: HashMap<String, HashMap<String, u32>>,
    /// The highest id in use; 0 when none is (ids start at 1).
    max_id: u32,
}

impl Registry {
    fn id(&self, service: &str, state: &str) -> Option<u32> {
        self.ids.get(service)?.get(state).copied()
    }

    fn insert(&mut self, service: String, state: String, id: u32) {
        self.ids.entry(service).or_default().insert(state, id);
        self.max_id = self.max_id.max(id);
    }
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// The most journal fjall keeps before it flushes memtables to tables: what a restart may
/// have to replay (fjall's minimum).
pub const MAX_JOURNAL_BYTES: u64 = 64 << 20;

/// The largest memtable of the state keyspace before it is flushed to a table.
pub const MAX_MEMTABLE_BYTES: u64 = 16 << 20;

impl StateStore {
    /// Opens the store in `dir`, creating the directory and an empty store if needed. The
    /// engine uses `<data-dir>/state`. Opening replays fjall's journal, so everything
    /// committed before a crash is there; the time this takes grows with the writes not yet
    /// flushed to fjall's tables, which is kept small ([`MAX_JOURNAL_BYTES`],
    /// [`MAX_MEMTABLE_BYTES`]) so that a restart stays fast whatever the state's size.
    ///
    /// # Errors
    /// [`Error::InUse`] if another store holds the directory (fjall locks it; in this process
    /// too), [`Error::UnsupportedFormat`] if it was written by an unknown format version,
    /// [`Error::Corrupt`] if the table of state ids is damaged, [`Error::Storage`] on I/O
    /// errors or damaged files.
    pub fn open(dir: &Path) -> Result<StateStore> {
        let fjall_error = |e| Error::fjall(dir, e);
        let db = Database::builder(dir).max_journaling_size(MAX_JOURNAL_BYTES).open().map_err(fjall_error)?;
        let state = db
            .keyspace(encoding::STATE_KEYSPACE, || {
                KeyspaceCreateOptions::default().max_memtable_size(MAX_MEMTABLE_BYTES)
            })
            .map_err(fjall_error)?;
        let meta =
            db.keyspace(encoding::META_KEYSPACE, KeyspaceCreateOptions::default).map_err(fjall_error)?;
        let store = StateStore {
            dir: dir.to_path_buf(),
            db,
            state,
            meta,
            registry: RwLock::default(),
            last_epoch: Mutex::new(None),
        };
        if let Some(value) = store.meta.get(FORMAT_KEY).map_err(fjall_error)? {
            let found =
                encoding::decode_u32(&value).map_err(|reason| store.corrupt("format version", reason))?;
            if found != FORMAT_VERSION {
                return Err(Error::UnsupportedFormat { path: store.dir, found, supported: FORMAT_VERSION });
            }
        }
        let registry = store.load_registry()?;
        *store.registry.write().unwrap_or_else(PoisonError::into_inner) = registry;
        Ok(store)
    }

    /// Writes what the journal holds into fjall's tables and lets the journal go, so that the
    /// next open has nothing to replay. The engine calls it when a dataflow stops cleanly;
    /// after a crash, the replay is bounded by [`MAX_JOURNAL_BYTES`].
    ///
    /// # Errors
    /// [`Error::Storage`] if fjall cannot write its tables.
    pub fn flush_journal(&self) -> Result<()> {
        let fjall_error = |e| Error::fjall(&self.dir, e);
        // `rotate_memtable_and_wait` is fjall's (hidden) way to flush a keyspace now; the
        // version is pinned by the lock file.
        self.state.rotate_memtable_and_wait().map_err(fjall_error)?;
        self.meta.rotate_memtable_and_wait().map_err(fjall_error)?;
        Ok(())
    }

    /// The directory of the store.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The committed value of `key` in state `state` of service `service`.
    ///
    /// # Errors
    /// [`Error::Storage`] if the storage engine fails to read.
    pub fn get(&self, service: &str, state: &str, key: &[u8]) -> Result<Option<View>> {
        let Some(id) = self.state_id(service, state) else { return Ok(None) };
        let value = if key.len() <= STACK_KEY_LEN {
            let mut buf = [0u8; STATE_ID_LEN + STACK_KEY_LEN];
            let len = STATE_ID_LEN + key.len();
            buf[..STATE_ID_LEN].copy_from_slice(&id.to_be_bytes());
            buf[STATE_ID_LEN..len].copy_from_slice(key);
            self.state.get(&buf[..len])
        } else if key.len() <= MAX_STATE_KEY_LEN {
            let mut buf = Vec::with_capacity(STATE_ID_LEN + key.len());
            encoding::push_state_key(&mut buf, id, key);
            self.state.get(&buf)
        } else {
            return Ok(None);
        };
        Ok(value.map_err(|e| self.fjall_error(e))?.map(View::whole))
    }

    /// Every committed `(key, value)` of state `state` of service `service`, in key order
    /// (bytewise). The iterator reads a snapshot taken when it is created: commits made
    /// while it runs are not seen.
    pub fn list(&self, service: &str, state: &str) -> Entries {
        let inner = self.state_id(service, state).map(|id| self.state.prefix(id.to_be_bytes()));
        Entries { inner, dir: self.dir.clone() }
    }

    /// The `(service, state)` pairs that hold at least one key, sorted. Costs one seek per
    /// state ever written, not a scan of every key.
    ///
    /// # Errors
    /// [`Error::Storage`] if the storage engine fails to read.
    pub fn states(&self) -> Result<Vec<(String, String)>> {
        let registered: Vec<(String, String, u32)> = {
            let registry = self.registry.read().unwrap_or_else(PoisonError::into_inner);
            registry
                .ids
                .iter()
                .flat_map(|(service, states)| {
                    states.iter().map(|(state, id)| (service.clone(), state.clone(), *id))
                })
                .collect()
        };
        let mut states = Vec::new();
        for (service, state, id) in registered {
            if let Some(guard) = self.state.prefix(id.to_be_bytes()).next() {
                guard.key().map_err(|e| self.fjall_error(e))?;
                states.push((service, state));
            }
        }
        states.sort_unstable();
        Ok(states)
    }

    /// The last committed epoch: 0 when nothing was committed.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if the stored epoch is not 8 bytes, [`Error::Storage`] if the
    /// storage engine fails to read.
    pub fn epoch(&self) -> Result<u64> {
        Ok(self.meta_u64(EPOCH_KEY, || "committed epoch".to_owned())?.unwrap_or(0))
    }

    /// The offset service `service` reads next in `topic` partition `partition`, as of the
    /// last commit; `None` if no commit recorded one.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if the stored offset is not 8 bytes, [`Error::Storage`] if the
    /// storage engine fails to read.
    pub fn source_offset(&self, service: &str, topic: &str, partition: u32) -> Result<Option<u64>> {
        let key = encoding::source_offset_key(service, topic, partition);
        if key.len() > MAX_KEY_LEN {
            return Ok(None);
        }
        self.meta_u64(&key, || {
            format!("source offset of service '{service}' in topic '{topic}' partition {partition}")
        })
    }

    /// Every recorded sink end as `(topic, partition, end offset)`, sorted by topic name
    /// length, then name, then partition. The engine truncates each sink partition of the
    /// log to its end on start.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if a stored key or value is not shaped as this crate writes them,
    /// [`Error::Storage`] if the storage engine fails to read.
    pub fn sink_ends(&self) -> Result<Vec<(String, u32, u64)>> {
        let mut ends = Vec::new();
        for guard in self.meta.prefix([SINK_END_TAG]) {
            let (key, value) = guard.into_inner().map_err(|e| self.fjall_error(e))?;
            let (topic, partition) = encoding::split_sink_end_key(&key)
                .ok_or_else(|| self.corrupt("sink end key", format!("not a topic and partition: {key:?}")))?;
            let topic = self.utf8(topic, "sink topic name")?;
            let end = encoding::decode_u64(&value).map_err(|reason| {
                self.corrupt(format!("sink end of topic '{topic}' partition {partition}"), reason)
            })?;
            ends.push((topic, partition, end));
        }
        Ok(ends)
    }

    /// Writes everything in `batch`, and the batch's epoch as the last committed one, as one
    /// atomic fjall write batch, and fsyncs fjall's journal (`PersistMode::SyncAll`) before
    /// making it visible to readers and returning. After a crash at any moment, either all
    /// of the batch is there or none of it. Commits are serialized.
    ///
    /// # Errors
    /// [`Error::EpochNotAfter`] if the batch's epoch is not greater than the last committed
    /// one; [`Error::KeyTooLong`] or [`Error::TooLarge`] if the batch recorded a write the
    /// storage engine cannot hold (nothing is written then); [`Error::Poisoned`] if an earlier
    /// write failed to reach the disk; [`Error::Storage`] on I/O errors (after which the store
    /// is poisoned: restart to recover from the last committed epoch).
    pub fn commit(&self, batch: CommitBatch) -> Result<()> {
        let mut parts = batch.into_parts()?;
        let mut last_epoch = self.last_epoch.lock().unwrap_or_else(PoisonError::into_inner);
        let last = match *last_epoch {
            Some(last) => last,
            None => self.epoch()?,
        };
        if parts.epoch <= last {
            return Err(Error::EpochNotAfter { epoch: parts.epoch, last });
        }

        // The id of each state of the batch: the registered one, a new one for a state the
        // batch puts keys in, or 0 for one it only deletes from (it holds nothing: skipped).
        let mut ids = Vec::with_capacity(parts.states.len());
        let mut new_states = Vec::new();
        {
            let registry = self.registry.read().unwrap_or_else(PoisonError::into_inner);
            let mut max_id = registry.max_id;
            for (index, state) in parts.states.iter().enumerate() {
                let id = match registry.id(&state.service, &state.state) {
                    Some(id) => id,
                    None if state.has_put => {
                        max_id = max_id.checked_add(1).ok_or_else(|| Error::TooLarge {
                            what: "the number of states".to_owned(),
                            len: u32::MAX as usize + 1,
                            limit: u32::MAX as usize,
                        })?;
                        new_states.push((index, max_id));
                        max_id
                    }
                    None => 0,
                };
                ids.push(id);
            }
        }

        parts.sort(&ids);
        let mut writes = OwnedWriteBatch::with_capacity(self.db.clone(), parts.len() + new_states.len() + 2)
            .durability(Some(PersistMode::SyncAll));
        let mut key = Vec::with_capacity(64);
        for (target, raw_key, value) in parts.writes() {
            let (keyspace, key) = match target {
                Target::State(index) => match ids.get(index as usize) {
                    Some(&id) if id != 0 => {
                        key.clear();
                        encoding::push_state_key(&mut key, id, raw_key);
                        (&self.state, key.as_slice())
                    }
                    _ => continue,
                },
                Target::Meta => (&self.meta, raw_key),
            };
            match value {
                Some(value) => writes.insert(keyspace, key, value),
                None => writes.remove(keyspace, key),
            }
        }
        for &(index, id) in &new_states {
            let state = &parts.states[index];
            key.clear();
            encoding::push_state_name_key(&mut key, &state.service, &state.state);
            writes.insert(&self.meta, key.as_slice(), id.to_be_bytes());
        }
        writes.insert(&self.meta, EPOCH_KEY, parts.epoch.to_be_bytes());
        writes.insert(&self.meta, FORMAT_KEY, FORMAT_VERSION.to_be_bytes());
        writes.commit().map_err(|e| self.fjall_error(e))?;

        if !new_states.is_empty() {
            let mut registry = self.registry.write().unwrap_or_else(PoisonError::into_inner);
            for (index, id) in new_states {
                let state = &mut parts.states[index];
                registry.insert(std::mem::take(&mut state.service), std::mem::take(&mut state.state), id);
            }
        }
        *last_epoch = Some(parts.epoch);
        Ok(())
    }

    /// Reads the table of state ids from the meta keyspace.
    fn load_registry(&self) -> Result<Registry> {
        let mut registry = Registry::default();
        let mut seen = HashSet::new();
        for guard in self.meta.prefix([STATE_NAME_TAG]) {
            let (key, value) = guard.into_inner().map_err(|e| self.fjall_error(e))?;
            let (service, state) = encoding::split_state_name_key(&key)
                .ok_or_else(|| self.corrupt("state name key", format!("not two names: {key:?}")))?;
            let service = self.utf8(service, "service name")?;
            let state = self.utf8(state, "state name")?;
            let what = || format!("id of state '{state}' of service '{service}'");
            let id = encoding::decode_u32(&value).map_err(|reason| self.corrupt(what(), reason))?;
            if id == 0 || !seen.insert(id) {
                return Err(self.corrupt(what(), format!("id {id} is 0 or used by another state")));
            }
            registry.insert(service, state, id);
        }
        Ok(registry)
    }

    /// The id of state `state` of service `service`, if a commit ever put a key in it.
    fn state_id(&self, service: &str, state: &str) -> Option<u32> {
        self.registry.read().unwrap_or_else(PoisonError::into_inner).id(service, state)
    }

    /// Reads an 8-byte number from the meta keyspace.
    fn meta_u64(&self, key: &[u8], what: impl FnOnce() -> String) -> Result<Option<u64>> {
        let Some(value) = self.meta.get(key).map_err(|e| self.fjall_error(e))? else {
            return Ok(None);
        };
        encoding::decode_u64(&value).map(Some).map_err(|reason| self.corrupt(what(), reason))
    }

    fn utf8(&self, bytes: &[u8], what: &str) -> Result<String> {
        match std::str::from_utf8(bytes) {
            Ok(name) => Ok(name.to_owned()),
            Err(e) => Err(self.corrupt(what, format!("{e}: {:?}", bytes.escape_ascii().to_string()))),
        }
    }

    fn fjall_error(&self, error: fjall::Error) -> Error {
        Error::fjall(&self.dir, error)
    }

    fn corrupt(&self, what: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::corrupt(&self.dir, what, reason)
    }
}

/// The entries of one state, from [`StateStore::list`]: `(key, value)` in key order.
pub struct Entries {
    /// `None` for a state that was never written.
    inner: Option<fjall::Iter>,
    dir: PathBuf,
}

impl Entries {
    fn item(&self, guard: fjall::Guard) -> Result<(View, View)> {
        let (key, value) = guard.into_inner().map_err(|e| Error::fjall(&self.dir, e))?;
        Ok((View::new(key, STATE_ID_LEN), View::whole(value)))
    }
}

impl Iterator for Entries {
    type Item = Result<(View, View)>;

    fn next(&mut self) -> Option<Self::Item> {
        let guard = self.inner.as_mut()?.next()?;
        Some(self.item(guard))
    }
}

impl DoubleEndedIterator for Entries {
    fn next_back(&mut self) -> Option<Self::Item> {
        let guard = self.inner.as_mut()?.next_back()?;
        Some(self.item(guard))
    }
}

impl std::fmt::Debug for Entries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries").field("dir", &self.dir).finish_non_exhaustive()
    }
}
