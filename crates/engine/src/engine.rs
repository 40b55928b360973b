//! Starting a dataflow: bind the plan to the log, roll back what did not commit, resume
//! every source partition where the last epoch left it (a topic offset, or the count of events
//! a generator partition made), assign source partitions to workers round-robin, and start
//! the workers and the committer.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use eddy_dataflow::Plan;
use eddy_log::Log;
use eddy_state::{CommitBatch, StateStore};
use eddy_types::{Offset, Record};
use serde_json::Value;

use crate::committer::{Committer, RunSummary, ToCommitter};
use crate::generator::GeneratorPartition;
use crate::recovery::{roll_back_uncommitted, start_position};
use crate::shared::Shared;
use crate::state_cache::DEFAULT_STATE_CACHE_KEYS;
use crate::topology::Input;
use crate::topology::Topology;
use crate::wasm::Components;
use crate::worker::{Message, OwnedSource, Reader, Worker};
use crate::{Error, Result};

/// Messages a worker's inbound channel holds before senders wait.
const CHANNEL_CAPACITY: usize = 64;

/// How to run a dataflow.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads. Default: the number of cores.
    pub workers: usize,
    /// Stop once every source is drained and everything read is committed.
    pub until_idle: bool,
    /// Overrides the plan's commit interval.
    pub commit_interval: Option<Duration>,
    /// Where compiled WebAssembly components are cached between runs; `None`: compile each
    /// run.
    pub wasm_cache: Option<PathBuf>,
    /// The keys of keyed state each worker keeps in memory per service; beyond that, keys
    /// the store holds are dropped after an epoch's commit and read again when next needed.
    /// Default: [`DEFAULT_STATE_CACHE_KEYS`].
    pub state_cache_keys: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            until_idle: false,
            commit_interval: None,
            wasm_cache: None,
            state_cache_keys: DEFAULT_STATE_CACHE_KEYS,
        }
    }
}

/// A running dataflow.
#[derive(Debug)]
pub struct Running {
    handle: Handle,
    committer: JoinHandle<Result<RunSummary>>,
    workers: Vec<JoinHandle<()>>,
}

/// A cheap, cloneable handle to a running dataflow: stop it, produce through it, read its
/// committed state.
#[derive(Debug, Clone)]
pub struct Handle {
    log: Arc<Log>,
    store: Arc<StateStore>,
    shared: Arc<Shared>,
    committer: SyncSender<ToCommitter>,
    topology: Arc<Topology>,
}

/// Starts `plan` on `log` and `store`.
///
/// # Errors
/// A topic that exists with another partition count, or a log or store failure during
/// recovery.
pub fn start(plan: &Plan, log: Arc<Log>, store: Arc<StateStore>, options: &Options) -> Result<Running> {
    let started = Instant::now();
    let workers = options.workers.max(1);
    let components = Arc::new(Components::load(plan, options.wasm_cache.clone())?);
    let topology = Arc::new(Topology::bind(plan, &log)?);
    roll_back_uncommitted(&log, &store)?;
    record_initial_sink_ends(&topology, &store)?;
    check_generator_settings(&topology, &store)?;

    let mut owned: Vec<Vec<OwnedSource>> = (0..workers).map(|_| Vec::new()).collect();
    let mut next_worker = 0;
    for (s, service) in topology.services.iter().enumerate() {
        for (i, source) in service.sources.iter().enumerate() {
            for partition_id in 0..source.partitions(&topology) {
                let committed = store.source_offset(&service.name, &source.name, partition_id)?;
                let (reader, next) = match &source.input {
                    Input::Topic { topic, start, .. } => {
                        let partition = topology.topic(*topic).topic.partition(partition_id)?;
                        let next = committed.unwrap_or_else(|| start_position(&partition, *start));
                        (Reader::Topic(partition), next)
                    }
                    Input::Generator(spec) => {
                        let next = committed.unwrap_or(0);
                        let partition = GeneratorPartition::new(Arc::clone(spec), partition_id, next);
                        (Reader::Generator(partition), next)
                    }
                };
                owned[next_worker].push(OwnedSource::new(s as u32, i as u32, reader, next));
                next_worker = (next_worker + 1) % workers;
            }
        }
    }

    let shared = Arc::new(Shared::new(options, topology.services.len(), workers, started));
    let epoch = 0;
    let (to_committer, inbox) = mpsc::sync_channel(workers * 2 + 16);
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..workers).map(|_| mpsc::sync_channel::<Message>(CHANNEL_CAPACITY)).unzip();
    let mut worker_threads = Vec::with_capacity(workers);
    for (id, (inbound, sources)) in receivers.into_iter().zip(owned).enumerate() {
        let worker = Worker::new(
            id,
            workers,
            Arc::clone(&topology),
            Arc::clone(&store),
            Arc::clone(&shared),
            sources,
            inbound,
            senders.clone(),
            to_committer.clone(),
            epoch,
            Arc::clone(&components),
        );
        let thread = std::thread::Builder::new()
            .name(format!("eddy-worker-{id}"))
            .spawn(move || worker.run())
            .map_err(Error::Thread)?;
        worker_threads.push(thread);
    }
    drop(senders);
    let committer = Committer {
        topology: Arc::clone(&topology),
        log: Arc::clone(&log),
        store: Arc::clone(&store),
        shared: Arc::clone(&shared),
        inbox,
        workers,
        interval: options.commit_interval.unwrap_or(plan.commit_interval),
        until_idle: options.until_idle,
        settle: plan
            .services
            .iter()
            .filter_map(|service| service.window.as_ref()?.idleness)
            .max()
            .unwrap_or(Duration::ZERO),
        epoch,
        commit_number: store.epoch()?,
        summary: RunSummary::default(),
    };
    let committer = std::thread::Builder::new()
        .name("eddy-committer".to_owned())
        .spawn(move || committer.run())
        .map_err(Error::Thread)?;
    let handle = Handle { log, store, shared, committer: to_committer, topology };
    Ok(Running { handle, committer, workers: worker_threads })
}

/// Records the current end of every sink partition the store has no end for yet, so that a
/// crash in the very first epoch is rolled back like any other.
fn record_initial_sink_ends(topology: &Topology, store: &StateStore) -> Result<()> {
    let recorded = store.sink_ends()?;
    let mut batch = CommitBatch::new(store.epoch()? + 1);
    let mut missing = false;
    for &topic_index in &topology.sinks {
        let info = topology.topic(topic_index);
        for partition_id in 0..info.partitions {
            if !recorded.iter().any(|(t, p, _)| t == info.name.as_str() && *p == partition_id) {
                let end = info.topic.partition(partition_id)?.committed_end();
                batch.set_sink_end(info.name.as_str(), partition_id, end);
                missing = true;
            }
        }
    }
    if missing {
        store.commit(batch)?;
    }
    Ok(())
}

/// The internal state under which a generator source's settings are kept, keyed by the
/// source's name.
const GENERATOR_SETTINGS: &str = "~generator-settings";

/// Refuses to resume a generator source whose `partitions` or `generator` settings changed
/// since its settings were first recorded (positions mean "the first n events of partition p
/// of P" only under the same settings); records them on a first run. `events` and `rate`
/// may change.
fn check_generator_settings(topology: &Topology, store: &StateStore) -> Result<()> {
    let mut batch = CommitBatch::new(store.epoch()? + 1);
    for service in &topology.services {
        for source in &service.sources {
            let Input::Generator(spec) = &source.input else { continue };
            let now =
                GeneratorSettings { partitions: spec.partitions, generator: spec.generator.config().clone() };
            match store.get(&service.name, GENERATOR_SETTINGS, source.name.as_bytes())? {
                // Compared as settings, not bytes: a setting added later reads as its default.
                Some(recorded) => match serde_json::from_slice::<GeneratorSettings>(&recorded) {
                    Ok(committed) if committed == now => {}
                    _ => {
                        return Err(Error::SourceChanged {
                            service: service.name.clone(),
                            source_name: source.name.clone(),
                            committed: String::from_utf8_lossy(&recorded).into_owned(),
                            now: serde_json::to_string(&now).unwrap_or_default(),
                        });
                    }
                },
                None => {
                    let settings = serde_json::to_vec(&now)
                        .map_err(|e| Error::Internal(format!("cannot encode generator settings: {e}")))?;
                    batch.put_state(&service.name, GENERATOR_SETTINGS, source.name.as_bytes(), &settings);
                }
            }
        }
    }
    if !batch.is_empty() {
        store.commit(batch)?;
    }
    Ok(())
}

/// What a generator source's committed positions depend on.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct GeneratorSettings {
    partitions: u32,
    generator: eddy_nexmark::Config,
}

impl Running {
    /// A handle to the running dataflow.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Waits until the dataflow stops: after [`Handle::shutdown`], once idle with
    /// [`Options::until_idle`], or on a failure.
    ///
    /// # Errors
    /// The failure that stopped it.
    pub fn wait(self) -> Result<RunSummary> {
        let result =
            self.committer.join().unwrap_or_else(|_| Err(Error::Internal("the committer panicked".into())));
        for worker in self.workers {
            if worker.join().is_err() {
                self.handle.shared.fail(&Error::Internal("a worker panicked".into()));
            }
        }
        match (result, self.handle.shared.failure()) {
            (Ok(summary), None) => Ok(summary),
            (Err(Error::Stopped), Some(failure)) | (Ok(_), Some(failure)) => Err(Error::Internal(failure)),
            (Err(error), _) => Err(error),
        }
    }
}

impl Handle {
    /// Asks the dataflow to commit its last epoch and stop.
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::Release);
    }

    /// The log the dataflow runs on.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The dataflow's name.
    pub fn name(&self) -> &str {
        &self.topology.name
    }

    /// Whether service `service` writes state `state`: the state its `update-state`
    /// updates, or `join` in a join service.
    pub fn has_state(&self, service: &str, state: &str) -> bool {
        self.topology.services.iter().any(|s| s.name == service && s.state_name() == Some(state))
    }

    /// What the run has committed so far (epochs, records read and written, dead letters),
    /// as of the last epoch.
    pub fn progress(&self) -> RunSummary {
        self.shared.progress()
    }

    /// Appends records to a partition through the committer; returns once they are durable
    /// and visible, with their offsets.
    ///
    /// # Errors
    /// [`Error::Stopped`] if the dataflow is not running; a log or store failure.
    pub fn produce(&self, topic: &str, partition: u32, records: Vec<Record>) -> Result<Range<Offset>> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.committer
            .send(ToCommitter::Produce { topic: topic.to_owned(), partition, records, reply })
            .map_err(|_| Error::Stopped)?;
        answer.recv().map_err(|_| Error::Stopped)?
    }

    /// The committed state of `key`.
    ///
    /// # Errors
    /// A store failure, or a stored value that is not JSON.
    pub fn state_get(&self, service: &str, state: &str, key: &[u8]) -> Result<Option<Value>> {
        self.store.get(service, state, key)?.map(|bytes| parse_state(&bytes)).transpose()
    }

    /// Every committed key of a state with its value, in key order.
    ///
    /// # Errors
    /// A store failure, or a stored value that is not JSON.
    pub fn state_list(&self, service: &str, state: &str) -> Result<Vec<(Vec<u8>, Value)>> {
        let mut out = Vec::new();
        for entry in self.store.list(service, state) {
            let (key, value) = entry?;
            out.push((key.to_vec(), parse_state(&value)?));
        }
        Ok(out)
    }
}

fn parse_state(bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| Error::Internal(format!("stored state is not JSON: {e}")))
}
