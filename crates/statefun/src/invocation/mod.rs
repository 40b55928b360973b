//! Per-address invocation, without I/O: which batch to send to which address, the state
//! handshake, and the checked effects of each reply.
//!
//! ```text
//!  enqueue(addr, msg) ──► nothing in flight for addr? ──yes──► Enqueued::Send(batch)  ─┐
//!                               │ no                                                   │
//!                               ▼                                                      │ engine: request(batch, state)
//!                        backlog[addr] += msg                                           │ → HTTP → FromFunction
//!                        (≥ max batch: back-pressure)                                   ▼
//!  complete(addr, reply) ──► incomplete context: register states ──► Completion::Resend(same batch)
//!                       └──► invocation result: check ──► Completion::Done { effects, next batch }
//! ```
//!
//! At most one request is in flight per address; messages arriving meanwhile wait in the
//! address's backlog and leave as the next batch (at most the endpoint's
//! `maxNumBatchRequests` messages). Once a backlog holds that many, [`Invocations::is_back_pressured`]
//! tells the engine to stop feeding new input until replies drain it.
//!
//! A batch in flight is shared ([`Arc`]): the address's queue keeps it, for the epoch's
//! snapshot and for a resend, while the engine builds its request from the same batch, so
//! handing it out costs a reference count rather than a copy of every message.
//!
//! The engine owns state, I/O and time. Before building the request for a batch it must have
//! applied the effects of the previous batch of the same address, since every request carries
//! the address's current state. Everything here is plain data: [`Invocations::snapshot`] captures
//! the in-flight batches, the backlogs and the registered states for the epoch's commit, and
//! [`Invocations::restore`] gives back the batches to send again after a crash (the endpoint may
//! thus see a batch twice; its effects are applied once, with the epoch that receives the reply).

// A protocol error names the address, the state and both typenames for its message; it is the
// rare path, so its size does not matter.
#![allow(clippy::result_large_err, reason = "errors are rare and carry what their message needs")]

mod batch;
mod effects;
mod error;
mod snapshot;

use std::collections::{BTreeMap, VecDeque};

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::sync::Arc;

pub(crate) use batch::request_target;
pub use batch::{Batch, Message, StateView};
pub use effects::{Delayed, Effects, EgressMessage, OutgoingMessage, StateChange};
pub use error::ProtocolError;
pub use snapshot::Snapshot;

use crate::address::{Address, FunctionType};
use crate::proto::reqreply::{FromFunction, ToFunction, from_function};
use crate::state_spec::StateSpec;

/// The most messages in one batch when the endpoint does not say (`maxNumBatchRequests`).
pub const DEFAULT_MAX_BATCH: usize = 1000;

/// What became of an enqueued message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Enqueued {
    /// Nothing was in flight for the address: send this batch now.
    Send(Arc<Batch>),
    /// A request is in flight: the message waits in the address's backlog.
    Queued {
        /// Messages now waiting for this address.
        backlog: usize,
        /// Whether the backlog has reached the batch limit: stop feeding input.
        back_pressure: bool,
    },
}

/// What to do after a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Completion {
    /// The function declared states it was not sent; they are registered now. Build the request
    /// for this same batch again and send it.
    Resend(Arc<Batch>),
    /// The batch ran.
    Done {
        /// Its effects, to apply with the epoch.
        effects: Effects,
        /// The next batch for the address, taken from its backlog: apply `effects`, then send it.
        next: Option<Arc<Batch>>,
    },
}

/// The batch limit of a function type.
type MaxBatch = Arc<dyn Fn(&FunctionType) -> usize + Send + Sync>;

/// The invocation state of every address a task serves.
pub struct Invocations {
    max_batch: MaxBatch,
    registered: HashMap<FunctionType, BTreeMap<String, StateSpec>>,
    /// Counts registrations; `registered_at` holds the count after the last one of a type.
    generation: u64,
    registered_at: HashMap<FunctionType, u64>,
    addresses: HashMap<Address, AddressQueue>,
    back_pressured: HashSet<Address>,
}

/// One address: the batch in flight and the messages waiting behind it.
#[derive(Default)]
struct AddressQueue {
    in_flight: Option<Arc<Batch>>,
    /// The registration count when the request for `in_flight` was built: a reply asking for
    /// states registered since answers a request that could not carry them.
    generation: u64,
    backlog: VecDeque<Message>,
}

impl std::fmt::Debug for Invocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invocations")
            .field("addresses", &self.addresses.len())
            .field("back_pressured", &self.back_pressured.len())
            .finish_non_exhaustive()
    }
}

impl Invocations {
    /// Invocations with the batch limit `max_batch(function_type)` (at least 1 is used).
    pub fn new(max_batch: impl Fn(&FunctionType) -> usize + Send + Sync + 'static) -> Self {
        Self {
            max_batch: Arc::new(max_batch),
            registered: HashMap::new(),
            generation: 0,
            registered_at: HashMap::new(),
            addresses: HashMap::new(),
            back_pressured: HashSet::new(),
        }
    }

    /// Invocations with one batch limit for every function type.
    pub fn with_max_batch(max_batch: usize) -> Self {
        Self::new(move |_| max_batch)
    }

    fn limit(&self, function_type: &FunctionType) -> usize {
        (self.max_batch)(function_type).max(1)
    }

    /// Accepts a message for `target`: returns the batch to send now, or queues the message.
    pub fn enqueue(&mut self, target: Address, message: Message) -> Enqueued {
        let limit = self.limit(&target.function_type);
        let generation = self.generation;
        let queue = self.addresses.entry(target.clone()).or_default();
        if queue.in_flight.is_none() {
            let batch = Arc::new(Batch { target, messages: vec![message] });
            queue.in_flight = Some(Arc::clone(&batch));
            queue.generation = generation;
            return Enqueued::Send(batch);
        }
        queue.backlog.push_back(message);
        let backlog = queue.backlog.len();
        let back_pressure = backlog >= limit;
        if back_pressure {
            self.back_pressured.insert(target);
        }
        Enqueued::Queued { backlog, back_pressure }
    }

    /// Accepts `messages` for `target`, in order: when nothing is in flight for the address,
    /// the first of them (up to the batch limit) form the batch to send now, and the rest
    /// wait in its backlog; otherwise they all wait. Messages read together thus travel
    /// together, where [`enqueue`](Self::enqueue) one by one would send the first alone.
    /// An empty `messages` changes nothing.
    pub fn enqueue_all(&mut self, target: Address, messages: Vec<Message>) -> Enqueued {
        let limit = self.limit(&target.function_type);
        let generation = self.generation;
        let queue = self.addresses.entry(target.clone()).or_default();
        let mut messages = messages.into_iter();
        if queue.in_flight.is_none() && messages.len() > 0 {
            let first: Vec<Message> = messages.by_ref().take(limit).collect();
            queue.backlog.extend(messages);
            let batch = Arc::new(Batch { target: target.clone(), messages: first });
            queue.in_flight = Some(Arc::clone(&batch));
            queue.generation = generation;
            if queue.backlog.len() >= limit {
                self.back_pressured.insert(target);
            }
            return Enqueued::Send(batch);
        }
        queue.backlog.extend(messages);
        let backlog = queue.backlog.len();
        if queue.in_flight.is_none() {
            // Nothing in flight and nothing given: the address has nothing to keep.
            self.addresses.remove(&target);
            return Enqueued::Queued { backlog: 0, back_pressure: false };
        }
        let back_pressure = backlog >= limit;
        if back_pressure {
            self.back_pressured.insert(target);
        }
        Enqueued::Queued { backlog, back_pressure }
    }

    /// The request for `batch`, carrying the registered states of its function type as `state`
    /// holds them.
    pub fn request(&self, batch: &Batch, state: &impl StateView) -> ToFunction {
        let specs: Vec<StateSpec> = self.registered_states(&batch.target.function_type).cloned().collect();
        batch.to_request(&specs, state)
    }

    /// Handles the reply to the batch in flight for `target`.
    ///
    /// # Errors
    /// [`ProtocolError`] when the reply breaks the protocol; the batch then stays in flight.
    pub fn complete(&mut self, target: &Address, reply: FromFunction) -> Result<Completion, ProtocolError> {
        if self.in_flight(target).is_none() {
            return Err(ProtocolError::NotInFlight(target.clone()));
        }
        match reply.response {
            None => Err(ProtocolError::EmptyReply { address: target.clone() }),
            Some(from_function::Response::IncompleteInvocationContext(context)) => {
                self.register(target, &context.missing_values)?;
                let batch = self
                    .addresses
                    .get(target)
                    .and_then(|queue| queue.in_flight.clone())
                    .ok_or_else(|| ProtocolError::NotInFlight(target.clone()))?;
                Ok(Completion::Resend(batch))
            }
            Some(from_function::Response::InvocationResult(response)) => {
                let empty = BTreeMap::new();
                let specs = self.registered.get(&target.function_type).unwrap_or(&empty);
                let effects = Effects::from_response(target, specs, response)?;
                let next = self.next_batch(target);
                Ok(Completion::Done { effects, next })
            }
        }
    }

    fn register(
        &mut self,
        target: &Address,
        missing: &[from_function::PersistedValueSpec],
    ) -> Result<(), ProtocolError> {
        if missing.is_empty() {
            return Err(ProtocolError::Malformed {
                address: target.clone(),
                reason: "`incomplete_invocation_context` lists no missing state".to_owned(),
            });
        }
        // Requests for several addresses of a type may all be built before the first reply
        // registers its states: those replies ask for states registered meanwhile.
        let sent_at = self.addresses.get(target).map_or(0, |queue| queue.generation);
        let stale = self.registered_at.get(&target.function_type).is_some_and(|&at| sent_at < at);
        let registered = self.registered.entry(target.function_type.clone()).or_default();
        let specs: Vec<StateSpec> = missing.iter().map(StateSpec::from_proto).collect();
        for spec in &specs {
            if let Some(known) = registered.get(&spec.name) {
                if known.typename != spec.typename {
                    return Err(ProtocolError::StateTypeChanged {
                        function_type: target.function_type.to_string(),
                        state: spec.name.clone(),
                        registered: known.typename.clone(),
                        found: spec.typename.clone(),
                    });
                }
                if !stale {
                    return Err(ProtocolError::HandshakeLoop {
                        address: target.clone(),
                        state: spec.name.clone(),
                    });
                }
            }
        }
        let mut added = false;
        for spec in specs {
            if !registered.contains_key(&spec.name) {
                registered.insert(spec.name.clone(), spec);
                added = true;
            }
        }
        if added {
            self.generation += 1;
            self.registered_at.insert(target.function_type.clone(), self.generation);
        }
        // The batch is sent again, now with every registered state.
        let generation = self.generation;
        if let Some(queue) = self.addresses.get_mut(target) {
            queue.generation = generation;
        }
        Ok(())
    }

    /// Ends the in-flight batch of `target` and starts the next one from its backlog.
    fn next_batch(&mut self, target: &Address) -> Option<Arc<Batch>> {
        let limit = self.limit(&target.function_type);
        let queue = self.addresses.get_mut(target)?;
        queue.in_flight = None;
        if queue.backlog.is_empty() {
            self.addresses.remove(target);
            self.back_pressured.remove(target);
            return None;
        }
        let take = queue.backlog.len().min(limit);
        let batch =
            Arc::new(Batch { target: target.clone(), messages: queue.backlog.drain(..take).collect() });
        queue.in_flight = Some(Arc::clone(&batch));
        queue.generation = self.generation;
        if queue.backlog.len() < limit {
            self.back_pressured.remove(target);
        }
        Some(batch)
    }

    /// The batch in flight for `target`, to send again after a retryable failure.
    pub fn in_flight(&self, target: &Address) -> Option<&Batch> {
        self.addresses.get(target).and_then(|queue| queue.in_flight.as_deref())
    }

    /// The messages waiting behind the batch in flight for `target`, oldest first. With
    /// [`in_flight`](Self::in_flight) it is what a [`snapshot`](Self::snapshot) holds for one
    /// address, for an engine that commits only the addresses an epoch touched.
    pub fn backlog(&self, target: &Address) -> impl Iterator<Item = &Message> {
        self.addresses.get(target).into_iter().flat_map(|queue| queue.backlog.iter())
    }

    /// Messages waiting behind the batch in flight for `target`.
    pub fn backlog_len(&self, target: &Address) -> usize {
        self.addresses.get(target).map_or(0, |queue| queue.backlog.len())
    }

    /// Whether some address's backlog has reached its batch limit: the engine should stop
    /// feeding input until replies drain it.
    pub fn is_back_pressured(&self) -> bool {
        !self.back_pressured.is_empty()
    }

    /// Whether no batch is in flight anywhere.
    pub fn is_idle(&self) -> bool {
        self.addresses.is_empty()
    }

    /// The states registered for `function_type`, by name.
    pub fn registered_states(&self, function_type: &FunctionType) -> impl Iterator<Item = &StateSpec> {
        self.registered.get(function_type).into_iter().flat_map(BTreeMap::values)
    }

    /// Everything needed to carry on after a crash: registered states, in-flight batches and
    /// backlogs, in a stable order.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::capture(
            &self.registered,
            self.addresses
                .iter()
                .map(|(address, queue)| (address, queue.in_flight.as_deref(), queue.backlog.iter())),
        )
    }

    /// Invocations as `snapshot` left them, and the batches that were in flight: build their
    /// requests and send them again.
    pub fn restore(
        snapshot: Snapshot,
        max_batch: impl Fn(&FunctionType) -> usize + Send + Sync + 'static,
    ) -> (Self, Vec<Arc<Batch>>) {
        let mut invocations = Self::new(max_batch);
        for (function_type, specs) in snapshot.registered {
            let specs = specs.into_iter().map(|spec| (spec.name.clone(), spec)).collect();
            invocations.registered.insert(function_type, specs);
        }
        let mut resend = Vec::new();
        for batch in snapshot.in_flight {
            let batch = Arc::new(batch);
            let queue = invocations.addresses.entry(batch.target.clone()).or_default();
            queue.in_flight = Some(Arc::clone(&batch));
            resend.push(batch);
        }
        for waiting in snapshot.backlog {
            let limit = invocations.limit(&waiting.target.function_type);
            let queue = invocations.addresses.entry(waiting.target.clone()).or_default();
            queue.backlog.extend(waiting.messages);
            if queue.in_flight.is_none() {
                // A backlog without a batch in flight cannot come from a snapshot; start it.
                let take = queue.backlog.len().min(limit);
                let batch = Arc::new(Batch {
                    target: waiting.target.clone(),
                    messages: queue.backlog.drain(..take).collect(),
                });
                queue.in_flight = Some(Arc::clone(&batch));
                resend.push(batch);
            }
            if queue.backlog.len() >= limit {
                invocations.back_pressured.insert(waiting.target);
            }
        }
        (invocations, resend)
    }
}

#[cfg(test)]
mod tests;
