//! Where a command runs: through the process that holds the data directory (`eddy run`,
//! reached over `<data-dir>/eddy.sock`, see `eddy_server::local`), or, when none answers,
//! on the data directory opened by this process. Every command is written once, against
//! [`Target`].

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::Context;
use eddy_log::{Log, Partition, Topic, TopicConfig};
use eddy_server::local::{
    BackendError, Client, ConsumeRequest, ConsumedRecord, Consumer, LogReader, Poll, Producer,
    TopicDescription, TopicInfo, describe_topic, enforce_retention, list_topics,
};
use eddy_state::StateStore;
use eddy_types::{PartitionId, RecordRef, TopicName};

use crate::commands::app::FUNCTIONS_STATE_DIR;
use crate::commands::open_log;

/// A state entry: key and JSON value.
pub(crate) type Entry = (Vec<u8>, serde_json::Value);

/// What the commands act on.
pub(crate) enum Target {
    /// No process serves the data directory: this one opens what a command needs.
    Direct(Direct),
    /// A running process serves the data directory.
    Remote(Client),
}

/// The data directory, opened by this process as far as needed.
pub(crate) struct Direct {
    data_dir: PathBuf,
    log: Option<Log>,
}

impl Direct {
    /// The log, opened (and locked) on first use. Records of an epoch that a stopped
    /// dataflow did not commit are removed first, so they are never read.
    fn log(&mut self) -> anyhow::Result<&Log> {
        match &mut self.log {
            Some(log) => Ok(log),
            slot @ None => {
                let log = open_log(&self.data_dir)?;
                for dir in ["state", FUNCTIONS_STATE_DIR] {
                    if self.data_dir.join(dir).is_dir() {
                        let store = open_store(&self.data_dir, dir)?;
                        eddy_engine::roll_back_uncommitted(&log, &store).with_context(|| {
                            format!("cannot roll back the uncommitted epoch in '{}'", self.data_dir.display())
                        })?;
                    }
                }
                Ok(slot.insert(log))
            }
        }
    }

    /// The state store of the last `eddy run` holding `service`'s state: a function type's
    /// (`namespace/name`) is in the functions' own store when a dataflow file declared the
    /// functions, else in `state`.
    fn state(&self, service: &str) -> anyhow::Result<StateStore> {
        if service.contains('/') && self.data_dir.join(FUNCTIONS_STATE_DIR).is_dir() {
            return open_store(&self.data_dir, FUNCTIONS_STATE_DIR);
        }
        open_store(&self.data_dir, "state")
    }
}

fn open_store(data_dir: &Path, name: &str) -> anyhow::Result<StateStore> {
    let dir = data_dir.join(name);
    if !dir.is_dir() {
        anyhow::bail!("no state in {}: run a dataflow with `eddy run` first", data_dir.display());
    }
    StateStore::open(&dir).with_context(|| format!("cannot use data directory '{}'", data_dir.display()))
}

impl Target {
    /// Goes through the process serving `data_dir` if one answers, else works on it directly.
    ///
    /// # Errors
    /// A process accepted the connection but did not answer as an eddy process should.
    pub(crate) fn connect(data_dir: &Path) -> anyhow::Result<Target> {
        Ok(match Client::connect(data_dir)? {
            Some(client) => {
                tracing::debug!(
                    pid = client.server_pid(),
                    "going through the process serving the data directory"
                );
                Target::Remote(client)
            }
            None => Target::Direct(Direct { data_dir: data_dir.to_owned(), log: None }),
        })
    }

    pub(crate) fn create_topic(&mut self, name: &TopicName, config: TopicConfig) -> anyhow::Result<()> {
        match self {
            Target::Direct(direct) => drop(direct.log()?.create_topic(name, config)?),
            Target::Remote(client) => client.create_topic(name.as_str(), &config)?,
        }
        Ok(())
    }

    pub(crate) fn topics(&mut self) -> anyhow::Result<Vec<TopicInfo>> {
        Ok(match self {
            Target::Direct(direct) => list_topics(direct.log()?),
            Target::Remote(client) => client.topics()?,
        })
    }

    pub(crate) fn describe_topic(&mut self, name: &str) -> anyhow::Result<TopicDescription> {
        Ok(match self {
            Target::Direct(direct) => describe_topic(direct.log()?, name)?,
            Target::Remote(client) => client.describe_topic(name)?,
        })
    }

    pub(crate) fn delete_topic(&mut self, name: &str) -> anyhow::Result<()> {
        match self {
            Target::Direct(direct) => direct.log()?.delete_topic(name)?,
            Target::Remote(client) => client.delete_topic(name)?,
        }
        Ok(())
    }

    /// Starts producing to `topic`; `partition`, if given, must exist.
    pub(crate) fn produce(
        &mut self,
        topic: &str,
        partition: Option<PartitionId>,
    ) -> anyhow::Result<Sink<'_>> {
        Ok(match self {
            Target::Direct(direct) => {
                let topic = direct.log()?.topic(topic)?;
                if let Some(id) = partition {
                    topic.partition(id)?;
                }
                let n = topic.partition_count() as usize;
                Sink::Direct(DirectSink { topic, partitions: vec![None; n], touched: vec![false; n] })
            }
            Target::Remote(client) => Sink::Remote(client.produce(topic, partition)?),
        })
    }

    pub(crate) fn consume(&mut self, request: &ConsumeRequest) -> anyhow::Result<Records<'_>> {
        Ok(match self {
            Target::Direct(direct) => Records::Direct(LogReader::open(direct.log()?, request)?),
            Target::Remote(client) => Records::Remote(client.consume(request)?),
        })
    }

    /// The committed value of a key, as JSON; `None` if the state has no such key.
    pub(crate) fn state_get(
        &mut self,
        service: &str,
        state: &str,
        key: &[u8],
    ) -> anyhow::Result<Option<serde_json::Value>> {
        match self {
            Target::Direct(direct) => {
                let store = direct.state(service)?;
                let value = store.get(service, state, key)?;
                if value.is_none() {
                    known_state(&store, service, state)?;
                }
                value.map(|v| json(&v, service, state)).transpose()
            }
            Target::Remote(client) => Ok(client.state_get(service, state, key)?),
        }
    }

    /// Every committed entry of a state, ordered by key.
    pub(crate) fn state_list(&mut self, service: &str, state: &str) -> anyhow::Result<Vec<Entry>> {
        match self {
            Target::Direct(direct) => {
                let store = direct.state(service)?;
                let entries = store
                    .list(service, state)
                    .map(|entry| {
                        let (key, value) = entry?;
                        Ok((key.to_vec(), json(&value, service, state)?))
                    })
                    .collect::<anyhow::Result<Vec<Entry>>>()?;
                if entries.is_empty() {
                    known_state(&store, service, state)?;
                }
                Ok(entries)
            }
            Target::Remote(client) => Ok(client.state_list(service, state)?),
        }
    }
}

/// Fails unless the store holds state `state` of `service` (a state with no keys is not
/// stored at all, so it is unknown here too).
fn known_state(store: &StateStore, service: &str, state: &str) -> anyhow::Result<()> {
    if store.states()?.iter().any(|(sv, st)| sv == service && st == state) {
        return Ok(());
    }
    Err(BackendError::UnknownState { service: service.to_owned(), state: state.to_owned() }.into())
}

/// A stored value as JSON. The engine's own services (`~…`) keep some values in binary
/// (the functions runtime's invocation queues): those show as `{"binary": "<hex>"}`.
fn json(bytes: &[u8], service: &str, state: &str) -> anyhow::Result<serde_json::Value> {
    match serde_json::from_slice(bytes) {
        Err(_) if service.starts_with('~') => {
            let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
            Ok(serde_json::json!({ "binary": hex }))
        }
        parsed => {
            parsed.with_context(|| format!("a value in state '{state}' of service '{service}' is not JSON"))
        }
    }
}

/// Where `eddy produce` sends its batches.
pub(crate) enum Sink<'t> {
    /// Appended to the log here, committed per chunk of input.
    Direct(DirectSink),
    /// Sent to the serving process, which commits each batch before acking it.
    Remote(Producer<'t>),
}

/// A topic of a log this process opened, being produced to.
pub(crate) struct DirectSink {
    topic: Arc<Topic>,
    /// Partitions opened so far.
    partitions: Vec<Option<Arc<Partition>>>,
    /// Partitions appended to since the last commit.
    touched: Vec<bool>,
}

impl DirectSink {
    fn partition(&mut self, id: PartitionId) -> anyhow::Result<Arc<Partition>> {
        let slot = &mut self.partitions[id as usize];
        if let Some(partition) = slot {
            return Ok(Arc::clone(partition));
        }
        let partition = self.topic.partition(id)?;
        *slot = Some(Arc::clone(&partition));
        Ok(partition)
    }
}

impl Sink<'_> {
    /// The topic's number of partitions.
    pub(crate) fn partitions(&self) -> u32 {
        match self {
            Sink::Direct(direct) => direct.topic.partition_count(),
            Sink::Remote(producer) => producer.partitions(),
        }
    }

    /// Appends `records` to a partition as one batch.
    pub(crate) fn append<'a>(
        &mut self,
        partition: PartitionId,
        records: impl IntoIterator<Item = RecordRef<'a>>,
    ) -> anyhow::Result<()> {
        match self {
            Sink::Direct(direct) => {
                direct.partition(partition)?.append(records)?;
                direct.touched[partition as usize] = true;
            }
            Sink::Remote(producer) => producer.send(partition, records)?,
        }
        Ok(())
    }

    /// Makes what was appended visible (the serving process does that per batch itself).
    pub(crate) fn commit(&mut self) -> anyhow::Result<()> {
        if let Sink::Direct(direct) = self {
            for (id, touched) in direct.touched.iter_mut().enumerate() {
                if std::mem::take(touched)
                    && let Some(partition) = &direct.partitions[id]
                {
                    partition.commit()?;
                }
            }
        }
        Ok(())
    }

    /// Waits until everything appended is durable, then applies the topic's retention.
    pub(crate) fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Direct(direct) => {
                // Commits and fsyncs every partition opened.
                direct.topic.sync()?;
                enforce_retention(&direct.topic)?;
            }
            Sink::Remote(producer) => drop(producer.finish()?),
        }
        Ok(())
    }
}

/// Where `eddy consume` reads records from.
pub(crate) enum Records<'t> {
    Direct(LogReader),
    Remote(Consumer<'t>),
}

impl Records<'_> {
    /// Hands the next records to `each`; see [`Poll`].
    pub(crate) fn poll(
        &mut self,
        each: impl FnMut(&ConsumedRecord<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<Poll> {
        match self {
            Records::Direct(reader) => reader.poll(each),
            Records::Remote(consumer) => consumer.poll(each),
        }
    }
}
