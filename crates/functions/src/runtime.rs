//! The runtime: [`start`] splits a module's addresses over shards by key group (see
//! [`crate::key_groups`]), each an async loop on a thread of its own (see [`crate::shard`]),
//! with one tokio runtime for remote calls and the playground's HTTP, and one committer
//! thread that writes each epoch.
//!
//! ```text
//!   shard 0 ◀──────▶ shard 1 ◀──────▶ … shard N-1      messages and epoch markers (FIFO)
//!      │ part           │ part               │ part
//!      └────────────────┴───────┬────────────┘
//!                               ▼
//!   committer: all parts of an epoch → one atomic store batch → ack to every shard
//! ```
//!
//! Within a shard, everything captured between two events is consistent: the state holds the
//! effects of every reply applied so far; the invocations hold every message read or sent
//! whose batch has not been applied yet (in flight or waiting); the ingress positions are
//! past every record read. Across shards, an epoch is a consistent cut (see
//! [`crate::shard`]), the messages in transit between shards included.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use eddy_log::Log;
use eddy_state::StateStore;
use eddy_statefun::{FunctionType, Module, RemoteFunctions, Snapshot};
use eddy_types::TopicName;
use tokio::sync::Notify;

use crate::committer::Committer;
use crate::egress::Egresses;
use crate::functions::Functions;
use crate::handle::Handle;
use crate::ingress::{self, IngressPartition};
use crate::key_groups::owner;
use crate::metrics::Metrics;
use crate::playground::Replies;
use crate::restore::{self, Restored};
use crate::shard::{Shard, Shared, Start};
use crate::state_cache::DEFAULT_STATE_CACHE_ADDRESSES;
use crate::timers::Timers;
use crate::{Error, Result};

/// Where messages go that no function of the module serves: JSON `{"target", "caller",
/// "reason", "message"}` (the message as stored state is, `{"typename", "value"|"text"|"hex"}`),
/// keyed by the target's id.
pub const DEAD_LETTER_TOPIC: &str = "statefun.dead-letter";

/// How a module runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// How often an epoch commits (default 100 ms).
    pub commit_interval: Duration,
    /// Stop once the ingresses are drained, nothing is in flight, no delayed message is due
    /// and everything is committed.
    pub until_idle: bool,
    /// Addresses with a call in flight at most before ingress reading pauses (default 1024,
    /// like Statefun's `statefun.async.max-per-task`).
    pub max_in_flight: usize,
    /// About how many bytes one read of an ingress partition takes (default 256 KiB).
    pub read_bytes: usize,
    /// Messages queued for functions (in calls in flight or waiting), over all addresses, at
    /// most before ingress reading pauses (default 16,384): ingress records are read about as
    /// fast as functions take them, so the queues an epoch commits stay short. Reading resumes
    /// once half of them are taken, so that each read is a large one.
    pub max_queued: usize,
    /// How [`start`] runs the module's WebAssembly functions: the compilation cache, fuel and
    /// memory per call (default: no cache, `eddy_wasm::Options`' limits).
    pub wasm: eddy_wasm::Options,
    /// Topics another writer owns, such as the sinks of a dataflow running beside the module
    /// (default: none). An egress record for one of them fails the run, since two writers
    /// of one partition would roll back each other's uncommitted records.
    pub reserved_topics: Vec<TopicName>,
    /// Shards the addresses are spread over by key group, each a loop on a thread of its own
    /// (default: the number of cores). Embedded functions run in parallel across shards;
    /// any shard count can restart from any other's epochs.
    pub shards: usize,
    /// Addresses whose state each shard keeps in memory at most, beyond those with calls in
    /// flight or whose changes are not committed yet (default 1,048,576): the others are
    /// read back from the store on their next call.
    pub state_cache_addresses: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            commit_interval: Duration::from_millis(100),
            until_idle: false,
            max_in_flight: 1024,
            read_bytes: 256 * 1024,
            max_queued: 16 * 1024,
            wasm: eddy_wasm::Options::default(),
            reserved_topics: Vec::new(),
            shards: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            state_cache_addresses: DEFAULT_STATE_CACHE_ADDRESSES,
        }
    }
}

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunSummary {
    /// Epochs committed.
    pub epochs: u64,
    /// Ingress records read.
    pub records_read: u64,
    /// Ingress records skipped (no key, or a key that is not UTF-8).
    pub records_skipped: u64,
    /// Requests sent to functions (handshakes and resends included).
    pub requests: u64,
    /// Messages functions processed (replies applied).
    pub messages: u64,
    /// Records written to egress topics.
    pub egress_records: u64,
    /// Messages to function types no function serves, written to [`DEAD_LETTER_TOPIC`].
    pub dead_letters: u64,
    /// Delayed messages pending when the run stopped.
    pub delayed_pending: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl RunSummary {
    /// Adds what another shard did.
    fn add(&mut self, other: &RunSummary) {
        // Every shard takes part in every epoch.
        self.epochs = self.epochs.max(other.epochs);
        self.records_read += other.records_read;
        self.records_skipped += other.records_skipped;
        self.requests += other.requests;
        self.messages += other.messages;
        self.egress_records += other.egress_records;
        self.dead_letters += other.dead_letters;
        self.delayed_pending += other.delayed_pending;
        self.elapsed = self.elapsed.max(other.elapsed);
    }
}

/// Asks the loops to stop.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    requested: AtomicBool,
    pub(crate) notify: Notify,
}

impl Shutdown {
    pub(crate) fn request(&self) {
        self.requested.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    pub(crate) fn requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }
}

/// A running module.
#[derive(Debug)]
pub struct Running {
    handle: Handle,
    runtime: JoinHandle<Result<RunSummary>>,
    committer: JoinHandle<()>,
}

impl Running {
    /// A handle to the running module.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Waits until the module stops: after [`Handle::shutdown`], once idle with
    /// [`Options::until_idle`], or on a failure.
    ///
    /// # Errors
    /// The failure that stopped it.
    pub fn wait(self) -> Result<RunSummary> {
        let result = self.runtime.join().unwrap_or(Err(Error::Stopped));
        // The committer ends after the last epoch, or now that the shards are gone: handles held
        // elsewhere (a server's) would otherwise keep its inbox open.
        self.handle.stop_committer();
        drop(self.handle);
        let _ = self.committer.join();
        result
    }
}

/// Starts `module` on `log` and `store`, calling its functions over HTTP, or as WebAssembly
/// components for the types its `io.eddy.endpoints.v1/wasm` documents name.
///
/// # Errors
/// A log or store failure during recovery, damaged runtime entries in the store, or a module
/// that asks for what is not supported (a `date` startup position), or a playground port in
/// use; [`Error::Wasm`] for a component that cannot be loaded or is not a function.
pub fn start(module: &Module, log: Arc<Log>, store: Arc<StateStore>, options: Options) -> Result<Running> {
    if module.wasm_endpoints.is_empty() {
        return start_with(module, log, store, options, |module| {
            Arc::new(RemoteFunctions::new(&module.endpoints))
        });
    }
    let host = eddy_wasm::Host::new(options.wasm.clone())
        .map_err(|error| Error::Internal(format!("the WebAssembly host: {error}")))?;
    let wasm = crate::wasm::WasmFunctions::load(module, &host)?;
    start_with(module, log, store, options, move |module| {
        Arc::new(wasm.or_remote(RemoteFunctions::new(&module.endpoints)))
    })
}

/// Starts `module` with the functions `make_functions` gives (called once, inside the
/// runtime's tokio context).
///
/// # Errors
/// As [`start`].
pub fn start_with(
    module: &Module,
    log: Arc<Log>,
    store: Arc<StateStore>,
    options: Options,
    make_functions: impl FnOnce(&Module) -> Arc<dyn Functions> + Send + 'static,
) -> Result<Running> {
    // The ports first: a second runtime on the same ports stops before touching anything.
    let playground = crate::playground::bind(module)?;
    let shards = options.shards.max(1);
    let metrics = Arc::new(Metrics::default());
    let removed = eddy_engine::roll_back_uncommitted(&log, &store)?;
    if removed > 0 {
        tracing::info!(removed, "removed egress records of an epoch that did not commit");
    }
    let ingress = ingress::open(module, &log, &store)?;
    let restored = restore::load(&store)?;
    let (to_committer, inbox) = mpsc::channel();
    let (ack_senders, acks): (Vec<_>, Vec<_>) =
        (0..shards).map(|_| tokio::sync::mpsc::unbounded_channel()).unzip();
    let committer =
        Committer::new(Arc::clone(&log), Arc::clone(&store), inbox, ack_senders, options.until_idle)?;
    let committer = std::thread::Builder::new()
        .name("eddy-fn-commit".to_owned())
        .spawn(move || committer.run())
        .map_err(Error::Start)?;
    let shutdown = Arc::new(Shutdown::default());
    let made = Arc::new(std::sync::OnceLock::new());
    let handle = Handle::new(
        Arc::clone(&log),
        Arc::clone(&store),
        Arc::clone(&shutdown),
        to_committer.clone(),
        Arc::clone(&made),
        Arc::clone(&metrics),
    );
    let module = module.clone();
    let served = handle.clone();
    let replies = Replies::default();
    let reply_type: FunctionType = crate::playground::REPLY_TYPE
        .parse()
        .map_err(|error| Error::Internal(format!("the reply type: {error}")))?;
    let starts = split(ingress, restored, acks, shards);
    let runtime = std::thread::Builder::new()
        .name("eddy-functions".to_owned())
        .spawn(move || {
            let tokio = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("eddy-fn-io")
                .enable_all()
                .build()
                .map_err(Error::Start)?;
            let functions = tokio.block_on(async {
                let functions = make_functions(&module);
                let _ = made.set(Arc::clone(&functions));
                metrics.watch_remote(functions.call_stats());
                playground.serve(&functions, &served, &replies).map(|()| functions)
            })?;
            let shared = Shared {
                egresses: Arc::new(Egresses::new(&module, &options.reserved_topics)),
                store,
                functions,
                to_committer,
                shutdown,
                failed: Arc::default(),
                queued_total: Arc::default(),
                room: Arc::default(),
                options,
                replies,
                reply_type,
                metrics,
            };
            run_shards(&tokio, &shared, starts)
        })
        .map_err(Error::Start)?;
    Ok(Running { handle, runtime, committer })
}

/// Runs shard 0 on this thread and the others on threads of their own, all on `tokio`; what
/// they did together, or the failure that stopped them.
fn run_shards(tokio: &tokio::runtime::Runtime, shared: &Shared, starts: Vec<Start>) -> Result<RunSummary> {
    let mut starts = starts.into_iter();
    let first = starts.next().ok_or_else(|| Error::Internal("no shard".to_owned()))?;
    let mut others = Vec::new();
    for start in starts {
        let shard = Shard::new(shared.clone(), start);
        let tokio = tokio.handle().clone();
        let failed = Arc::clone(&shared.failed);
        let spawned = std::thread::Builder::new()
            .name(format!("eddy-shard-{}", others.len() + 1))
            .spawn(move || tokio.block_on(shard.run()));
        match spawned {
            Ok(thread) => others.push(thread),
            Err(error) => {
                failed.store(true, Ordering::Release);
                return Err(Error::Start(error));
            }
        }
    }
    let mut results = vec![tokio.block_on(Shard::new(shared.clone(), first).run())];
    results.extend(others.into_iter().map(|thread| thread.join().unwrap_or(Err(Error::Stopped))));
    let mut total = RunSummary::default();
    let mut stopped = None;
    for result in results {
        match result {
            Ok(summary) => total.add(&summary),
            // A shard that stopped because another failed says only that.
            Err(Error::Stopped) => stopped = Some(Error::Stopped),
            Err(error) => return Err(error),
        }
    }
    stopped.map_or(Ok(total), Err)
}

/// What each shard starts from: its ingress partitions, and of what the last epoch left, what
/// concerns its addresses.
fn split(
    ingress: Vec<IngressPartition>,
    restored: Restored,
    acks: Vec<tokio::sync::mpsc::UnboundedReceiver<crate::Result<crate::committer::Committed>>>,
    shards: usize,
) -> Vec<Start> {
    let (peers, inboxes): (Vec<_>, Vec<_>) =
        (0..shards).map(|_| tokio::sync::mpsc::unbounded_channel()).unzip();
    let first_free_timer = restored.timers.iter().map(|(id, _)| id + 1).max().unwrap_or(0);
    let mut timers: Vec<Vec<_>> = vec![Vec::new(); shards];
    for (id, timer) in restored.timers {
        // A delayed message stays with its sender, which may cancel it.
        let shard = timer.message.caller.as_ref().map_or(0, |caller| owner(caller, shards));
        timers[shard].push((id, timer));
    }
    let mut starts: Vec<Start> = inboxes
        .into_iter()
        .zip(acks)
        .zip(timers)
        .enumerate()
        .map(|(shard, ((inbox, acks), timers))| Start {
            shard,
            peers: peers.clone(),
            inbox,
            acks,
            ingress: Vec::new(),
            invocations: Snapshot {
                registered: restored.invocations.registered.clone(),
                in_flight: Vec::new(),
                backlog: Vec::new(),
            },
            timers: Timers::restore(timers, first_free_timer, shard, shards),
            transit: Vec::new(),
            transit_stored: false,
            stale_transit: Vec::new(),
        })
        .collect();
    for partition in ingress {
        let shard = if partition.invocations { 0 } else { partition.partition.id() as usize % shards };
        starts[shard].ingress.push(partition);
    }
    for batch in restored.invocations.in_flight {
        starts[owner(&batch.target, shards)].invocations.in_flight.push(batch);
    }
    for batch in restored.invocations.backlog {
        starts[owner(&batch.target, shards)].invocations.backlog.push(batch);
    }
    for (target, message) in restored.transit {
        starts[owner(&target, shards)].transit.push((target, message));
    }
    for key in restored.transit_shards {
        match key.parse::<usize>().ok().filter(|&shard| shard < shards) {
            Some(shard) => starts[shard].transit_stored = true,
            None => starts[0].stale_transit.push(key),
        }
    }
    starts
}
