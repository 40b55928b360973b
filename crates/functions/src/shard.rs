//! A shard of the runtime: one async loop owning the addresses of its key groups (see
//! [`crate::key_groups`]): their invocations, their state, the delayed messages they sent; and
//! some of the ingress partitions. Calls to remote functions run concurrently as tokio tasks;
//! embedded functions run on the shard's own thread, so shards run them in parallel.
//!
//! ```text
//!  ingress partitions ──read──▶ deliver(address, message) ──owner?──▶ peer shard's inbox
//!      ▲ stop while back-pressured     │ own address                      (FIFO per pair)
//!      │                               ▼
//!  timers ──due──▶ deliver    enqueue ──Send──▶ call (task, or at once if embedded) ─┐
//!                                ▲ Queued: backlog                                   │
//!                                │                                                   ▼
//!                   messages ◀── apply effects ◀──────────────── complete(address, reply)
//!                                │ state → cache (dirty), egress → records, delayed → timers
//!                                ▼
//!  snapshot: capture (dirty state, touched addresses' invocations, timer changes, ingress
//!  positions, egress records) ──▶ the committer, with the messages that were in transit
//! ```
//!
//! Epochs are consistent cuts across shards (Chandy and Lamport's snapshot algorithm over the
//! FIFO channels between shards). Shard 0 starts an epoch every commit interval: it captures
//! what changed and sends a marker to every peer, after any message it sent before. A shard
//! takes its snapshot when it starts the epoch or sees the epoch's first marker, then sends its
//! own markers; from then on, until a peer's marker arrives, the messages from that peer were
//! sent before the peer's snapshot and arrive after this one's: they are processed as usual and
//! also recorded as in transit. Once every peer's marker is in, the shard hands its part (its
//! snapshot and what was in transit) to the committer, which commits all parts as one epoch.
//! A restart takes each shard's state from the epoch and delivers the messages in transit
//! again; the batches that were in flight are resent (the endpoint may see one twice; its
//! effects are applied once).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use eddy_state::StateStore;
use eddy_statefun::invocation::{Delayed, Effects, Message};
use eddy_statefun::proto::reqreply::FromFunction;
use eddy_statefun::state_spec::Expiration;
use eddy_statefun::{Address, Batch, Completion, Enqueued, FunctionType, Invocations, Snapshot, TypedValue};
use eddy_types::now_millis;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::committer::{Committed, EpochWrites, Part, StateWrite, ToCommitter};
use crate::egress::{EgressRecord, Egresses};
use crate::functions::{Call, Functions, InvokeError};
use crate::ingress::IngressPartition;
use crate::key_groups::owner;
use crate::metrics::{Metrics, Snapshot as MetricsSnapshot, TypeCounts};
use crate::playground::Replies;
use crate::runtime::{DEAD_LETTER_TOPIC, Options, RunSummary, Shutdown};
use crate::state_cache::{StateCache, Values};
use crate::storage::{
    DELAYED, INVOCATIONS, REGISTERED, RUNTIME_SERVICE, StoredQueue, StoredTimer, TRANSIT, decode_value,
    encode_transit, encode_value, encode_value_expiring, stored_expiry, timer_key,
};
use crate::timers::Timers;
use crate::{Error, Result};

/// How ingress partitions are polled when they have nothing new (also how often a shard looks
/// whether another one failed).
const IDLE_POLL: Duration = Duration::from_millis(5);

/// Messages of embedded functions' replies applied in one turn of the loop, about, so that
/// messages in a cycle between embedded functions never hold back epochs, timers or shutdown.
const READY_PER_TURN: u64 = 16 * 1024;

/// Replies applied between two sends of the messages for other shards.
const SEND_EVERY: usize = 256;

/// Remote calls whose replies are applied in one turn of the loop, at most, besides the one
/// that woke it.
const CALLS_PER_TURN: usize = 64;

/// Messages from peers taken at most in one turn of the loop.
const PEER_BATCHES_PER_TURN: usize = 256;

/// With several shards and `until_idle`: how long shard 0, idle itself, waits after an epoch
/// before it starts another to learn whether every shard is idle.
const IDLE_PROBE_GAP: Duration = Duration::from_millis(10);

type CallResult = (Address, Result<FromFunction, InvokeError>);

/// What one shard sends another.
pub(crate) enum ToShard {
    /// Messages for addresses of the receiving shard, in the order sent.
    Messages(Vec<(Address, Message)>),
    /// The sender took its snapshot of `epoch`: everything it sends after this comes after it.
    Marker { epoch: u64, last: bool },
}

/// What every shard shares with the others.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) store: Arc<StateStore>,
    pub(crate) functions: Arc<dyn Functions>,
    pub(crate) to_committer: mpsc::Sender<ToCommitter>,
    pub(crate) shutdown: Arc<Shutdown>,
    /// Set by a shard whose loop failed: the others stop too.
    pub(crate) failed: Arc<AtomicBool>,
    /// Messages queued over all shards (in calls in flight, waiting, or between shards), as
    /// of each shard's last turn: ingress reading pauses on it.
    pub(crate) queued_total: Arc<AtomicIsize>,
    /// Wakes the shards that stopped reading because of the total, once it has dropped.
    pub(crate) room: Arc<tokio::sync::Notify>,
    pub(crate) options: Options,
    pub(crate) replies: Replies,
    pub(crate) reply_type: FunctionType,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) egresses: Arc<Egresses>,
}

/// What one shard starts from.
pub(crate) struct Start {
    pub(crate) shard: usize,
    /// The senders to every shard's inbox, this one's included (unused).
    pub(crate) peers: Vec<UnboundedSender<(usize, ToShard)>>,
    pub(crate) inbox: UnboundedReceiver<(usize, ToShard)>,
    pub(crate) acks: UnboundedReceiver<Result<Committed>>,
    pub(crate) ingress: Vec<IngressPartition>,
    /// The invocations of the shard's addresses as the last epoch left them.
    pub(crate) invocations: Snapshot,
    pub(crate) timers: Timers,
    /// Messages that were in transit to the shard's addresses: delivered first.
    pub(crate) transit: Vec<(Address, Message)>,
    /// Whether the store holds messages in transit under this shard's number.
    pub(crate) transit_stored: bool,
    /// Entries of messages in transit of shards this run does not have: deleted with the
    /// first epoch (shard 0 only).
    pub(crate) stale_transit: Vec<String>,
}

/// An epoch whose snapshot is taken while markers of some peers are still to come.
struct Aligning {
    epoch: u64,
    last: bool,
    writes: EpochWrites,
    /// Whether the shard had nothing left to do at its snapshot.
    idle: bool,
    /// Per shard: whether its marker arrived (this shard's own counts as arrived).
    marked: Vec<bool>,
    /// Messages that arrived from peers before their marker.
    transit: Vec<(Address, Message)>,
}

pub(crate) struct Shard {
    shard: usize,
    shared: Shared,
    peers: Vec<UnboundedSender<(usize, ToShard)>>,
    inbox: UnboundedReceiver<(usize, ToShard)>,
    /// Messages for each peer, sent at the end of the turn (and before any marker).
    outbox: Vec<Vec<(Address, Message)>>,
    acks: UnboundedReceiver<Result<Committed>>,
    functions: Arc<dyn Functions>,
    invocations: Invocations,
    /// Batches to send first: those in flight when the last epoch committed.
    resend: Vec<Arc<Batch>>,
    /// Messages to deliver first: those in transit when the last epoch committed.
    restored_transit: Vec<(Address, Message)>,
    transit_stored: bool,
    stale_transit: Vec<String>,
    /// The state of the addresses served, those used lately and those the store does not
    /// hold yet.
    cache: StateCache,
    /// When the values of states declared with a time to live expire, ms since the Unix epoch.
    expires: HashMap<(Address, String), i64>,
    /// State cells changed since the last epoch: per address, the names of its states.
    dirty: HashMap<Address, Vec<String>>,
    /// Addresses whose invocations changed since the last epoch.
    touched: HashSet<Address>,
    /// Messages queued for this shard's addresses: in calls in flight or waiting.
    queued: usize,
    /// Messages this shard queued (for any shard) less those it finished, since it last added
    /// them to the total.
    queued_change: isize,
    registered_changed: bool,
    /// Function types that answered at least once in this run (or had states registered).
    known_types: HashSet<FunctionType>,
    /// Function types whose first request is out: further batches wait here until it
    /// answers, so that they are built with the states it registers (as Statefun does).
    probing: HashMap<FunctionType, Vec<Arc<Batch>>>,
    timers: Timers,
    ingress: Vec<IngressPartition>,
    egress: Vec<EgressRecord>,
    calls: JoinSet<CallResult>,
    /// Replies of embedded functions, computed when their batch was dispatched, to apply in
    /// order on this loop.
    ready: VecDeque<CallResult>,
    summary: RunSummary,
    /// The last epoch this shard took its snapshot of.
    epoch: u64,
    aligning: Option<Aligning>,
    /// The last epoch's snapshot is taken: nothing more is processed.
    final_taken: bool,
    /// Replies sent since the last snapshot, then those of the epochs committing: a request
    /// gets its reply once the reply's epoch has committed.
    unsent_replies: Vec<(String, TypedValue)>,
    committing_replies: VecDeque<(u64, Vec<(String, TypedValue)>)>,
    /// Requests and messages per function type, published with each committed epoch.
    per_type: HashMap<FunctionType, TypeCounts>,
}

impl Shard {
    pub(crate) fn new(shared: Shared, start: Start) -> Self {
        let functions = Arc::clone(&shared.functions);
        let limits = Arc::clone(&functions);
        let known_types =
            start.invocations.registered.iter().map(|(function_type, _)| function_type.clone()).collect();
        let queued: usize = start
            .invocations
            .in_flight
            .iter()
            .chain(&start.invocations.backlog)
            .map(|batch| batch.messages.len())
            .sum();
        shared.queued_total.fetch_add(queued as isize, Ordering::Relaxed);
        let (invocations, resend) =
            Invocations::restore(start.invocations, move |function_type| limits.max_batch(function_type));
        let shards = start.peers.len();
        Self {
            shard: start.shard,
            peers: start.peers,
            inbox: start.inbox,
            outbox: vec![Vec::new(); shards],
            acks: start.acks,
            functions,
            invocations,
            resend,
            restored_transit: start.transit,
            transit_stored: start.transit_stored,
            stale_transit: start.stale_transit,
            cache: StateCache::default(),
            expires: HashMap::new(),
            dirty: HashMap::new(),
            touched: HashSet::new(),
            queued,
            queued_change: 0,
            registered_changed: false,
            known_types,
            probing: HashMap::new(),
            timers: start.timers,
            ingress: start.ingress,
            egress: Vec::new(),
            calls: JoinSet::new(),
            ready: VecDeque::new(),
            summary: RunSummary::default(),
            epoch: 0,
            aligning: None,
            final_taken: false,
            unsent_replies: Vec::new(),
            committing_replies: VecDeque::new(),
            per_type: HashMap::new(),
            shared,
        }
    }

    fn shards(&self) -> usize {
        self.peers.len()
    }

    fn is_leader(&self) -> bool {
        self.shard == 0
    }

    /// Runs the shard until the run's last epoch commits or something fails; a failure stops
    /// the other shards too.
    pub(crate) async fn run(mut self) -> Result<RunSummary> {
        let result = self.run_loop().await;
        if result.is_err() {
            self.shared.failed.store(true, Ordering::Release);
        }
        result
    }

    async fn run_loop(&mut self) -> Result<RunSummary> {
        let started = Instant::now();
        for batch in std::mem::take(&mut self.resend) {
            self.dispatch(batch)?;
        }
        for (target, message) in std::mem::take(&mut self.restored_transit) {
            self.deliver(target, message)?;
        }
        let interval = self.shared.options.commit_interval;
        let until_idle = self.shared.options.until_idle;
        let mut next_epoch = Instant::now() + interval;
        let mut last_ack = Instant::now();
        let mut committing = false;
        let mut stopping = false;
        loop {
            if self.shared.failed.load(Ordering::Acquire) {
                return Err(Error::Stopped);
            }
            if self.is_leader() {
                stopping |= self.shared.shutdown.requested();
            }
            self.take_from_peers()?;
            let mut more_input = false;
            let mut throttled = false;
            if !self.final_taken {
                self.apply_ready()?;
                if !stopping {
                    self.fire_due_timers()?;
                    let options = &self.shared.options;
                    throttled = self.queued_total() > options.max_queued / 2;
                    if !throttled
                        && !self.invocations.is_back_pressured()
                        && self.calls.len() + self.ready.len() < options.max_in_flight
                    {
                        more_input = self.read_ingress()?;
                    }
                }
            }
            self.send_outbox()?;
            let now = Instant::now();
            if self.is_leader() && !committing && !self.final_taken {
                let probe = until_idle
                    && !more_input
                    && self.is_idle()
                    && (self.shards() == 1 || now >= last_ack + IDLE_PROBE_GAP);
                if stopping || probe || now >= next_epoch {
                    self.begin_epoch(self.epoch + 1, stopping)?;
                    committing = true;
                    next_epoch = now + interval;
                }
            }
            let busy = more_input || (!self.final_taken && !self.ready.is_empty());
            // Only shard 0 starts epochs, and only once the last one committed (its ack wakes it).
            let epoch_due = if self.is_leader() && !committing { next_epoch } else { now + interval };
            let wake = self.next_wake(now, epoch_due);
            tokio::select! {
                biased;
                ack = self.acks.recv() => {
                    let committed = ack.ok_or(Error::Stopped)??;
                    committing = false;
                    last_ack = Instant::now();
                    self.on_committed(committed);
                    if committed.last {
                        break;
                    }
                }
                Some((from, message)) = self.inbox.recv() => self.on_peer(from, message)?,
                Some(joined) = self.calls.join_next(), if !self.final_taken && !self.calls.is_empty() => {
                    self.on_joined(joined)?;
                    // The other calls done by now, in the same turn.
                    for _ in 0..CALLS_PER_TURN {
                        let Some(joined) = self.calls.try_join_next() else { break };
                        self.on_joined(joined)?;
                    }
                }
                () = self.shared.shutdown.notify.notified(), if self.is_leader() && !stopping => stopping = true,
                () = self.shared.room.notified(), if throttled => {}
                // Busy: another turn at once, without a timer.
                () = std::future::ready(()), if busy => {}
                () = tokio::time::sleep_until(wake), if !busy => {}
            }
        }
        self.summary.delayed_pending = self.timers.len() as u64;
        self.summary.elapsed = started.elapsed();
        Ok(self.summary)
    }

    /// A remote call's task ended: its reply is applied.
    fn on_joined(&mut self, joined: std::result::Result<CallResult, tokio::task::JoinError>) -> Result<()> {
        let (target, reply) =
            joined.map_err(|error| Error::Internal(format!("a call task ended: {error}")))?;
        self.on_reply(target, reply)
    }

    /// An epoch committed: its requests get their replies.
    fn on_committed(&mut self, committed: Committed) {
        while let Some((epoch, _)) = self.committing_replies.front()
            && *epoch <= committed.epoch
        {
            if let Some((_, replies)) = self.committing_replies.pop_front() {
                for (token, reply) in replies {
                    self.shared.replies.answer(&token, reply);
                }
            }
        }
        self.summary.epochs += 1;
        if self.is_leader() {
            self.summary.egress_records += committed.egress_records as u64;
        }
        self.shrink_cache(committed.epoch);
        self.publish_metrics();
    }

    /// Drops addresses from the state cache once it holds more than its bound: those whose
    /// states the store holds, with no call in flight or waiting.
    fn shrink_cache(&mut self, committed: u64) {
        let (invocations, dirty, expires) = (&self.invocations, &self.dirty, &mut self.expires);
        let keep = |address: &Address| {
            dirty.contains_key(address)
                || invocations.in_flight(address).is_some()
                || invocations.backlog(address).next().is_some()
        };
        let forget = |address: &Address, values: &Values| {
            if !expires.is_empty() {
                for name in values.keys() {
                    expires.remove(&(address.clone(), name.clone()));
                }
            }
        };
        let dropped = self.cache.shrink(self.shared.options.state_cache_addresses, committed, keep, forget);
        if dropped > 0 {
            tracing::debug!(shard = self.shard, dropped, kept = self.cache.len(), "state cache shrunk");
        }
    }

    /// Takes the shard's snapshot of `epoch` and sends its markers; with no peers, its part
    /// goes to the committer at once.
    fn begin_epoch(&mut self, epoch: u64, last: bool) -> Result<()> {
        if let Some(aligning) = &self.aligning {
            return Err(Error::Internal(format!(
                "shard {}: epoch {epoch} begins while epoch {} waits for markers",
                self.shard, aligning.epoch
            )));
        }
        // Messages sent before the snapshot go before the marker.
        self.send_outbox()?;
        let writes = self.capture(epoch, last)?;
        let idle = self.is_idle();
        self.epoch = epoch;
        self.final_taken |= last;
        let shards = self.shards();
        let mut marked = vec![false; shards];
        marked[self.shard] = true;
        for (peer, sender) in self.peers.iter().enumerate() {
            if peer != self.shard {
                sender.send((self.shard, ToShard::Marker { epoch, last })).map_err(|_| Error::Stopped)?;
            }
        }
        self.aligning = Some(Aligning { epoch, last, writes, idle, marked, transit: Vec::new() });
        self.finish_epoch_when_marked()
    }

    /// Once every peer's marker is in: the shard's part of the epoch, with the messages that
    /// were in transit, goes to the committer.
    fn finish_epoch_when_marked(&mut self) -> Result<()> {
        if self.aligning.as_ref().is_none_or(|aligning| aligning.marked.contains(&false)) {
            return Ok(());
        }
        let Some(aligning) = self.aligning.take() else { return Ok(()) };
        let mut writes = aligning.writes;
        let key = self.shard.to_string();
        if !aligning.transit.is_empty() {
            let value = encode_transit(&aligning.transit).map_err(|error| Error::Corrupt {
                what: "messages in transit".to_owned(),
                reason: error.to_string(),
            })?;
            writes.state.push(runtime_write(TRANSIT, key, Some(value)));
            self.transit_stored = true;
        } else if std::mem::take(&mut self.transit_stored) {
            writes.state.push(runtime_write(TRANSIT, key, None));
        }
        for stale in std::mem::take(&mut self.stale_transit) {
            writes.state.push(runtime_write(TRANSIT, stale, None));
        }
        let part =
            Part { epoch: aligning.epoch, writes, in_transit: aligning.transit.len(), idle: aligning.idle };
        debug_assert!(!aligning.last || self.final_taken);
        self.shared.to_committer.send(ToCommitter::Part(Box::new(part))).map_err(|_| Error::Stopped)
    }

    /// Takes what peers sent, without waiting.
    fn take_from_peers(&mut self) -> Result<()> {
        for _ in 0..PEER_BATCHES_PER_TURN {
            match self.inbox.try_recv() {
                Ok((from, message)) => self.on_peer(from, message)?,
                Err(_) => break,
            }
        }
        Ok(())
    }

    fn on_peer(&mut self, from: usize, message: ToShard) -> Result<()> {
        match message {
            ToShard::Marker { epoch, last } => {
                if epoch > self.epoch {
                    self.begin_epoch(epoch, last)?;
                }
                let aligning =
                    self.aligning.as_mut().filter(|aligning| aligning.epoch == epoch).ok_or_else(|| {
                        Error::Internal(format!(
                            "shard {}: a marker of epoch {epoch} from shard {from} out of turn",
                            self.shard
                        ))
                    })?;
                aligning.marked[from] = true;
                self.finish_epoch_when_marked()
            }
            ToShard::Messages(messages) => {
                if let Some(aligning) = self.aligning.as_mut().filter(|aligning| !aligning.marked[from]) {
                    aligning.transit.extend(messages.iter().cloned());
                }
                if self.final_taken {
                    // Sent before the sender's last snapshot: recorded above, delivered by the
                    // next run. Sent after it: the sender did not take it into its snapshot.
                    return Ok(());
                }
                for (target, message) in messages {
                    self.enqueue(target, message)?;
                }
                Ok(())
            }
        }
    }

    /// Messages queued over all shards, this one's latest changes included.
    fn queued_total(&self) -> usize {
        let total = self.shared.queued_total.load(Ordering::Relaxed) + self.queued_change;
        usize::try_from(total).unwrap_or(0)
    }

    /// Notes that the invocations of `address` changed since the last snapshot.
    fn touch(&mut self, address: &Address) {
        if !self.touched.contains(address) {
            self.touched.insert(address.clone());
        }
    }

    /// Sends each peer the messages for its addresses, after counting them in the total.
    fn send_outbox(&mut self) -> Result<()> {
        let change = std::mem::take(&mut self.queued_change);
        if change != 0 {
            let before = self.shared.queued_total.fetch_add(change, Ordering::Relaxed);
            let half = (self.shared.options.max_queued / 2) as isize;
            if before > half && before + change <= half {
                self.shared.room.notify_waiters();
            }
        }
        for (peer, messages) in self.outbox.iter_mut().enumerate() {
            if !messages.is_empty() {
                let messages = std::mem::take(messages);
                self.peers[peer]
                    .send((self.shard, ToShard::Messages(messages)))
                    .map_err(|_| Error::Stopped)?;
            }
        }
        Ok(())
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
            && self.outbox.iter().all(Vec::is_empty)
            && self.invocations.is_idle()
            && self.ingress.iter().all(IngressPartition::caught_up)
            && self.timers.next_due().is_none_or(|due| due > now_millis())
    }

    /// One read of every ingress partition of the shard; whether any had records.
    fn read_ingress(&mut self) -> Result<bool> {
        let mut messages = Vec::new();
        let mut any = false;
        // At most as many records as may still be queued, so that the queues stay bounded.
        let queued_total = self.queued_total();
        let options = &self.shared.options;
        let mut budget = options.max_queued.saturating_sub(queued_total).max(1) as u64;
        for partition in &mut self.ingress {
            if budget == 0 {
                break;
            }
            let read = partition.read(options.read_bytes, budget, |address, message| {
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
        let mut group_of: HashMap<Address, usize> = HashMap::new();
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
        let shards = self.shards();
        for (target, messages) in groups {
            if target.function_type == self.shared.reply_type || !self.functions.serves(&target.function_type)
            {
                for message in messages {
                    self.deliver(target.clone(), message)?;
                }
                continue;
            }
            self.queued_change += messages.len() as isize;
            let shard = owner(&target, shards);
            if shard != self.shard {
                self.outbox[shard].extend(messages.into_iter().map(|message| (target.clone(), message)));
                continue;
            }
            self.touch(&target);
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

    /// Delivers `message` to `target`: to a waiting HTTP request, the dead letters, this shard's
    /// queue of the address, or the shard that owns it.
    fn deliver(&mut self, target: Address, message: Message) -> Result<()> {
        if target.function_type == self.shared.reply_type {
            // An answer to a waiting HTTP request, not a function to call.
            self.unsent_replies.push((target.id, message.argument));
            return Ok(());
        }
        if !self.functions.serves(&target.function_type) {
            return self.dead_letter(&target, message);
        }
        self.queued_change += 1;
        let shard = owner(&target, self.shards());
        if shard != self.shard {
            self.outbox[shard].push((target, message));
            return Ok(());
        }
        self.enqueue(target, message)
    }

    /// Queues `message` for an address of this shard (counted in the total already).
    fn enqueue(&mut self, target: Address, message: Message) -> Result<()> {
        self.touch(&target);
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
        let cells = self.cache.values_mut(target);
        for spec in self.invocations.registered_states(&target.function_type) {
            if !cells.contains_key(&spec.name) {
                let stored = self.shared.store.get(
                    &target.function_type.to_string(),
                    &spec.name,
                    target.id.as_bytes(),
                )?;
                if let Some(expires) = stored.as_deref().and_then(stored_expiry) {
                    self.expires.insert((target.clone(), spec.name.clone()), expires);
                }
                let value = stored.map(|bytes| decode_value(&bytes)).transpose().map_err(|reason| {
                    Error::Corrupt { what: format!("state `{}` of `{target}`", spec.name), reason }
                })?;
                cells.insert(spec.name.clone(), value);
            }
            // Time to live: an expired value is gone (and deleted with the next epoch); an
            // invocation keeps the values that expire after one alive.
            if self.expires.is_empty() && matches!(spec.expiration, Expiration::Never) {
                continue;
            }
            let cell = (target.clone(), spec.name.clone());
            if self.expires.get(&cell).is_some_and(|&expires| expires <= now) {
                self.expires.remove(&cell);
                cells.insert(spec.name.clone(), None);
                mark_dirty(&mut self.dirty, target, &spec.name);
            }
            if let Expiration::AfterInvoke(after) = spec.expiration
                && cells.get(&spec.name).is_some_and(Option::is_some)
            {
                self.expires.insert(cell, now.saturating_add(millis(after)));
                mark_dirty(&mut self.dirty, target, &spec.name);
            }
        }
        let cache = &self.cache;
        let view = |address: &Address, name: &str| cache.value(address, name);
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
    /// dispatch in turn, until the replies of [`READY_PER_TURN`] messages are applied.
    ///
    /// Every [`SEND_EVERY`] replies, messages for other shards go out, so that they work on
    /// them meanwhile rather than in turns with this one.
    fn apply_ready(&mut self) -> Result<()> {
        let until = self.summary.messages + READY_PER_TURN;
        for applied in 1.. {
            if self.summary.messages >= until {
                break;
            }
            let Some((target, reply)) = self.ready.pop_front() else { break };
            self.on_reply(target, reply)?;
            if applied % SEND_EVERY == 0 && !self.final_taken {
                self.send_outbox()?;
                // A marker among them may take the run's last snapshot: nothing more then.
                self.take_from_peers()?;
            }
            if self.final_taken {
                break;
            }
        }
        Ok(())
    }

    /// Publishes what the shard did so far for metrics.
    fn publish_metrics(&self) {
        let mut per_type: Vec<(String, TypeCounts)> = self
            .per_type
            .iter()
            .map(|(function_type, counts)| (function_type.to_string(), *counts))
            .collect();
        per_type.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.shared.metrics.publish(
            self.shard,
            MetricsSnapshot {
                epochs: self.summary.epochs,
                ingress_records: self.summary.records_read,
                egress_records: self.summary.egress_records,
                dead_letters: self.summary.dead_letters,
                queued_messages: self.queued as u64,
                delayed_messages: self.timers.len() as u64,
                per_type,
            },
        );
    }

    fn on_reply(&mut self, target: Address, reply: Result<FromFunction, InvokeError>) -> Result<()> {
        let reply =
            reply.map_err(|error| Error::Call { address: target.clone(), reason: error.to_string() })?;
        let messages = self.invocations.in_flight(&target).map_or(0, |batch| batch.messages.len());
        self.touch(&target);
        if !self.known_types.contains(&target.function_type)
            && self.known_types.insert(target.function_type.clone())
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
                self.queued_change -= messages as isize;
                self.apply(&target, effects)?;
                match next {
                    Some(next) => self.dispatch(next),
                    None => Ok(()),
                }
            }
        }
    }

    fn apply(&mut self, address: &Address, effects: Effects) -> Result<()> {
        let cells = self.cache.values_mut(address);
        let now = now_millis();
        for change in effects.state {
            let expiration = self
                .invocations
                .registered_states(&address.function_type)
                .find(|spec| spec.name == change.name)
                .map_or(Expiration::Never, |spec| spec.expiration);
            match expiration {
                Expiration::AfterWrite(after) | Expiration::AfterInvoke(after) if change.value.is_some() => {
                    let cell = (address.clone(), change.name.clone());
                    self.expires.insert(cell, now.saturating_add(millis(after)));
                }
                _ if !self.expires.is_empty() => {
                    self.expires.remove(&(address.clone(), change.name.clone()));
                }
                _ => {}
            }
            mark_dirty(&mut self.dirty, address, &change.name);
            cells.insert(change.name, change.value);
        }
        for egress in &effects.egress {
            let record = self.shared.egresses.route(address, egress)?;
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

    /// Everything changed in the shard since its last snapshot, for the committer.
    fn capture(&mut self, epoch: u64, last: bool) -> Result<EpochWrites> {
        let mut writes = EpochWrites { last, ..EpochWrites::default() };
        self.committing_replies.push_back((epoch, std::mem::take(&mut self.unsent_replies)));
        for (address, names) in self.dirty.drain() {
            self.cache.written(&address, epoch);
            for name in names {
                let value = self.cache.value(&address, &name);
                let expires = if self.expires.is_empty() {
                    None
                } else {
                    self.expires.get(&(address.clone(), name.clone())).copied()
                };
                writes.state.push(StateWrite {
                    service: address.function_type.to_string(),
                    state: name,
                    key: address.id.as_bytes().to_vec(),
                    value: value.as_ref().map(|value| encode_value_expiring(value, expires)),
                });
            }
        }
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

/// Notes that state `name` of `address` changed since the last snapshot.
fn mark_dirty(dirty: &mut HashMap<Address, Vec<String>>, address: &Address, name: &str) {
    match dirty.get_mut(address) {
        Some(names) if names.iter().any(|dirty| dirty == name) => {}
        Some(names) => names.push(name.to_owned()),
        None => {
            dirty.insert(address.clone(), vec![name.to_owned()]);
        }
    }
}

/// A write to one of the runtime's own entries.
fn runtime_write(state: &str, key: String, value: Option<Vec<u8>>) -> StateWrite {
    StateWrite { service: RUNTIME_SERVICE.to_owned(), state: state.to_owned(), key: key.into_bytes(), value }
}

/// A duration in ms, saturating.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
