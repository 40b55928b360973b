//! A worker thread: the tasks of one slice of the dataflow.
//!
//! Each worker owns some source partitions of every service (topic partitions, or generator
//! partitions: see `generator`) and the key groups that hash to it
//! (`partition_for_key(key, workers)`). It reads its sources, runs the fused stateless chain,
//! and either writes to sinks directly or, in a keyed service, sends the re-keyed record to
//! the worker owning the key, over a bounded channel (back-pressure: a full channel makes the
//! sender work on its own inbound records until there is room).
//! The owner runs the keyed chain and `update-state` against its in-memory state cache,
//! loading a key's committed value from the store on first use. A join service sends a
//! record to each side it belongs to, keyed by that side's join key; the owner keeps the
//! key's rows in the same cache (or in its windows) and emits the pairs (see `join`).
//!
//! Closing epoch E (aligned, as in Flink's checkpoint barriers, and in one process):
//!
//! ```text
//!  committer: requested_epoch = E
//!  worker w:  stop reading sources ── flush outbound ── Barrier(E) to every peer
//!             process inbound until Barrier(E) came from every peer
//!             snapshot: dirty state, source positions, sink records ──▶ committer
//!             pass the gate (all workers snapshotted) ── resume sources in epoch E+1
//! ```
//!
//! Because sources stop before the barrier and resume only after the gate, nothing is in
//! flight between tasks when a snapshot is taken: the commit holds state, positions and
//! sink records, and the in-flight set is empty by construction.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use eddy_dataflow::expr::{Bindings, Encoded};
use eddy_dataflow::model::{FlushPer, Keep};
use eddy_dataflow::{FlushPlan, JoinPlan, Logic, OperatorKind, OperatorPlan, WasmSource, WindowKind};
use eddy_log::{Batch, Partition, ReadPosition};
use eddy_nexmark::Event;
use eddy_state::StateStore;
use eddy_types::{Offset, Record, partition_for_key};
use eddy_wasm::OperatorKind as WasmKind;
use serde_json::Value;

use crate::committer::ToCommitter;
use crate::flow::{self, Flow, Origin, SinkArena};
use crate::generator::GeneratorPartition;
use crate::join::{self, Side};
use crate::operators::{
    call, call_emit, call_flush, call_merge, call_state_emit, run_chain, run_chain_batch,
};
use crate::panes::parse_flushed_key;
use crate::shared::Shared;
use crate::sink_records::SinkRecords;
use crate::spare::Spare;
use crate::state_cache::StateCache;
use crate::topology::{Input, Service, Sink, Source, Topology};
use crate::wasm::{Components, Instances};
use crate::windows::{
    Announced, Bounds, IDLE, StateKeys, Windows, collector, event_time_key, parse_event_time_key,
    parse_part_key, parse_state_key, part_key, take_overlapping_sessions, window_value,
};
use crate::{Error, Result};

mod panes;

/// Records sent to a peer in one message, at most.
const OUTBOUND_BATCH: usize = 512;
/// Bytes read from one source partition per poll: small enough that a worker notices an
/// epoch request within a few milliseconds, so that no worker waits long for the others.
const READ_BYTES: usize = 32 << 10;
/// Records of one source partition taken per poll, at most, before the next partition's
/// turn: a log batch may hold tens of thousands.
const SLICE_RECORDS: usize = 1024;
/// The most records of a source run through a chain with a WebAssembly step together.
const MAX_RUN: usize = 256;

/// Emptied batches of [`Message::Records`], kept for reuse.
pub(crate) type RecordBatches = Spare<(To, Flow), OUTBOUND_BATCH, 64>;

/// What travels between workers.
#[derive(Debug)]
pub(crate) enum Message {
    /// Re-keyed records for the receiver's key groups.
    Records(Vec<(To, Flow)>),
    /// The sender has sent everything of this epoch.
    Barrier(u64),
    /// The sender's watermark of a windowed service changed: (service, sender, its
    /// watermark and whether all its partitions are idle).
    Watermark(u32, usize, Announced),
    /// The sender's part of a closed window, for the window's collector (per-window flush):
    /// (service, window, its keys' states).
    WindowPart(u32, Bounds, Vec<(Bytes, Value)>),
    /// The sender closed every window of the service through this watermark, and sent its
    /// parts before: (service, sender, watermark).
    WindowsClosed(u32, usize, i64),
}

/// Where a re-keyed record goes on the worker owning its key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct To {
    pub(crate) service: u32,
    /// The join side it is a row of; `None`: the partition stage.
    pub(crate) side: Option<Side>,
}

/// A source partition this worker reads.
#[derive(Debug)]
pub(crate) struct OwnedSource {
    pub(crate) service: u32,
    pub(crate) source: u32,
    pub(crate) reader: Reader,
    /// Where reading goes on: a topic offset, or how many events a generator partition made.
    pub(crate) next: Offset,
    /// The highest event time read from it (windowed services).
    max_event_time: i64,
    /// When a record was last read from it.
    last_read: Instant,
    /// Batches read from a topic partition and not yet taken in full, from `next` on.
    pending: VecDeque<Batch>,
    /// Where the first pending batch was left, when part of it was taken.
    resume: Option<ReadPosition>,
}

/// What a source partition reads.
#[derive(Debug)]
pub(crate) enum Reader {
    /// A topic partition.
    Topic(Arc<Partition>),
    /// A generator partition.
    Generator(GeneratorPartition),
}

impl OwnedSource {
    pub(crate) fn new(service: u32, source: u32, reader: Reader, next: Offset) -> OwnedSource {
        OwnedSource {
            service,
            source,
            reader,
            next,
            max_event_time: i64::MIN,
            last_read: Instant::now(),
            pending: VecDeque::new(),
            resume: None,
        }
    }

    /// The partition's id within its source.
    fn partition_id(&self) -> u32 {
        match &self.reader {
            Reader::Topic(partition) => partition.id(),
            Reader::Generator(generator) => generator.partition,
        }
    }

    /// Whether everything there is to read now was read: a topic partition's committed
    /// records, or every event of a bounded generator (an endless one never is).
    fn caught_up(&self) -> bool {
        match &self.reader {
            Reader::Topic(partition) => self.next >= partition.committed_end(),
            Reader::Generator(generator) => self.next >= generator.end(),
        }
    }
}

/// Sink records of an epoch, by topic index then partition.
pub(crate) type SinkBuffers = Vec<Vec<SinkRecords>>;

/// A worker's part of an epoch, handed to the committer.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) epoch: u64,
    /// (service, key, new value as JSON).
    pub(crate) states: Vec<(u32, Bytes, Vec<u8>)>,
    /// (service, key) of states to delete: those of closed windows.
    pub(crate) deletes: Vec<(u32, Bytes)>,
    /// (service, source, partition, next offset).
    pub(crate) sources: Vec<(u32, u32, u32, Offset)>,
    pub(crate) sinks: SinkBuffers,
    pub(crate) read: u64,
    pub(crate) dead_letters: u64,
    /// Time this worker spent closing epochs (barriers, snapshot, gate) since the last
    /// snapshot, excluding this one's gate.
    pub(crate) closing: Duration,
    /// Every source of this worker had read all committed records when the epoch closed.
    pub(crate) caught_up: bool,
}

pub(crate) struct Worker {
    pub(crate) id: usize,
    pub(crate) workers: usize,
    pub(crate) topology: Arc<Topology>,
    pub(crate) store: Arc<StateStore>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) sources: Vec<OwnedSource>,
    pub(crate) inbound: Receiver<Message>,
    /// Senders to every worker, by id (this worker's own is never used).
    pub(crate) peers: Vec<SyncSender<Message>>,
    pub(crate) to_committer: SyncSender<ToCommitter>,
    outbound: Vec<Vec<(To, Flow)>>,
    cache: Vec<StateCache>,
    dirty: Vec<Vec<Bytes>>,
    /// Per service: its windows, for windowed services.
    windows: Vec<Option<Windows>>,
    /// The source whose records are being processed (for event-time tracking).
    current_source: usize,
    sinks: SinkBuffers,
    epoch: u64,
    /// The last epoch this worker told the committer it was drained in.
    drained_reported: u64,
    /// Whether the time to this worker's first records of the run was logged.
    first_records_reported: bool,
    barriers: usize,
    read: u64,
    dead_letters: u64,
    closing: Duration,
    round_robin: u32,
    /// Where sink records are encoded.
    arena: SinkArena,
    /// This worker's WebAssembly instances.
    wasm: Instances,
    /// The holder generator sources make their events in, reused.
    event: Event,
    /// The value of the last record the worker finished with (written to a sink, counted in
    /// a state or a window): the next generator event (`Event::fill_value_of`) or decoded
    /// topic record (`Decoder::decode_into`) is written into it, keeping its map, names and
    /// strings.
    spare_value: Value,
}

impl Worker {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: usize,
        workers: usize,
        topology: Arc<Topology>,
        store: Arc<StateStore>,
        shared: Arc<Shared>,
        sources: Vec<OwnedSource>,
        inbound: Receiver<Message>,
        peers: Vec<SyncSender<Message>>,
        to_committer: SyncSender<ToCommitter>,
        epoch: u64,
        components: Arc<Components>,
    ) -> Worker {
        let services = topology.services.len();
        let sinks = empty_sink_buffers(&topology);
        let windows = topology
            .services
            .iter()
            .map(|service| {
                service.window.as_ref().map(|_| match service.panes() {
                    Some((size_ms, slide_ms)) => Windows::new(workers).with_panes(size_ms, slide_ms),
                    None => Windows::new(workers),
                })
            })
            .collect();
        Worker {
            id,
            workers,
            topology,
            store,
            shared,
            sources,
            inbound,
            peers,
            to_committer,
            outbound: (0..workers).map(|_| Vec::new()).collect(),
            cache: (0..services).map(|_| StateCache::default()).collect(),
            dirty: (0..services).map(|_| Vec::new()).collect(),
            windows,
            current_source: 0,
            sinks,
            epoch,
            drained_reported: 0,
            first_records_reported: false,
            barriers: 0,
            read: 0,
            dead_letters: 0,
            closing: Duration::ZERO,
            round_robin: id as u32,
            arena: SinkArena::default(),
            wasm: Instances::new(components),
            event: Event::new(),
            spare_value: Value::Null,
        }
    }

    /// Runs until the committer's last epoch, or until a failure anywhere.
    pub(crate) fn run(mut self) {
        if let Err(error) = self.run_epochs() {
            if !matches!(error, Error::Stopped) {
                tracing::error!(worker = self.id, %error, "worker failed");
            }
            self.shared.fail(&error);
        }
    }

    fn run_epochs(&mut self) -> Result<()> {
        self.load_windows()?;
        // Peers learn the restored watermarks before any record of this run.
        self.advance_watermarks()?;
        loop {
            if self.shared.failed() {
                return Err(Error::Stopped);
            }
            let requested = self.shared.requested_epoch.load(Ordering::Acquire);
            if requested > self.epoch {
                let last = self.shared.stopping.load(Ordering::Acquire);
                self.close_epoch(requested)?;
                if last {
                    return Ok(());
                }
                continue;
            }
            let mut progress = self.drain_inbound(64)?;
            progress |= self.poll_sources()?;
            self.flush_outbound()?;
            self.advance_watermarks()?;
            if !progress {
                self.report_drained();
                match self.inbound.recv_timeout(Duration::from_millis(1)) {
                    Ok(message) => self.handle(message)?,
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return Err(Error::Stopped),
                }
            }
        }
    }

    /// With `--until-idle`, tells the committer once per epoch that every source of this
    /// worker is read to its end (a hint: whether the run is idle, the epoch's commit says).
    fn report_drained(&mut self) {
        let open = self.epoch + 1;
        if self.shared.until_idle
            && self.drained_reported < open
            && self.sources.iter().all(OwnedSource::caught_up)
        {
            self.drained_reported = open;
            // A full inbox means the committer is busy with this worker's news already.
            let _ = self.to_committer.try_send(ToCommitter::Drained { epoch: open });
        }
    }

    fn drain_inbound(&mut self, max: usize) -> Result<bool> {
        let mut progress = false;
        for _ in 0..max {
            match self.inbound.try_recv() {
                Ok(message) => {
                    self.handle(message)?;
                    progress = true;
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Err(Error::Stopped),
            }
        }
        Ok(progress)
    }

    fn handle(&mut self, message: Message) -> Result<()> {
        match message {
            Message::Records(mut flows) => {
                let topology = Arc::clone(&self.topology);
                for (to, flow) in flows.drain(..) {
                    self.keyed(&topology, to, flow)?;
                }
                self.shared.record_batches.give_back(flows);
            }
            Message::Barrier(epoch) => {
                debug_assert_eq!(epoch, self.shared.requested_epoch.load(Ordering::Acquire));
                self.barriers += 1;
            }
            // Windows close in the main loop (`advance_watermarks`), never here: closing one
            // may send a part to its collector, and handling a message never sends.
            Message::Watermark(service, from, announced) => {
                if let Some(windows) = self.windows[service as usize].as_mut() {
                    windows.announce(from, announced);
                }
            }
            Message::WindowPart(service, bounds, part) => {
                if let Some(windows) = self.windows[service as usize].as_mut() {
                    windows.collect(bounds, part);
                }
            }
            Message::WindowsClosed(service, from, watermark) => {
                if let Some(windows) = self.windows[service as usize].as_mut() {
                    windows.close_through(from, watermark);
                }
                let topology = Arc::clone(&self.topology);
                self.flush_collected(&topology, service)?;
            }
        }
        Ok(())
    }

    fn poll_sources(&mut self) -> Result<bool> {
        let topology = Arc::clone(&self.topology);
        let mut progress = false;
        for index in 0..self.sources.len() {
            if self.shared.requested_epoch.load(Ordering::Acquire) > self.epoch {
                break;
            }
            let (service, source, next) = {
                let s = &self.sources[index];
                (s.service, s.source, s.next)
            };
            let max_drift = topology.services[service as usize].window.as_ref().and_then(|w| w.max_drift_ms);
            if let Some(max_drift) = max_drift {
                let event_time = self.sources[index].max_event_time;
                if self.shared.alignment.waits(service as usize, event_time, max_drift) {
                    continue;
                }
            }
            let partition = match &self.sources[index].reader {
                Reader::Topic(partition) => Arc::clone(partition),
                Reader::Generator(_) => {
                    progress |= self.generate(&topology, index)?;
                    continue;
                }
            };
            let Input::Topic { converter, value_type, .. } =
                &topology.services[service as usize].sources[source as usize].input
            else {
                return Err(Error::Internal("a topic partition of a source that is no topic".into()));
            };
            // Batches are taken a slice at a time, whatever their size, so that partitions
            // read by one worker go on side by side and an epoch request is noticed soon.
            let mut pending = std::mem::take(&mut self.sources[index].pending);
            if pending.is_empty() {
                if next >= partition.committed_end() {
                    continue;
                }
                match partition.read(next, READ_BYTES) {
                    Ok(batches) => pending.extend(batches),
                    Err(eddy_log::Error::OffsetOutOfRange { start, .. }) if next < start => {
                        tracing::warn!(
                            topic = %topology.services[service as usize].sources[source as usize].origin,
                            partition = partition.id(), from = next, to = start,
                            "records removed by retention before they were read; skipping ahead"
                        );
                        self.sources[index].next = start;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
                if pending.is_empty() {
                    tracing::debug!(
                        partition = partition.id(),
                        next,
                        end = partition.committed_end(),
                        "read nothing"
                    );
                    continue;
                }
            }
            let mut position = next;
            self.current_source = index;
            self.sources[index].last_read = Instant::now();
            let chain = &topology.services[service as usize].sources[source as usize].chain;
            // A chain with a WebAssembly step takes the records of a log batch together, so
            // the component is called once per run of records (see `run_chain_batch`).
            let together = chain.iter().any(|op| matches!(op.logic, Logic::Wasm(_)));
            let mut run: Vec<Flow> = Vec::new();
            let mut left = SLICE_RECORDS;
            let mut resume = self.sources[index].resume.take();
            while left > 0 {
                let Some(batch) = pending.front() else { break };
                let mut records = match resume.take() {
                    Some(at) => batch.records_from(at),
                    None => batch.records(),
                };
                for record in records.by_ref() {
                    if record.offset < position {
                        continue;
                    }
                    self.read += 1;
                    let s = &topology.services[service as usize];
                    let src = &s.sources[source as usize];
                    let origin = Origin { source, partition: partition.id(), offset: record.offset };
                    let key = record.key.map(Bytes::copy_from_slice);
                    let spare = std::mem::take(&mut self.spare_value);
                    let decoded = match src.decoder.as_ref().and_then(|d| d.decode_into(record.value, spare))
                    {
                        Some(projected) => Ok((projected, true)),
                        None => {
                            flow::decode(record.value, *converter, value_type).map(|whole| (whole, false))
                        }
                    };
                    match decoded {
                        Ok((value, projected)) => {
                            let flow = Flow { key, value, timestamp: record.timestamp, origin, projected };
                            if together {
                                run.push(flow);
                                if run.len() >= MAX_RUN {
                                    self.chain_run(&topology, service, chain, std::mem::take(&mut run))?;
                                }
                            } else {
                                self.source_chain(&topology, service, src, flow)?;
                            }
                        }
                        Err(reason) => {
                            // What was read before this record is done first, in order.
                            self.chain_run(&topology, service, chain, std::mem::take(&mut run))?;
                            let value = flow::raw_value(record.value);
                            self.dead_letter(
                                &topology,
                                s,
                                &src.origin,
                                &reason,
                                Flow { key, value, timestamp: record.timestamp, origin, projected: false },
                            );
                        }
                    }
                    position = record.offset + 1;
                    left -= 1;
                    if left == 0 {
                        break;
                    }
                }
                self.chain_run(&topology, service, chain, std::mem::take(&mut run))?;
                let at = records.position();
                if at.is_end() {
                    position = position.max(batch.next_offset());
                    pending.pop_front();
                } else {
                    resume = Some(at);
                }
            }
            self.sources[index].pending = pending;
            self.sources[index].resume = resume;
            progress |= position > next;
            self.sources[index].next = position;
            if position > next && !self.first_records_reported {
                self.first_records_reported = true;
                let after = self.shared.started.0.elapsed();
                tracing::info!(worker = self.id, ?after, "the first records read in this run are processed");
            }
        }
        Ok(progress)
    }

    /// Makes the events of generator source `index` that are due (see `generator`) and
    /// runs them through the service; returns whether it made any.
    fn generate(&mut self, topology: &Topology, index: usize) -> Result<bool> {
        let owned = &self.sources[index];
        let (service, source, next) = (owned.service, owned.source, owned.next);
        let Reader::Generator(generator) = &owned.reader else { return Ok(false) };
        let limit = generator.due(next);
        if limit <= next {
            return Ok(false);
        }
        let (spec, partition) = (Arc::clone(&generator.spec), generator.partition);
        let first = generator.number(next);
        let step = u64::from(spec.partitions);
        let src = &topology.services[service as usize].sources[source as usize];
        self.current_source = index;
        self.sources[index].last_read = Instant::now();
        for count in 0..limit - next {
            let number = first + count * step;
            spec.generator.generate(number, &mut self.event);
            let mut value = std::mem::take(&mut self.spare_value);
            self.event.fill_value_of(&src.event_fields, &mut value);
            let flow = Flow {
                key: None,
                value,
                timestamp: self.event.date_time(),
                origin: Origin { source, partition, offset: number },
                projected: !src.projection.is_whole(),
            };
            self.read += 1;
            self.source_chain(topology, service, src, flow)?;
        }
        self.sources[index].next = limit;
        Ok(true)
    }

    /// Runs a stateless chain, then the stage after it.
    fn chain(
        &mut self,
        topology: &Topology,
        service: u32,
        ops: &[OperatorPlan],
        flow: Flow,
        then: Stage,
    ) -> Result<()> {
        if ops.is_empty() {
            return self.stage(topology, service, flow, then);
        }
        let s = &topology.services[service as usize];
        let key = if s.uses_key { flow::key_value(flow.key.as_ref()) } else { Value::Null };
        let mut out = Vec::new();
        let mut failed = Vec::new();
        run_chain(&mut self.wasm, ops, flow, &key, &mut |f| out.push(f), &mut |op, f, reason| {
            failed.push((op, f, reason))
        });
        for (op, f, reason) in failed {
            self.dead_letter(topology, s, &op.origin, &reason, f);
        }
        for f in out {
            self.stage(topology, service, f, then)?;
        }
        Ok(())
    }

    /// Runs a source's stateless chain on one record, then routes what comes out; when the
    /// source's chain [encodes into the sink](Source::encodes_into_sink), its last step
    /// writes the sink record's bytes itself.
    fn source_chain(&mut self, topology: &Topology, service: u32, source: &Source, flow: Flow) -> Result<()> {
        let (true, Some((last, before))) = (source.encodes_into_sink, source.chain.split_last()) else {
            return self.chain(topology, service, &source.chain, flow, Stage::Route);
        };
        let s = &topology.services[service as usize];
        let key = if s.uses_key { flow::key_value(flow.key.as_ref()) } else { Value::Null };
        // Without a `flat-map`, a record comes out of the steps before the last once or not
        // at all.
        let (mut passed, mut failed) = (None, None);
        run_chain(&mut self.wasm, before, flow, &key, &mut |f| passed = Some(f), &mut |op, f, reason| {
            failed = Some((op, f, reason))
        });
        if let Some((op, f, reason)) = failed {
            self.dead_letter(topology, s, &op.origin, &reason, f);
        }
        match passed {
            Some(flow) => self.encode_into_sink(topology, service, last, flow, &key),
            None => Ok(()),
        }
    }

    /// Runs the last step of a source chain that encodes into the service's one sink: its
    /// result's bytes go into the sink record directly. Anything the direct encoding does not
    /// answer (a failure, a result not of the sink's type, a `map` to `null`) takes the
    /// ordinary way, which evaluates the step again and gives the dead letter and its reason.
    fn encode_into_sink(
        &mut self,
        topology: &Topology,
        service: u32,
        last: &OperatorPlan,
        flow: Flow,
        key: &Value,
    ) -> Result<()> {
        let sink = &topology.services[service as usize].sinks[0];
        if let Some(expr) = last.logic.as_cel() {
            let bindings = Bindings::new(&flow.value).with_key(key).with_timestamp(flow.timestamp);
            match expr.encode_json(&bindings, &sink.value_type, self.arena.scratch()) {
                Ok(Encoded::Value) => {
                    let record = Record {
                        key: flow.key,
                        value: self.arena.cut(),
                        timestamp: flow.timestamp,
                        headers: Vec::new(),
                    };
                    self.push_sink_record(topology, sink, record);
                    self.keep_spare(flow.value);
                    return Ok(());
                }
                Ok(Encoded::Null) if last.kind == OperatorKind::FilterMap => {
                    self.keep_spare(flow.value);
                    return Ok(());
                }
                Ok(_) | Err(_) => {}
            }
        }
        self.chain(topology, service, std::slice::from_ref(last), flow, Stage::Route)
    }

    /// Keeps the value of a record the service finished with, for the next event a generator
    /// makes or the next record a topic source decodes to be written into.
    fn keep_spare(&mut self, value: Value) {
        self.spare_value = value;
    }

    /// Runs a source's stateless chain on a run of its records together, then routes what
    /// comes out; each record's outcome and the order are those of [`Worker::chain`] record
    /// by record.
    fn chain_run(
        &mut self,
        topology: &Topology,
        service: u32,
        ops: &[OperatorPlan],
        run: Vec<Flow>,
    ) -> Result<()> {
        if run.is_empty() {
            return Ok(());
        }
        let s = &topology.services[service as usize];
        let key_of = |flow: &Flow| if s.uses_key { flow::key_value(flow.key.as_ref()) } else { Value::Null };
        for outcome in run_chain_batch(&mut self.wasm, ops, run, &key_of) {
            for (op, f, reason) in outcome.failed {
                self.dead_letter(topology, s, &op.origin, &reason, f);
            }
            for f in outcome.out {
                self.stage(topology, service, f, Stage::Route)?;
            }
        }
        Ok(())
    }

    fn stage(&mut self, topology: &Topology, service: u32, flow: Flow, then: Stage) -> Result<()> {
        match then {
            Stage::Route => self.route(topology, service, flow),
            Stage::Update => self.update(topology, service, flow),
            Stage::Sink(sink) => {
                self.write_sink(topology, service, sink, flow);
                Ok(())
            }
        }
    }

    /// After the stateless chain: re-key and send to the key's worker, or go to the sinks.
    fn route(&mut self, topology: &Topology, service: u32, mut flow: Flow) -> Result<()> {
        let s = &topology.services[service as usize];
        if s.keyed.is_none() && s.join.is_none() {
            return self.sinks(topology, service, flow);
        }
        let key = if s.uses_key { flow::key_value(flow.key.as_ref()) } else { Value::Null };
        if let Some(window) = &s.window {
            if let Some(logic) = &window.timestamp {
                let event_time = call(logic, WasmKind::AssignTimestamp, &mut self.wasm, &flow, &key, None)
                    .and_then(|time| {
                        time.as_i64().ok_or_else(|| {
                        format!(
                            "assign-timestamp returned {time}, expected an integer (ms since the Unix epoch)"
                        )
                    })
                    });
                match event_time {
                    Ok(time) => flow.timestamp = time,
                    Err(reason) => {
                        self.dead_letter(topology, s, &window.timestamp_origin, &reason, flow);
                        return Ok(());
                    }
                }
            }
            let source = &mut self.sources[self.current_source];
            if source.service == service {
                source.max_event_time = source.max_event_time.max(flow.timestamp);
            }
        }
        if s.join.is_some() {
            return self.route_join(topology, service, flow, &key);
        }
        let Some(keyed) = &s.keyed else {
            return Err(Error::Internal("routing a record of a service without a keyed stage".into()));
        };
        let new_key = call(&keyed.key, WasmKind::AssignKey, &mut self.wasm, &flow, &key, None)
            .and_then(flow::key_bytes);
        let new_key = match new_key {
            Ok(new_key) => new_key,
            Err(reason) => {
                self.dead_letter(topology, s, &keyed.key_origin, &reason, flow);
                return Ok(());
            }
        };
        flow.key = Some(new_key);
        self.dispatch(topology, To { service, side: None }, flow)
    }

    /// A record of a join service: to every side whose `source` and `when` it passes, keyed
    /// by that side's join key. A record of no side is dropped.
    fn route_join(&mut self, topology: &Topology, service: u32, mut flow: Flow, key: &Value) -> Result<()> {
        let s = &topology.services[service as usize];
        let Some(join) = &s.join else {
            return Err(Error::Internal("routing a join row of a service without a join".into()));
        };
        let source = self.sources.get(self.current_source).map(|owned| owned.source as usize);
        let mut keys: [Option<Bytes>; 2] = [None, None];
        for (slot, side) in keys.iter_mut().zip(join.sides()) {
            if side.source.is_some_and(|wanted| Some(wanted) != source) {
                continue;
            }
            if let Some(when) = &side.when {
                let failure = match call(when, WasmKind::Filter, &mut self.wasm, &flow, key, None) {
                    Ok(Value::Bool(true)) => None,
                    Ok(Value::Bool(false)) => continue,
                    Ok(other) => Some(format!("when returned {other}, expected a boolean")),
                    Err(reason) => Some(reason),
                };
                if let Some(reason) = failure {
                    self.dead_letter(topology, s, &side.when_origin, &reason, flow.clone());
                    continue;
                }
            }
            match call(&side.key, WasmKind::AssignKey, &mut self.wasm, &flow, key, None)
                .and_then(flow::key_bytes)
            {
                Ok(join_key) => *slot = Some(join_key),
                Err(reason) => self.dead_letter(topology, s, &side.key_origin, &reason, flow.clone()),
            }
        }
        let to = |side| To { service, side: Some(side) };
        match keys {
            [Some(left), Some(right)] => {
                let mut copy = flow.clone();
                copy.key = Some(left);
                self.dispatch(topology, to(Side::Left), copy)?;
                flow.key = Some(right);
                self.dispatch(topology, to(Side::Right), flow)
            }
            [Some(left), None] => {
                flow.key = Some(left);
                self.dispatch(topology, to(Side::Left), flow)
            }
            [None, Some(right)] => {
                flow.key = Some(right);
                self.dispatch(topology, to(Side::Right), flow)
            }
            [None, None] => Ok(()),
        }
    }

    /// Sends a re-keyed record to the worker owning its key, or processes it here.
    fn dispatch(&mut self, topology: &Topology, to: To, flow: Flow) -> Result<()> {
        let Some(key) = &flow.key else {
            return Err(Error::Internal("dispatching a record without a key".into()));
        };
        let target = partition_for_key(key, self.workers as u32) as usize;
        if target == self.id {
            return self.keyed(topology, to, flow);
        }
        let outbound = &mut self.outbound[target];
        if outbound.capacity() == 0 {
            *outbound = self.shared.record_batches.take();
        }
        outbound.push((to, flow));
        if outbound.len() >= OUTBOUND_BATCH {
            let flows = std::mem::take(outbound);
            self.send(target, Message::Records(flows))?;
        }
        Ok(())
    }

    /// A record arriving at the worker that owns its key.
    fn keyed(&mut self, topology: &Topology, to: To, flow: Flow) -> Result<()> {
        if let Some(side) = to.side {
            return self.join_row(topology, to.service, side, flow);
        }
        let Some(keyed) = &topology.services[to.service as usize].keyed else {
            return Err(Error::Internal("a keyed record for a service without a keyed stage".into()));
        };
        self.chain(topology, to.service, &keyed.chain, flow, Stage::Update)
    }

    /// A row of a join side at the worker owning its join key. Unwindowed: stored in the
    /// key's join state, then paired with every stored row of the other side. Windowed:
    /// stored in each open window holding its event time (late if none is open).
    fn join_row(&mut self, topology: &Topology, service: u32, side: Side, flow: Flow) -> Result<()> {
        let s = &topology.services[service as usize];
        let Some(join) = &s.join else {
            return Err(Error::Internal("a join row for a service without a join".into()));
        };
        let Some(key) = flow.key.clone() else {
            return Err(Error::Internal("a join row without a key".into()));
        };
        let keep = side.of(join).keep;
        if s.window.is_some() {
            return self.join_row_in_windows(topology, service, side, keep, key, flow);
        }
        let slot = self.cache[service as usize].slot(&self.store, s, JoinPlan::STATE, &key, join::empty)?;
        let (timestamp, origin) = (flow.timestamp, flow.origin);
        // The other side keeps its first row and has it: no later row of that side can pair
        // with this one, so it pairs now and is not stored (a bid after its auction).
        if side.other().of(join).keep == Keep::First
            && let Some(other) = join::rows(&slot.value, side.other()).first()
        {
            let arrived = join::row(flow.value, timestamp);
            let (left, right) = match side {
                Side::Left => (&arrived, other),
                Side::Right => (other, &arrived),
            };
            let pair = emit_pair(join, &flow::key_value(Some(&key)), None, left, right);
            return self.emitted(topology, service, &key, origin, vec![pair]);
        }
        if !join::add(&mut slot.value, side, keep, join::row(flow.value, timestamp))
            .map_err(Error::Internal)?
        {
            return Ok(());
        }
        if !slot.dirty {
            slot.dirty = true;
            self.dirty[service as usize].push(key.clone());
        }
        let others = join::rows(&slot.value, side.other());
        if others.is_empty() {
            return Ok(());
        }
        let key_value = flow::key_value(Some(&key));
        let Some(arrived) = join::rows(&slot.value, side).last() else {
            return Err(Error::Internal("a stored join row vanished".into()));
        };
        let mut pairs = Vec::new();
        for other in others {
            let (left, right) = match side {
                Side::Left => (arrived, other),
                Side::Right => (other, arrived),
            };
            pairs.push(emit_pair(join, &key_value, None, left, right));
        }
        self.emitted(topology, service, &key, origin, pairs)
    }

    /// A windowed join row: stored on its side in every open window holding its event time.
    fn join_row_in_windows(
        &mut self,
        topology: &Topology,
        service: u32,
        side: Side,
        keep: Keep,
        key: Bytes,
        flow: Flow,
    ) -> Result<()> {
        let s = &topology.services[service as usize];
        let (Some(window), Some(windows)) = (&s.window, self.windows[service as usize].as_mut()) else {
            return Err(Error::Internal("no windows for a windowed join".into()));
        };
        if matches!(window.kind, WindowKind::Session { .. }) {
            return Err(Error::Internal("a join cannot use session windows".into()));
        }
        let watermark = windows.watermark();
        let (live, missed): (Vec<Bounds>, Vec<Bounds>) = window
            .kind
            .windows_of(flow.timestamp)
            .map(|(start, end)| (end, start))
            .partition(|(end, _)| end.saturating_add(window.grace_ms) > watermark);
        let Some((&last, rest)) = live.split_last() else {
            self.late_record(topology, s, watermark, &missed, flow);
            return Ok(());
        };
        // The value is cloned for every window but the last (sliding windows), moved there.
        let mut rows: Vec<(Bounds, Value)> =
            rest.iter().map(|&bounds| (bounds, flow.value.clone())).collect();
        rows.push((last, flow.value));
        for (bounds, value) in rows {
            let state =
                windows.open.entry(bounds).or_default().entry(key.clone()).or_insert_with(join::empty);
            if join::add(state, side, keep, join::row(value, flow.timestamp)).map_err(Error::Internal)? {
                windows.dirty.insert((bounds, key.clone()));
            }
        }
        Ok(())
    }

    /// Sends what `emit` returned for pairs of rows of `key` to the sinks: `null` emits
    /// nothing, a failure goes to the dead-letter topic with both rows' values.
    fn emitted(
        &mut self,
        topology: &Topology,
        service: u32,
        key: &Bytes,
        origin: Origin,
        pairs: Vec<Emitted>,
    ) -> Result<()> {
        let s = &topology.services[service as usize];
        for emitted in pairs {
            let timestamp = emitted.timestamp;
            match emitted.result {
                Ok(Value::Null) => {}
                Ok(value) => self.sinks(
                    topology,
                    service,
                    Flow { key: Some(key.clone()), value, timestamp, origin, projected: false },
                )?,
                Err((reason, value)) => {
                    let Some(join) = &s.join else { continue };
                    let flow = Flow { key: Some(key.clone()), value, timestamp, origin, projected: false };
                    self.dead_letter(topology, s, &join.emit_origin, &reason, flow);
                }
            }
        }
        Ok(())
    }

    fn update(&mut self, topology: &Topology, service: u32, mut flow: Flow) -> Result<()> {
        let s = &topology.services[service as usize];
        if s.window.is_some() {
            return self.update_windows(topology, service, flow);
        }
        if let Some(update) = s.keyed.as_ref().and_then(|k| k.update.as_ref()) {
            let Some(key) = flow.key.clone() else {
                return Err(Error::Internal("a keyed record without a key".into()));
            };
            let slot = self.cache[service as usize]
                .slot(&self.store, s, &update.state, &key, || update.initial.clone())?;
            let key_value = if s.uses_key { flow::key_value(Some(&key)) } else { Value::Null };
            let new = match update.apply(&mut self.wasm, &flow, &key_value, &slot.value) {
                Ok(new) => new,
                Err(reason) => {
                    self.dead_letter(topology, s, &update.origin, &reason, flow);
                    return Ok(());
                }
            };
            // With `emit`, what goes on is computed before the new state is kept: a record
            // whose `emit` fails leaves the state as it was, like one whose update fails.
            let mut emitted = true;
            if let Some(emit) = s.keyed.as_ref().and_then(|k| k.emit.as_ref()) {
                let previous = if slot.value.is_null() { &update.initial } else { &slot.value };
                match call_state_emit(&emit.logic, &flow, &key_value, &new, previous) {
                    Ok(Value::Null) => emitted = false,
                    Ok(value) => flow.replace_value(value),
                    Err(reason) => {
                        self.dead_letter(topology, s, &emit.origin, &reason, flow);
                        return Ok(());
                    }
                }
            }
            slot.value = new;
            if !slot.dirty {
                slot.dirty = true;
                self.dirty[service as usize].push(key);
            }
            if !emitted {
                return Ok(());
            }
        }
        self.sinks(topology, service, flow)
    }

    fn sinks(&mut self, topology: &Topology, service: u32, flow: Flow) -> Result<()> {
        let sinks = &topology.services[service as usize].sinks;
        let Some((last, rest)) = sinks.split_last() else {
            self.keep_spare(flow.value);
            return Ok(());
        };
        for (index, sink) in rest.iter().enumerate() {
            self.chain(topology, service, &sink.chain, flow.clone(), Stage::Sink(index as u32))?;
        }
        self.chain(topology, service, &last.chain, flow, Stage::Sink(rest.len() as u32))
    }

    fn write_sink(&mut self, topology: &Topology, service: u32, sink: u32, flow: Flow) {
        let s = &topology.services[service as usize];
        let sk = &s.sinks[sink as usize];
        match self.arena.encode(&flow.value, sk.converter, &sk.value_type) {
            Ok(value) => {
                let record = Record { key: flow.key, value, timestamp: flow.timestamp, headers: Vec::new() };
                self.push_sink_record(topology, sk, record);
                self.keep_spare(flow.value);
            }
            Err(reason) => {
                let origin = format!("services.{}.sinks[{sink}]", s.name);
                self.dead_letter(topology, s, &origin, &reason, flow);
            }
        }
    }

    /// Buffers an encoded record for `sink`'s topic: in its key's partition, or round robin.
    fn push_sink_record(&mut self, topology: &Topology, sink: &Sink, record: Record) {
        let partitions = topology.topic(sink.topic).partitions;
        let partition = match &record.key {
            Some(key) => partition_for_key(key, partitions),
            None => {
                self.round_robin = self.round_robin.wrapping_add(1);
                self.round_robin % partitions
            }
        };
        self.sinks[sink.topic as usize][partition as usize].push(record, &self.shared.sink_blocks);
    }

    fn dead_letter(
        &mut self,
        topology: &Topology,
        service: &Service,
        operator: &str,
        reason: &str,
        mut flow: Flow,
    ) {
        if flow.projected {
            flow.value = self.whole_value(topology, service, &flow);
        }
        let source = service.sources.get(flow.origin.source as usize).map_or(("topic", ""), |s| s.named());
        let failure = flow::Failure { service: &service.name, operator, reason, source };
        let record = flow::dead_letter(&failure, flow);
        self.sinks[topology.dead_letter as usize][0].push(record, &self.shared.sink_blocks);
        self.dead_letters += 1;
    }

    /// The whole value of a record whose value was [projected](Flow::projected) at its
    /// source: a generator's event is made again from its number, a topic's record read
    /// again from its partition.
    fn whole_value(&mut self, topology: &Topology, service: &Service, flow: &Flow) -> Value {
        match service.sources.get(flow.origin.source as usize).map(|source| &source.input) {
            Some(Input::Generator(spec)) => {
                spec.generator.generate(flow.origin.offset, &mut self.event);
                self.event.to_value()
            }
            Some(Input::Topic { topic, converter, value_type, .. }) => {
                let origin = flow.origin;
                let reread = topology.topic(*topic).topic.partition(origin.partition).and_then(|partition| {
                    partition.read(origin.offset, 1).map(|batches| {
                        batches.iter().flat_map(|batch| batch.records()).find_map(|record| {
                            (record.offset == origin.offset)
                                .then(|| flow::decode(record.value, *converter, value_type).ok())
                                .flatten()
                        })
                    })
                });
                match reread {
                    Ok(Some(whole)) => whole,
                    // Removed by retention since: the parts that were read.
                    _ => flow.value.clone(),
                }
            }
            None => flow.value.clone(),
        }
    }

    /// A keyed record of a windowed service: updates the key's state in every open window
    /// that holds the record's event time; a record whose windows all closed is late.
    fn update_windows(&mut self, topology: &Topology, service: u32, mut flow: Flow) -> Result<()> {
        let s = &topology.services[service as usize];
        let (Some(window), Some(update)) = (&s.window, s.keyed.as_ref().and_then(|k| k.update.as_ref()))
        else {
            return Err(Error::Internal("a windowed service without update-state".into()));
        };
        let Some(windows) = self.windows[service as usize].as_mut() else {
            return Err(Error::Internal("no windows for a windowed service".into()));
        };
        let Some(key) = flow.key.as_ref() else {
            return Err(Error::Internal("a keyed record without a key".into()));
        };
        if let WindowKind::Session { gap_ms } = window.kind {
            let key = key.clone();
            return self.update_session(topology, service, flow, key, gap_ms);
        }
        if windows.panes.is_some() {
            let key = key.clone();
            return self.update_pane(topology, service, flow, key);
        }
        // A key new to a window moves into its state map after the update (cloned for any
        // window but the last): cloning the key as read would make its buffer shared, an
        // allocation and atomic counting per record.
        let watermark = windows.watermark();
        let key_value = if s.uses_key { flow::key_value(flow.key.as_ref()) } else { Value::Null };
        let mut missed = Vec::new();
        let mut live = 0;
        let mut failure = None;
        let mut bounds_of = window.kind.windows_of(flow.timestamp).peekable();
        while let Some((start, end)) = bounds_of.next() {
            if end.saturating_add(window.grace_ms) <= watermark {
                missed.push((end, start));
                continue;
            }
            live += 1;
            let states = windows.open.entry((end, start)).or_default();
            let mut existing = flow.key.as_ref().and_then(|key| states.get_mut(key));
            let result = update.apply(
                &mut self.wasm,
                &flow,
                &key_value,
                existing.as_deref().unwrap_or(&update.initial),
            );
            let new = match result {
                // A component that deletes a key's window state starts it over.
                Ok(new) if new.is_null() => update.initial.clone(),
                Ok(new) => new,
                Err(reason) => {
                    if existing.is_none()
                        && let Some(key) = flow.key.clone()
                    {
                        states.insert(key, update.initial.clone());
                    }
                    failure = Some(reason);
                    break;
                }
            };
            // Only a window in the store needs its changed keys: the next snapshot writes
            // every key of one that is not.
            if windows.stored.contains(&(end, start))
                && let Some(key) = flow.key.clone()
            {
                windows.dirty.insert(((end, start), key));
            }
            match existing.take() {
                Some(state) => *state = new,
                None => {
                    // Windows come earliest end first: the last one is live if any is.
                    let key = if bounds_of.peek().is_some() { flow.key.clone() } else { flow.key.take() };
                    if let Some(key) = key {
                        states.insert(key, new);
                    }
                }
            }
        }
        if let Some(reason) = failure {
            self.dead_letter(topology, s, &update.origin, &reason, flow);
        } else if live == 0 {
            self.late_record(topology, s, watermark, &missed, flow);
        } else {
            self.keep_spare(flow.value);
        }
        Ok(())
    }

    /// A keyed record of a session-windowed service: it opens `[time, time + gap)`, merged
    /// with the key's open sessions it overlaps (their states combined by `merge`, earliest
    /// first), then `update-state` runs on the merged session.
    fn update_session(
        &mut self,
        topology: &Topology,
        service: u32,
        flow: Flow,
        key: Bytes,
        gap_ms: i64,
    ) -> Result<()> {
        let s = &topology.services[service as usize];
        let (Some(window), Some(update)) = (&s.window, s.keyed.as_ref().and_then(|k| k.update.as_ref()))
        else {
            return Err(Error::Internal("a windowed service without update-state".into()));
        };
        let Some(windows) = self.windows[service as usize].as_mut() else {
            return Err(Error::Internal("no windows for a windowed service".into()));
        };
        let watermark = windows.watermark();
        let own = (flow.timestamp.saturating_add(gap_ms), flow.timestamp);
        let open_after = |(end, _): Bounds| end.saturating_add(window.grace_ms) > watermark;
        // A record whose own session closed already, and that joins no open one, is late.
        let joins_open = windows.sessions.get(&key).is_some_and(|sessions| {
            sessions.iter().any(|&(end, start)| start < own.0 && own.1 < end && open_after((end, start)))
        });
        if !open_after(own) && !joins_open {
            self.late_record(topology, s, watermark, &[own], flow);
            return Ok(());
        }
        let (bounds, taken) = take_overlapping_sessions(windows, &key, own);
        let key_value = if s.uses_key { flow::key_value(Some(&key)) } else { Value::Null };
        let mut merged: Option<Value> = None;
        let mut failure = None;
        for (_, state) in &taken {
            merged = match (merged, &window.merge) {
                (None, _) => Some(state.clone()),
                (Some(earlier), Some(merge)) => match call_merge(merge, &earlier, state) {
                    Ok(combined) => Some(combined),
                    Err(reason) => {
                        failure = Some((window.merge_origin.as_str(), reason));
                        Some(earlier)
                    }
                },
                (Some(earlier), None) => match &update.logic {
                    // A built-in aggregate merges itself.
                    Logic::Aggregate(plan) => match crate::aggregate::merge(plan.kind, &earlier, state) {
                        Ok(combined) => Some(combined),
                        Err(reason) => {
                            failure = Some((update.origin.as_str(), format!("merging sessions: {reason}")));
                            Some(earlier)
                        }
                    },
                    _ => Some(earlier),
                },
            };
        }
        let mut state = merged.unwrap_or_else(|| update.initial.clone());
        if failure.is_none() {
            let result = update.apply(&mut self.wasm, &flow, &key_value, &state);
            match result {
                Ok(Value::Null) => state = update.initial.clone(),
                Ok(new) => state = new,
                Err(reason) => failure = Some((update.origin.as_str(), reason)),
            }
        }
        if let Some((origin, reason)) = failure {
            // Put the sessions back as they were; the record goes to the dead letters.
            for (old, old_state) in taken {
                windows.open.entry(old).or_default().insert(key.clone(), old_state);
                windows.sessions.entry(key.clone()).or_default().push(old);
                windows.dirty.insert((old, key.clone()));
            }
            self.dead_letter(topology, s, origin, &reason, flow);
            return Ok(());
        }
        for (old, _) in &taken {
            if *old != bounds && windows.stored.contains(old) {
                windows.closed.push((*old, key.clone()));
                if !windows.open.contains_key(old) {
                    windows.stored.remove(old);
                }
            }
        }
        windows.open.entry(bounds).or_default().insert(key.clone(), state);
        windows.sessions.entry(key.clone()).or_default().push(bounds);
        windows.dirty.insert((bounds, key));
        Ok(())
    }

    fn late_record(
        &mut self,
        topology: &Topology,
        s: &Service,
        watermark: i64,
        missed: &[Bounds],
        mut flow: Flow,
    ) {
        let Some(late) = topology.late_records else { return };
        if flow.projected {
            flow.value = self.whole_value(topology, s, &flow);
        }
        let (source_field, source_name) =
            s.sources.get(flow.origin.source as usize).map_or(("topic", ""), |source| source.named());
        let mut body = serde_json::json!({
            "service": s.name,
            "partition": flow.origin.partition,
            "offset": flow.origin.offset,
            "timestamp": flow.timestamp,
            "watermark": watermark,
            "windows": missed.iter().map(|&bounds| window_value(bounds)).collect::<Vec<_>>(),
            "value": flow.value,
        });
        if let Value::Object(fields) = &mut body {
            fields.insert(source_field.to_owned(), Value::from(source_name));
        }
        let record = Record::new(flow.key, body.to_string(), flow.timestamp);
        self.sinks[late as usize][0].push(record, &self.shared.sink_blocks);
    }

    /// Raises this worker's watermark of each windowed service from its sources, announces
    /// it to the peers, and closes the windows it passes.
    fn advance_watermarks(&mut self) -> Result<()> {
        let topology = Arc::clone(&self.topology);
        for (service, s) in topology.services.iter().enumerate() {
            let Some(window) = &s.window else { continue };
            let (mut lowest, mut idle_highest, mut any, mut all_idle) = (i64::MAX, i64::MIN, false, true);
            let mut reading = i64::MAX;
            for source in self.sources.iter().filter(|source| source.service == service as u32) {
                any = true;
                if window.max_drift_ms.is_some() && !source.caught_up() {
                    reading = reading.min(source.max_event_time);
                }
                let idle = window
                    .idleness
                    .is_some_and(|idleness| source.caught_up() && source.last_read.elapsed() >= idleness);
                if idle {
                    idle_highest = idle_highest.max(source.max_event_time);
                } else {
                    all_idle = false;
                    lowest = lowest.min(source.max_event_time);
                }
            }
            let watermark = match (any, all_idle) {
                (false, _) => IDLE,
                (true, true) if idle_highest == i64::MIN => IDLE,
                (true, true) => idle_highest,
                (true, false) => lowest,
            };
            let local = Announced { watermark, idle: all_idle };
            if window.max_drift_ms.is_some() {
                self.shared.alignment.publish(service, self.id, reading);
            }
            let Some(windows) = self.windows[service].as_mut() else { continue };
            if local != windows.announced(self.id) {
                windows.announce(self.id, local);
                self.flush_outbound()?;
                for target in 0..self.workers {
                    if target != self.id {
                        self.send(target, Message::Watermark(service as u32, self.id, local))?;
                    }
                }
            }
            self.close_windows(&topology, service as u32)?;
        }
        Ok(())
    }

    /// Closes every window of `service` the watermark has passed: runs a per-key flush
    /// here, or sends this worker's part of a per-window flush to the window's collector.
    fn close_windows(&mut self, topology: &Topology, service: u32) -> Result<()> {
        let s = &topology.services[service as usize];
        let Some(window) = &s.window else { return Ok(()) };
        let per_window = window.flush.as_ref().is_some_and(|flush| flush.per == FlushPer::Window);
        loop {
            // Sending a part may handle messages that raise the watermark: windows it passed
            // close in this loop too, before the closed-through below claims them.
            self.close_panes(topology, service);
            let Some(windows) = self.windows[service as usize].as_mut() else { return Ok(()) };
            let Some((bounds, states)) = windows.pop_closed(window.grace_ms) else { break };
            if let Some(join) = &s.join {
                let window_json = window_value(bounds);
                let origin = Origin { source: 0, partition: 0, offset: 0 };
                for (key, state) in states {
                    let key_value = flow::key_value(Some(&key));
                    let mut pairs = Vec::new();
                    for left in join::rows(&state, Side::Left) {
                        for right in join::rows(&state, Side::Right) {
                            pairs.push(emit_pair(join, &key_value, Some(&window_json), left, right));
                        }
                    }
                    self.emitted(topology, service, &key, origin, pairs)?;
                }
                continue;
            }
            let Some(flush) = &window.flush else { break };
            if per_window {
                let part = match &flush.logic {
                    Logic::Aggregate(plan) => crate::aggregate::top_k_candidates(plan, states, bounds),
                    _ => states,
                };
                let collector = collector(bounds, self.workers);
                if collector == self.id {
                    windows.collect(bounds, part);
                } else {
                    self.send(collector, Message::WindowPart(service, bounds, part))?;
                }
                continue;
            }
            let window_json = window_value(bounds);
            if s.flush_encodes_into_sink {
                self.flush_keys_into_sink(topology, service, flush, bounds, states, &window_json)?;
                continue;
            }
            let emitted = self.run_flush(s, flush, bounds, states, &window_json);
            self.emit_flushed(topology, service, bounds, &window_json, emitted)?;
        }
        if per_window {
            let Some(windows) = self.windows[service as usize].as_mut() else { return Ok(()) };
            let through = windows.watermark();
            if through > windows.closed_through(self.id) {
                windows.close_through(self.id, through);
                for target in 0..self.workers {
                    if target != self.id {
                        self.send(target, Message::WindowsClosed(service, self.id, through))?;
                    }
                }
            }
            self.flush_collected(topology, service)?;
        }
        Ok(())
    }

    /// Runs the per-window flush of every window collected here that every worker closed.
    fn flush_collected(&mut self, topology: &Topology, service: u32) -> Result<()> {
        let s = &topology.services[service as usize];
        let Some(window) = &s.window else { return Ok(()) };
        let Some(flush) = &window.flush else { return Ok(()) };
        loop {
            let Some(windows) = self.windows[service as usize].as_mut() else { return Ok(()) };
            let Some((bounds, states)) = windows.pop_collected(window.grace_ms) else { return Ok(()) };
            let window_json = window_value(bounds);
            let emitted = self.run_flush(s, flush, bounds, states, &window_json);
            self.emit_flushed(topology, service, bounds, &window_json, emitted)?;
        }
    }

    /// Sends what a window's flush returned to the sinks: nothing for `null`, one record
    /// per element of a list; a failure goes to the dead letters.
    fn emit_flushed(
        &mut self,
        topology: &Topology,
        service: u32,
        bounds: Bounds,
        window_json: &Value,
        emitted: Vec<(Option<Bytes>, std::result::Result<Value, String>)>,
    ) -> Result<()> {
        let s = &topology.services[service as usize];
        let Some(flush) = s.window.as_ref().and_then(|window| window.flush.as_ref()) else { return Ok(()) };
        let origin = Origin { source: 0, partition: 0, offset: 0 };
        let timestamp = bounds.0.saturating_sub(1);
        for (key, result) in emitted {
            match result {
                Ok(Value::Null) => {}
                Ok(Value::Array(items)) => {
                    for value in items {
                        self.sinks(
                            topology,
                            service,
                            Flow { key: key.clone(), value, timestamp, origin, projected: false },
                        )?;
                    }
                }
                Ok(value) => {
                    self.sinks(topology, service, Flow { key, value, timestamp, origin, projected: false })?
                }
                Err(reason) => {
                    let flow = Flow { key, value: window_json.clone(), timestamp, origin, projected: false };
                    self.dead_letter(topology, s, &flush.origin, &reason, flow);
                }
            }
        }
        Ok(())
    }

    /// Runs a per-key `flush` of a closing window straight into the bytes of the service's
    /// one sink record (see [`Service::flush_encodes_into_sink`]), key by key in order. What the
    /// direct encoding does not answer (a failure, a result not of the sink's type, a list)
    /// takes the ordinary way for that key, which gives the records or the dead letter.
    fn flush_keys_into_sink(
        &mut self,
        topology: &Topology,
        service: u32,
        flush: &FlushPlan,
        bounds: Bounds,
        states: Vec<(Bytes, Value)>,
        window_json: &Value,
    ) -> Result<()> {
        let Some(expr) = flush.logic.as_cel() else { return Ok(()) };
        let sink = &topology.services[service as usize].sinks[0];
        let timestamp = bounds.0.saturating_sub(1);
        // One string for every key's binding, refilled.
        let mut key_value = Value::String(String::new());
        for (key, state) in states {
            if let Value::String(text) = &mut key_value {
                text.clear();
                text.push_str(&String::from_utf8_lossy(&key));
            }
            let bindings =
                Bindings::new(&Value::Null).with_key(&key_value).with_window(window_json).with_state(&state);
            match expr.encode_json(&bindings, &sink.value_type, self.arena.scratch()) {
                Ok(Encoded::Value) => {
                    let record =
                        Record { key: Some(key), value: self.arena.cut(), timestamp, headers: Vec::new() };
                    self.push_sink_record(topology, sink, record);
                }
                Ok(Encoded::Null) => {}
                Ok(_) | Err(_) => {
                    let result = call_flush(&flush.logic, &key_value, Some(&state), window_json, None);
                    self.emit_flushed(topology, service, bounds, window_json, vec![(Some(key), result)])?;
                }
            }
        }
        Ok(())
    }

    /// Runs a closing window's `flush`: what each call returned, with the key it ran for
    /// (none for a per-window flush).
    fn run_flush(
        &mut self,
        s: &Service,
        flush: &FlushPlan,
        bounds: Bounds,
        states: Vec<(Bytes, Value)>,
        window_json: &Value,
    ) -> Vec<(Option<Bytes>, std::result::Result<Value, String>)> {
        let mut emitted: Vec<(Option<Bytes>, std::result::Result<Value, String>)> = Vec::new();
        if let Logic::Wasm(WasmSource::Component(path)) = &flush.logic {
            let state_name =
                s.keyed.as_ref().and_then(|k| k.update.as_ref()).map_or("", |u| u.state.as_str());
            let entry = |key: &Bytes, state: &Value| eddy_wasm::Entry {
                key: key.to_vec(),
                value: serde_json::to_vec(state).unwrap_or_default(),
            };
            let (end, start) = bounds;
            match flush.per {
                FlushPer::Key => {
                    for (key, state) in states {
                        let result =
                            self.wasm.flush(path, (start, end), state_name, vec![entry(&key, &state)]);
                        emitted.push((Some(key), result));
                    }
                }
                FlushPer::Window => {
                    let entries = states.iter().map(|(key, state)| entry(key, state)).collect();
                    emitted.push((None, self.wasm.flush(path, (start, end), state_name, entries)));
                }
            }
        } else if let Logic::Aggregate(plan) = &flush.logic {
            emitted.push((None, crate::aggregate::top_k(plan, states, window_json)));
        } else {
            match flush.per {
                FlushPer::Key => {
                    for (key, state) in states {
                        let key_value = flow::key_value(Some(&key));
                        let result = call_flush(&flush.logic, &key_value, Some(&state), window_json, None);
                        emitted.push((Some(key), result));
                    }
                }
                FlushPer::Window => {
                    let entries: Vec<Value> = states
                    .into_iter()
                    .map(|(key, state)| serde_json::json!({"key": flow::key_value(Some(&key)), "state": state}))
                    .collect();
                    let entries = Value::Array(entries);
                    emitted.push((
                        None,
                        call_flush(&flush.logic, &Value::Null, None, window_json, Some(&entries)),
                    ));
                }
            }
        }
        emitted
    }

    /// Loads the open windows of the keys this worker owns, as the last epoch committed them.
    fn load_windows(&mut self) -> Result<()> {
        let topology = Arc::clone(&self.topology);
        for (service, s) in topology.services.iter().enumerate() {
            let (Some(_), Some(state)) = (&s.window, s.state_name()) else {
                continue;
            };
            let Some(windows) = self.windows[service].as_mut() else { continue };
            // The watermark as of the last commit: the lowest event time over every source
            // partition, when all of them have one.
            let partitions: usize =
                s.sources.iter().map(|source| source.partitions(&topology) as usize).sum();
            let (mut restored, mut lowest) = (0, i64::MAX);
            for entry in self.store.list(&s.name, state) {
                let (stored_key, stored_value) = entry?;
                if let Some((bounds, key)) = parse_part_key(&stored_key) {
                    // A part of a per-window flush, waiting at its collector.
                    if collector(bounds, self.workers) == self.id {
                        let value = serde_json::from_slice(&stored_value).map_err(|e| {
                            Error::Internal(format!("stored state of service '{}' is not JSON: {e}", s.name))
                        })?;
                        windows.collected.entry(bounds).or_default().insert(key, (value, true));
                    }
                    continue;
                }
                if let Some((source, partition)) = parse_event_time_key(&stored_key) {
                    let time = serde_json::from_slice::<i64>(&stored_value).unwrap_or(i64::MIN);
                    restored += 1;
                    lowest = lowest.min(time);
                    for owned in &mut self.sources {
                        if (owned.service, owned.source, owned.partition_id())
                            == (service as u32, source, partition)
                        {
                            owned.max_event_time = owned.max_event_time.max(time);
                        }
                    }
                    continue;
                }
                if let Some(key) = parse_flushed_key(&stored_key) {
                    // The end of the last window closed for a key kept as panes.
                    if let Some(panes) = windows.panes.as_mut()
                        && partition_for_key(&key, self.workers as u32) as usize == self.id
                    {
                        let end = serde_json::from_slice::<i64>(&stored_value).map_err(|e| {
                            Error::Internal(format!("stored state of service '{}' is not JSON: {e}", s.name))
                        })?;
                        panes.restore_flushed(key, end);
                    }
                    continue;
                }
                let Some((bounds, key)) = parse_state_key(&stored_key) else {
                    return Err(Error::Internal(format!(
                        "stored window state of service '{}' has a malformed key",
                        s.name
                    )));
                };
                if partition_for_key(&key, self.workers as u32) as usize != self.id {
                    continue;
                }
                let value = serde_json::from_slice(&stored_value).map_err(|e| {
                    Error::Internal(format!("stored state of service '{}' is not JSON: {e}", s.name))
                })?;
                if let Some(panes) = windows.panes.as_mut()
                    && panes.is_pane(bounds)
                {
                    panes.restore_pane(bounds.1, key, value);
                    continue;
                }
                if matches!(s.window.as_ref().map(|w| w.kind), Some(WindowKind::Session { .. })) {
                    windows.sessions.entry(key.clone()).or_default().push(bounds);
                }
                windows.open.entry(bounds).or_default().insert(key, value);
                windows.stored.insert(bounds);
            }
            if restored == partitions && restored > 0 {
                windows.restore(lowest);
            }
        }
        Ok(())
    }

    fn flush_outbound(&mut self) -> Result<()> {
        for target in 0..self.workers {
            if !self.outbound[target].is_empty() {
                let flows = std::mem::take(&mut self.outbound[target]);
                self.send(target, Message::Records(flows))?;
            }
        }
        Ok(())
    }

    /// Sends without ever blocking on a full channel: while the peer's channel is full,
    /// this worker processes its own inbound records, so two workers sending to each other
    /// cannot deadlock (processing inbound records never sends to a peer).
    fn send(&mut self, target: usize, message: Message) -> Result<()> {
        let mut message = message;
        loop {
            match self.peers[target].try_send(message) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Full(back)) => {
                    message = back;
                    if !self.drain_inbound(1)? {
                        if self.shared.failed() {
                            return Err(Error::Stopped);
                        }
                        std::thread::sleep(Duration::from_micros(50));
                    }
                }
                Err(TrySendError::Disconnected(_)) => return Err(Error::Stopped),
            }
        }
    }

    fn close_epoch(&mut self, epoch: u64) -> Result<()> {
        let started = std::time::Instant::now();
        self.flush_outbound()?;
        for target in 0..self.workers {
            if target != self.id {
                self.send(target, Message::Barrier(epoch))?;
            }
        }
        while self.barriers < self.workers - 1 {
            match self.inbound.recv_timeout(Duration::from_millis(20)) {
                Ok(message) => self.handle(message)?,
                Err(RecvTimeoutError::Timeout) => {
                    if self.shared.failed() {
                        return Err(Error::Stopped);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Err(Error::Stopped),
            }
        }
        self.barriers = 0;
        let mut snapshot = self.snapshot(epoch)?;
        snapshot.closing = std::mem::take(&mut self.closing) + started.elapsed();
        self.to_committer.send(ToCommitter::Snapshot(Box::new(snapshot))).map_err(|_| Error::Stopped)?;
        self.epoch = epoch;
        let gate = std::time::Instant::now();
        self.shared.pass_gate(self.workers)?;
        self.closing += gate.elapsed();
        // Past the gate, so that no other worker waits for it.
        for (service, cache) in self.cache.iter_mut().enumerate() {
            let dropped = cache.shrink(self.shared.state_cache_keys, epoch);
            if dropped > 0 {
                tracing::debug!(worker = self.id, service, dropped, kept = cache.len(), "state cache shrunk");
            }
        }
        Ok(())
    }

    fn snapshot(&mut self, epoch: u64) -> Result<Snapshot> {
        let mut states = Vec::new();
        let mut deletes = Vec::new();
        for (service, dirty) in self.dirty.iter_mut().enumerate() {
            let cache = &mut self.cache[service];
            for key in dirty.drain(..) {
                if let Some(slot) = cache.written(&key, epoch) {
                    if slot.value.is_null() {
                        deletes.push((service as u32, key));
                        continue;
                    }
                    let value = serde_json::to_vec(&slot.value)
                        .map_err(|e| Error::Internal(format!("cannot encode state: {e}")))?;
                    states.push((service as u32, key, value));
                }
            }
        }
        let mut state_keys = StateKeys::default();
        for (service, windows) in self.windows.iter_mut().enumerate() {
            let Some(windows) = windows else { continue };
            for (bounds, key) in windows.dirty.drain() {
                if let Some(value) = windows.open.get(&bounds).and_then(|states| states.get(&key)) {
                    let value = serde_json::to_vec(value)
                        .map_err(|e| Error::Internal(format!("cannot encode state: {e}")))?;
                    states.push((service as u32, state_keys.key(bounds, &key), value));
                    windows.stored.insert(bounds);
                }
            }
            for (bounds, key) in windows.closed.drain(..) {
                deletes.push((service as u32, state_keys.key(bounds, &key)));
            }
            // Open windows not in the store yet: those computed from panes, closed but not
            // flushed.
            for (&bounds, keys) in &windows.open {
                if windows.stored.insert(bounds) {
                    for (key, value) in keys {
                        let value = serde_json::to_vec(value)
                            .map_err(|e| Error::Internal(format!("cannot encode state: {e}")))?;
                        states.push((service as u32, state_keys.key(bounds, key), value));
                    }
                }
            }
            if let Some(panes) = windows.panes.as_mut() {
                let (mut written, mut deleted) = (Vec::new(), Vec::new());
                panes
                    .snapshot(&mut written, &mut deleted)
                    .map_err(|e| Error::Internal(format!("cannot encode state: {e}")))?;
                states.extend(written.into_iter().map(|(key, value)| (service as u32, key, value)));
                deletes.extend(deleted.into_iter().map(|key| (service as u32, key)));
            }
            for (&bounds, parts) in windows.collected.iter_mut() {
                for (key, (value, stored)) in parts.iter_mut().filter(|(_, (_, stored))| !*stored) {
                    let value = serde_json::to_vec(value)
                        .map_err(|e| Error::Internal(format!("cannot encode state: {e}")))?;
                    states.push((service as u32, part_key(bounds, key), value));
                    *stored = true;
                }
            }
            for key in windows.flushed_parts.drain(..) {
                deletes.push((service as u32, key));
            }
        }
        for source in &self.sources {
            if self.windows[source.service as usize].is_some() && source.max_event_time > i64::MIN {
                let key = event_time_key(source.source, source.partition_id());
                states.push((source.service, key, source.max_event_time.to_string().into_bytes()));
            }
        }
        let mut caught_up = true;
        let sources = self
            .sources
            .iter()
            .map(|s| {
                caught_up &= s.caught_up();
                (s.service, s.source, s.partition_id(), s.next)
            })
            .collect();
        let sinks = std::mem::replace(&mut self.sinks, empty_sink_buffers(&self.topology));
        let snapshot = Snapshot {
            epoch,
            states,
            deletes,
            sources,
            sinks,
            read: self.read,
            dead_letters: self.dead_letters,
            closing: Duration::ZERO,
            caught_up,
        };
        self.read = 0;
        self.dead_letters = 0;
        Ok(snapshot)
    }
}

/// What `emit` returned for one pair of rows, with the output's timestamp; a failure
/// carries both rows' values for the dead-letter topic.
struct Emitted {
    result: std::result::Result<Value, (String, Value)>,
    timestamp: i64,
}

/// Runs `emit` on a pair of rows.
fn emit_pair(join: &JoinPlan, key: &Value, window: Option<&Value>, left: &Value, right: &Value) -> Emitted {
    let (left_value, right_value) = (join::value(left), join::value(right));
    let sides = [(join.left.name.as_str(), left_value), (join.right.name.as_str(), right_value)];
    let result = call_emit(&join.emit, key, window, sides).map_err(|reason| {
        let mut pair = serde_json::Map::new();
        pair.insert(join.left.name.clone(), left_value.clone());
        pair.insert(join.right.name.clone(), right_value.clone());
        if let Some(window) = window {
            pair.insert("window".to_owned(), window.clone());
        }
        (reason, Value::Object(pair))
    });
    Emitted { result, timestamp: join::timestamp(left).max(join::timestamp(right)) }
}

/// What comes after a stateless chain.
#[derive(Debug, Clone, Copy)]
enum Stage {
    /// The service's chain is done: re-key or go to the sinks.
    Route,
    /// The keyed chain is done: update the state, then the sinks.
    Update,
    /// A sink's chain is done: write.
    Sink(u32),
}

pub(crate) fn empty_sink_buffers(topology: &Topology) -> SinkBuffers {
    topology
        .topics
        .iter()
        .enumerate()
        .map(|(index, topic)| {
            if topology.sinks.contains(&(index as u32)) {
                (0..topic.partitions).map(|_| SinkRecords::default()).collect()
            } else {
                Vec::new()
            }
        })
        .collect()
}
