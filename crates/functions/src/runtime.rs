//! The runtime: one async loop owns the invocations, the state of the addresses it served,
//! the delayed messages and the ingress positions; calls run concurrently as tokio tasks; the
//! committer thread writes each epoch.
//!
//! ```text
//!  ingress partitions ──read──▶ enqueue(address, message) ──Send──▶ call task ─┐  (one per address)
//!      ▲ stop while back-pressured           ▲ Queued: backlog                 │
//!      │                                      │                                ▼
//!  timers ──due──▶ deliver ◀── messages ── apply effects ◀── complete(address, reply)
//!                                             │ state → cache (dirty), egress → records,
//!                                             │ delayed → timers
//!                                             ▼
//!  every commit interval: capture (dirty state, touched addresses' invocations, timer
//!  changes, ingress positions, egress records) ──▶ committer thread (one store batch)
//! ```
//!
//! Everything the loop captures between two events is consistent: the state holds the
//! effects of every reply applied so far; the invocations hold every message read or sent
//! whose batch has not been applied yet (in flight or waiting); the ingress positions are
//! past every record read. A restart thus resends the batches that were in flight (the
//! endpoint may see one twice; its effects are applied once) and reads on from the positions.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use eddy_log::Log;
use eddy_state::StateStore;
use eddy_statefun::invocation::{Delayed, Effects, Message};
use eddy_statefun::proto::reqreply::FromFunction;
use eddy_statefun::state_spec::Expiration;
use eddy_statefun::{
    Address, Batch, Completion, Enqueued, FunctionType, Invocations, Module, RemoteFunctions, TypedValue,
};
use eddy_types::{TopicName, now_millis};
use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::committer::{Committed, Committer, EpochWrites, StateWrite, ToCommitter};
use crate::egress::{EgressRecord, Egresses};
use crate::functions::{Call, Functions, InvokeError};
use crate::handle::Handle;
use crate::ingress::{self, IngressPartition};
use crate::metrics::{Metrics, Snapshot, TypeCounts};
use crate::playground::Replies;
use crate::restore::{self, Restored};
use crate::storage::{
    DELAYED, INVOCATIONS, REGISTERED, RUNTIME_SERVICE, StoredQueue, StoredTimer, decode_value, encode_value,
    encode_value_expiring, stored_expiry, timer_key,
};
use crate::timers::Timers;
use crate::{Error, Result};

/// Where messages go that no function of the module serves: JSON `{"target", "caller",
/// "reason", "message"}` (the message as stored state is, `{"typename", "value"|"text"|"hex"}`),
/// keyed by the target's id.
pub const DEAD_LETTER_TOPIC: &str = "statefun.dead-letter";

/// How ingress partitions are polled when they have nothing new.
const IDLE_POLL: Duration = Duration::from_millis(5);

/// Replies of embedded functions applied at most in one turn of the loop, so that messages
/// in a cycle between embedded functions never hold back epochs, timers or shutdown.
const READY_PER_TURN: usize = 4096;

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

/// Asks the loop to stop.
#[derive(Debug, Default)]
pub(crate) struct Shutdown {
    requested: AtomicBool,
    notify: Notify,
}

impl Shutdown {
    pub(crate) fn request(&self) {
        self.requested.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    fn requested(&self) -> bool {
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
        // The committer ends after the last epoch, or now that the loop is gone: handles held
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
    let metrics = Arc::new(Metrics::default());
    let removed = eddy_engine::roll_back_uncommitted(&log, &store)?;
    if removed > 0 {
        tracing::info!(removed, "removed egress records of an epoch that did not commit");
    }
    let ingress = ingress::open(module, &log, &store)?;
    let restored = restore::load(&store)?;
    let (to_committer, inbox) = mpsc::channel();
    let (acks_sender, acks) = tokio::sync::mpsc::unbounded_channel();
    let committer = Committer::new(Arc::clone(&log), Arc::clone(&store), inbox, acks_sender)?;
    let committer = std::thread::Builder::new()
        .name("eddy-functions-committer".to_owned())
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
    let runtime = std::thread::Builder::new()
        .name("eddy-functions".to_owned())
        .spawn(move || {
            let tokio = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("eddy-functions-io")
                .enable_all()
                .build()
                .map_err(Error::Start)?;
            tokio.block_on(async move {
                let functions = make_functions(&module);
                let _ = made.set(Arc::clone(&functions));
                metrics.watch_remote(functions.call_stats());
                playground.serve(&functions, &served, &replies)?;
                let parts = Parts {
                    module,
                    store,
                    ingress,
                    restored,
                    to_committer,
                    acks,
                    shutdown,
                    options,
                    replies,
                    reply_type,
                    metrics,
                };
                Runtime::new(functions, parts).run().await
            })
        })
        .map_err(Error::Start)?;
    Ok(Running { handle, runtime, committer })
}

/// What the loop is built from.
struct Parts {
    module: Module,
    store: Arc<StateStore>,
    ingress: Vec<IngressPartition>,
    restored: Restored,
    to_committer: mpsc::Sender<ToCommitter>,
    acks: UnboundedReceiver<Result<Committed>>,
    shutdown: Arc<Shutdown>,
    options: Options,
    replies: Replies,
    reply_type: FunctionType,
    metrics: Arc<Metrics>,
}

type CallResult = (Address, Result<FromFunction, InvokeError>);

struct Runtime {
    functions: Arc<dyn Functions>,
    invocations: Invocations,
    /// Batches to send first: those in flight when the last epoch committed.
    resend: Vec<Arc<Batch>>,
    store: Arc<StateStore>,
    /// The state of every address served: state name → value (`None`: none).
    cache: HashMap<Address, HashMap<String, Option<TypedValue>>>,
    /// When the values of states declared with a time to live expire, ms since the Unix epoch.
    expires: HashMap<(Address, String), i64>,
    /// State cells changed since the last epoch.
    dirty: HashSet<(Address, String)>,
    /// Addresses whose invocations changed since the last epoch.
    touched: HashSet<Address>,
    /// Messages queued over all addresses: in calls in flight or waiting.
    queued: usize,
    registered_changed: bool,
    /// Function types that answered at least once in this run (or had states registered).
    known_types: HashSet<FunctionType>,
    /// Function types whose first request is out: further batches wait here until it
    /// answers, so that they are built with the states it registers (as Statefun does).
    probing: HashMap<FunctionType, Vec<Arc<Batch>>>,
    timers: Timers,
    ingress: Vec<IngressPartition>,
    egresses: Egresses,
    egress: Vec<EgressRecord>,
    calls: JoinSet<CallResult>,
    /// Replies of embedded functions, computed when their batch was dispatched, to apply in
    /// order on this loop.
    ready: VecDeque<CallResult>,
    to_committer: mpsc::Sender<ToCommitter>,
    acks: UnboundedReceiver<Result<Committed>>,
    shutdown: Arc<Shutdown>,
    options: Options,
    summary: RunSummary,
    /// Requests waiting for a reply, and the callers' function type that stands for them.
    replies: Replies,
    reply_type: FunctionType,
    /// Replies sent since the last epoch was captured, then those of the epoch committing:
    /// a request gets its reply once the reply's epoch has committed.
    unsent_replies: Vec<(String, TypedValue)>,
    committing_replies: Vec<(String, TypedValue)>,
    /// Requests and messages per function type, published with each committed epoch.
    per_type: HashMap<FunctionType, TypeCounts>,
    metrics: Arc<Metrics>,
}

impl Runtime {
    fn new(functions: Arc<dyn Functions>, parts: Parts) -> Self {
        let limits = Arc::clone(&functions);
        let known_types = parts
            .restored
            .invocations
            .registered
            .iter()
            .map(|(function_type, _)| function_type.clone())
            .collect();
        let queued = parts
            .restored
            .invocations
            .in_flight
            .iter()
            .chain(&parts.restored.invocations.backlog)
            .map(|batch| batch.messages.len())
            .sum();
        let (invocations, resend) = Invocations::restore(parts.restored.invocations, move |function_type| {
            limits.max_batch(function_type)
        });
        Self {
            functions,
            invocations,
            resend,
            store: parts.store,
            cache: HashMap::new(),
            expires: HashMap::new(),
            dirty: HashSet::new(),
            touched: HashSet::new(),
            queued,
            registered_changed: false,
            known_types,
            probing: HashMap::new(),
            timers: Timers::restore(parts.restored.timers),
            ingress: parts.ingress,
            egresses: Egresses::new(&parts.module, &parts.options.reserved_topics),
            egress: Vec::new(),
            calls: JoinSet::new(),
            ready: VecDeque::new(),
            to_committer: parts.to_committer,
            acks: parts.acks,
            shutdown: parts.shutdown,
            options: parts.options,
            summary: RunSummary::default(),
            replies: parts.replies,
            reply_type: parts.reply_type,
            unsent_replies: Vec::new(),
            committing_replies: Vec::new(),
            per_type: HashMap::new(),
            metrics: parts.metrics,
        }
    }

    async fn run(mut self) -> Result<RunSummary> {
        let started = Instant::now();
        for batch in std::mem::take(&mut self.resend) {
            self.dispatch(batch)?;
        }
        let interval = self.options.commit_interval;
        let mut next_epoch = Instant::now() + interval;
        let mut committing = false;
        let mut stopping = false;
        let mut final_sent = false;
        loop {
            stopping |= self.shutdown.requested();
            let mut more_input = false;
            if !final_sent {
                self.apply_ready()?;
            }
            if !stopping {
                self.fire_due_timers()?;
                if !self.invocations.is_back_pressured()
                    && self.calls.len() + self.ready.len() < self.options.max_in_flight
                    && self.queued <= self.options.max_queued / 2
                {
                    more_input = self.read_ingress()?;
                }
                if self.options.until_idle && !more_input && self.is_idle() {
                    stopping = true;
                }
            }
            let now = Instant::now();
            if !committing && !final_sent && (stopping || now >= next_epoch) {
                let writes = self.capture(stopping)?;
                self.to_committer.send(ToCommitter::Epoch(Box::new(writes))).map_err(|_| Error::Stopped)?;
                committing = true;
                final_sent = stopping;
                next_epoch = now + interval;
            }
            let busy = more_input || (!final_sent && !self.ready.is_empty());
            let wake = if busy { now } else { self.next_wake(now, next_epoch) };
            tokio::select! {
                biased;
                ack = self.acks.recv() => {
                    let committed = ack.ok_or(Error::Stopped)??;
                    committing = false;
                    for (token, reply) in std::mem::take(&mut self.committing_replies) {
                        self.replies.answer(&token, reply);
                    }
                    self.summary.epochs += 1;
                    self.summary.egress_records += committed.egress_records as u64;
                    self.publish_metrics();
                    if final_sent {
                        break;
                    }
                }
                Some(joined) = self.calls.join_next(), if !final_sent && !self.calls.is_empty() => {
                    let (target, reply) =
                        joined.map_err(|error| Error::Internal(format!("a call task ended: {error}")))?;
                    self.on_reply(target, reply)?;
                }
                () = self.shutdown.notify.notified(), if !stopping => stopping = true,
                () = tokio::time::sleep_until(wake) => {}
            }
        }
        self.summary.delayed_pending = self.timers.len() as u64;
        self.summary.elapsed = started.elapsed();
        Ok(self.summary)
    }

    /// When to look again at timers, the ingresses and the epoch clock.
    fn next_wake(&self, now: Instant, next_epoch: Instant) -> Instant {
        let mut wake = next_epoch.min(now + IDLE_POLL);
        if let Some(due) = self.timers.next_due() {
            let wait = u64::try_from(due.saturating_sub(now_millis())).unwrap_or(0);
            wake = wake.min(now + Duration::from_millis(wait));
        }
        wake
    }

    fn is_idle(&self) -> bool {
        self.calls.is_empty()
            && self.ready.is_empty()
            && self.invocations.is_idle()
            && self.ingress.iter().all(IngressPartition::caught_up)
            && self.timers.next_due().is_none_or(|due| due > now_millis())
    }

    /// One read of every ingress partition; whether any had records.
    fn read_ingress(&mut self) -> Result<bool> {
        let mut messages = Vec::new();
        let mut any = false;
        // At most as many records as may still be queued, so that the queues stay bounded.
        let mut budget = self.options.max_queued.saturating_sub(self.queued).max(1) as u64;
        for partition in &mut self.ingress {
            if budget == 0 {
                break;
            }
            let read = partition.read(self.options.read_bytes, budget, |address, message| {
                messages.push((address, message));
            })?;
            budget = budget.saturating_sub(read.records);
            self.summary.records_read += read.records;
            self.summary.records_skipped += read.skipped;
            any |= read.records > 0;
        }
        self.deliver_read(messages)?;
        Ok(any)
    }

    /// Delivers the messages of one read: grouped by address (each address's in the order
    /// read), so that those for one address go in one batch rather than one request each.
    fn deliver_read(&mut self, messages: Vec<(Address, Message)>) -> Result<()> {
        let mut groups: Vec<(Address, Vec<Message>)> = Vec::new();
        let mut group_of: HashMap<Address, usize, foldhash::fast::RandomState> = HashMap::default();
        for (address, message) in messages {
            match group_of.get(&address) {
                Some(&group) => groups[group].1.push(message),
                None => {
                    group_of.insert(address.clone(), groups.len());
                    groups.push((address, vec![message]));
                }
            }
        }
        drop(group_of);
        for (target, messages) in groups {
            if target.function_type == self.reply_type || !self.functions.serves(&target.function_type) {
                for message in messages {
                    self.deliver(target.clone(), message)?;
                }
                continue;
            }
            self.touched.insert(target.clone());
            self.queued += messages.len();
            if let Enqueued::Send(batch) = self.invocations.enqueue_all(target, messages) {
                self.dispatch(batch)?;
            }
        }
        Ok(())
    }

    fn fire_due_timers(&mut self) -> Result<()> {
        let now = now_millis();
        while let Some(timer) = self.timers.pop_due(now) {
            self.deliver(timer.target, timer.message)?;
        }
        Ok(())
    }

    fn deliver(&mut self, target: Address, message: Message) -> Result<()> {
        if target.function_type == self.reply_type {
            // An answer to a waiting HTTP request, not a function to call.
            self.unsent_replies.push((target.id, message.argument));
            return Ok(());
        }
        if !self.functions.serves(&target.function_type) {
            return self.dead_letter(&target, message);
        }
        self.touched.insert(target.clone());
        self.queued += 1;
        match self.invocations.enqueue(target, message) {
            Enqueued::Send(batch) => self.dispatch(batch),
            Enqueued::Queued { .. } => Ok(()),
        }
    }

    /// A message to a function type no function of the module serves: it cannot be delivered,
    /// ever, so rather than stopping the module (and again after every restart) it goes to
    /// [`DEAD_LETTER_TOPIC`] with the reason, in this epoch like an egress record.
    fn dead_letter(&mut self, target: &Address, message: Message) -> Result<()> {
        let reason = format!("no function of the module serves `{}`", target.function_type);
        tracing::error!(%target, caller = ?message.caller.as_ref().map(ToString::to_string), "{reason}; the message goes to {DEAD_LETTER_TOPIC}");
        let letter = serde_json::json!({
            "target": target.to_string(),
            "caller": message.caller.as_ref().map(ToString::to_string),
            "reason": reason,
            "message": serde_json::from_slice::<serde_json::Value>(&encode_value(&message.argument))
                .map_err(|error| Error::Internal(format!("a dead letter: {error}")))?,
        });
        let topic = eddy_types::TopicName::new(DEAD_LETTER_TOPIC)
            .map_err(|error| Error::Internal(format!("the dead-letter topic: {error}")))?;
        self.egress.push(EgressRecord {
            topic,
            key: Some(bytes::Bytes::copy_from_slice(target.id.as_bytes())),
            value: bytes::Bytes::from(letter.to_string()),
        });
        self.summary.dead_letters += 1;
        Ok(())
    }

    /// Builds the request for `batch` with the target's current state and sends it.
    fn dispatch(&mut self, batch: Arc<Batch>) -> Result<()> {
        let function_type = &batch.target.function_type;
        if !self.known_types.contains(function_type) {
            if let Some(held) = self.probing.get_mut(function_type) {
                held.push(batch);
                return Ok(());
            }
            self.probing.insert(function_type.clone(), Vec::new());
        }
        let target = &batch.target;
        let now = now_millis();
        let cells = self.cache.entry(target.clone()).or_default();
        for spec in self.invocations.registered_states(&target.function_type) {
            let cell = (target.clone(), spec.name.clone());
            if !cells.contains_key(&spec.name) {
                let stored =
                    self.store.get(&target.function_type.to_string(), &spec.name, target.id.as_bytes())?;
                if let Some(expires) = stored.as_deref().and_then(stored_expiry) {
                    self.expires.insert(cell.clone(), expires);
                }
                let value = stored.map(|bytes| decode_value(&bytes)).transpose().map_err(|reason| {
                    Error::Corrupt { what: format!("state `{}` of `{target}`", spec.name), reason }
                })?;
                cells.insert(spec.name.clone(), value);
            }
            // Time to live: an expired value is gone (and deleted with the next epoch); an
            // invocation keeps the values that expire after one alive.
            if self.expires.get(&cell).is_some_and(|&expires| expires <= now) {
                self.expires.remove(&cell);
                cells.insert(spec.name.clone(), None);
                self.dirty.insert(cell.clone());
            }
            if let Expiration::AfterInvoke(after) = spec.expiration
                && cells.get(&spec.name).is_some_and(Option::is_some)
            {
                self.expires.insert(cell.clone(), now.saturating_add(millis(after)));
                self.dirty.insert(cell);
            }
        }
        let cache = &self.cache;
        let view = |address: &Address, name: &str| {
            cache.get(address).and_then(|cells| cells.get(name)).cloned().flatten()
        };
        let request = self.invocations.request(&batch, &view);
        self.summary.requests += 1;
        let target = batch.target.clone();
        match self.per_type.get_mut(&target.function_type) {
            Some(counts) => counts.requests += 1,
            None => {
                self.per_type.insert(target.function_type.clone(), TypeCounts { requests: 1, messages: 0 });
            }
        }
        match self.functions.call(request) {
            Call::Now(reply) => self.ready.push_back((target, reply)),
            Call::Later(reply) => {
                self.calls.spawn(async move { (target, reply.await) });
            }
        }
        Ok(())
    }

    /// Applies the replies embedded functions gave, oldest first, with the batches they
    /// dispatch in turn, up to [`READY_PER_TURN`].
    fn apply_ready(&mut self) -> Result<()> {
        for _ in 0..READY_PER_TURN {
            let Some((target, reply)) = self.ready.pop_front() else { break };
            self.on_reply(target, reply)?;
        }
        Ok(())
    }

    /// Publishes what the run did so far for metrics.
    fn publish_metrics(&self) {
        let mut per_type: Vec<(String, TypeCounts)> = self
            .per_type
            .iter()
            .map(|(function_type, counts)| (function_type.to_string(), *counts))
            .collect();
        per_type.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.metrics.publish(Snapshot {
            epochs: self.summary.epochs,
            ingress_records: self.summary.records_read,
            egress_records: self.summary.egress_records,
            dead_letters: self.summary.dead_letters,
            queued_messages: self.queued as u64,
            delayed_messages: self.timers.len() as u64,
            per_type,
        });
    }

    fn on_reply(&mut self, target: Address, reply: Result<FromFunction, InvokeError>) -> Result<()> {
        let reply =
            reply.map_err(|error| Error::Call { address: target.clone(), reason: error.to_string() })?;
        let messages = self.invocations.in_flight(&target).map_or(0, |batch| batch.messages.len());
        self.touched.insert(target.clone());
        if self.known_types.insert(target.function_type.clone())
            && let Some(held) = self.probing.remove(&target.function_type)
        {
            self.handle_completion(target, messages, reply)?;
            for batch in held {
                self.dispatch(batch)?;
            }
            return Ok(());
        }
        self.handle_completion(target, messages, reply)
    }

    fn handle_completion(&mut self, target: Address, messages: usize, reply: FromFunction) -> Result<()> {
        match self.invocations.complete(&target, reply).map_err(Box::new)? {
            Completion::Resend(batch) => {
                self.registered_changed = true;
                self.dispatch(batch)
            }
            Completion::Done { effects, next } => {
                self.summary.messages += messages as u64;
                if let Some(counts) = self.per_type.get_mut(&target.function_type) {
                    counts.messages += messages as u64;
                }
                self.queued = self.queued.saturating_sub(messages);
                self.apply(&target, effects)?;
                match next {
                    Some(next) => self.dispatch(next),
                    None => Ok(()),
                }
            }
        }
    }

    fn apply(&mut self, address: &Address, effects: Effects) -> Result<()> {
        let cells = self.cache.entry(address.clone()).or_default();
        let now = now_millis();
        for change in effects.state {
            let cell = (address.clone(), change.name.clone());
            let expiration = self
                .invocations
                .registered_states(&address.function_type)
                .find(|spec| spec.name == change.name)
                .map_or(Expiration::Never, |spec| spec.expiration);
            match expiration {
                Expiration::AfterWrite(after) | Expiration::AfterInvoke(after) if change.value.is_some() => {
                    self.expires.insert(cell.clone(), now.saturating_add(millis(after)));
                }
                _ => {
                    self.expires.remove(&cell);
                }
            }
            self.dirty.insert(cell);
            cells.insert(change.name, change.value);
        }
        for egress in &effects.egress {
            let record = self.egresses.route(address, egress)?;
            self.egress.push(record);
        }
        for delayed in effects.delayed {
            match delayed {
                Delayed::Send { delay, message, cancellation_token } => {
                    let delay = millis(delay);
                    self.timers.add(StoredTimer {
                        due_ms: now_millis().saturating_add(delay),
                        target: message.target,
                        message: Message { caller: Some(address.clone()), argument: message.argument },
                        token: cancellation_token,
                    });
                }
                Delayed::Cancel { cancellation_token } => {
                    self.timers.cancel(&cancellation_token);
                }
            }
        }
        for message in effects.messages {
            let message_to = Message { caller: Some(address.clone()), argument: message.argument };
            self.deliver(message.target, message_to)?;
        }
        Ok(())
    }

    /// Everything changed since the last epoch, for the committer.
    fn capture(&mut self, last: bool) -> Result<EpochWrites> {
        let mut writes = EpochWrites { last, ..EpochWrites::default() };
        self.committing_replies.append(&mut self.unsent_replies);
        for (address, name) in self.dirty.drain() {
            let value = self.cache.get(&address).and_then(|cells| cells.get(&name)).cloned().flatten();
            let expires = self.expires.get(&(address.clone(), name.clone())).copied();
            writes.state.push(StateWrite {
                service: address.function_type.to_string(),
                state: name,
                key: address.id.into_bytes(),
                value: value.as_ref().map(|value| encode_value_expiring(value, expires)),
            });
        }
        let runtime_write = |state: &str, key: String, value: Option<Vec<u8>>| StateWrite {
            service: RUNTIME_SERVICE.to_owned(),
            state: state.to_owned(),
            key: key.into_bytes(),
            value,
        };
        let unstorable = |what: &str, error: serde_json::Error| Error::Corrupt {
            what: what.to_owned(),
            reason: error.to_string(),
        };
        for address in self.touched.drain() {
            let in_flight = self.invocations.in_flight(&address);
            let mut backlog = self.invocations.backlog(&address).peekable();
            let value = if in_flight.is_none() && backlog.peek().is_none() {
                None
            } else {
                Some(StoredQueue::encode(&address, in_flight, backlog))
            };
            writes.state.push(runtime_write(INVOCATIONS, address.to_string(), value));
        }
        if std::mem::take(&mut self.registered_changed) {
            for (function_type, specs) in self.invocations.snapshot().registered {
                let value =
                    serde_json::to_vec(&specs).map_err(|error| unstorable("registered states", error))?;
                writes.state.push(runtime_write(REGISTERED, function_type.to_string(), Some(value)));
            }
        }
        for (id, timer) in self.timers.take_changes() {
            let value = timer
                .map(|timer| {
                    serde_json::to_vec(&timer).map_err(|error| unstorable("a delayed message", error))
                })
                .transpose()?;
            writes.state.push(runtime_write(DELAYED, timer_key(id), value));
        }
        for partition in &mut self.ingress {
            if std::mem::take(&mut partition.moved) {
                writes.offsets.push((
                    partition.ingress.clone(),
                    partition.topic.topic.as_str().to_owned(),
                    partition.partition.id(),
                    partition.next,
                ));
            }
        }
        writes.egress = std::mem::take(&mut self.egress);
        Ok(writes)
    }
}

/// A duration in ms, saturating.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
