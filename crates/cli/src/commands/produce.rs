//! `eddy produce`: one record per line of stdin or of a file.
//!
//! Input is read in large chunks of whole lines (see [`crate::lines`]); the lines of each
//! chunk become records that borrow from it, grouped per partition into a few batches,
//! appended, and committed before the next chunk is taken. Killing the producer therefore
//! leaves a prefix of the input in each partition. When a process serves the data
//! directory, each batch goes to it instead and is committed there before it is acked
//! (see [`crate::target::Sink`]).
//!
//! `eddy produce --nexmark N` generates the records instead: N events of the Nexmark
//! benchmark (see [`eddy_nexmark`]), JSON, unkeyed, each timestamped with its event time,
//! appended and committed in chunks the same way.

use std::{
    fs::File,
    io::{self, IsTerminal, Read, Write},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::{Args, builder::NonEmptyStringValueParser};
use eddy_log::MAX_BATCH_BYTES;
use eddy_nexmark::{Config as NexmarkConfig, Event, Generator};
use eddy_types::{ByteSize, PartitionId, RecordRef, Timestamp, now_millis, partition_for_key};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use memchr::memmem::Finder;

use super::topic_name;
use crate::{
    lines::{Chunk, LineChunks},
    target::{Sink, Target},
};

/// Arguments of `eddy produce`.
#[derive(Debug, Args)]
pub(crate) struct ProduceArgs {
    /// The topic to write to.
    topic: String,
    /// Read records from this file instead of stdin.
    #[arg(short, long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Split each line at the first SEP into key (before) and value (after); keyed records
    /// go to the partition their key hashes to.
    #[arg(long, value_name = "SEP", value_parser = NonEmptyStringValueParser::new())]
    key_separator: Option<String>,
    /// Write every record to this partition (default: by key, or round-robin).
    #[arg(long, value_name = "N")]
    partition: Option<PartitionId>,
    /// Instead of reading lines, generate N events of the Nexmark benchmark: persons,
    /// auctions and bids as JSON, timestamped with their event time (10,000 events per
    /// second from now).
    #[arg(long, value_name = "N", conflicts_with_all = ["file", "key_separator"])]
    nexmark: Option<u64>,
    /// Seed of the Nexmark generator: the same seed gives the same events [default: 0].
    #[arg(long, value_name = "SEED", requires = "nexmark")]
    seed: Option<u64>,
    /// Print a summary (records, bytes, rate) to stderr when done.
    #[arg(short, long)]
    verbose: bool,
}

/// A partition's batch is appended once it holds this many bytes of records...
const BATCH_BYTES: usize = 8 << 20;
/// ... or this many records (bounds the memory of record boundaries for tiny lines).
const BATCH_RECORDS: usize = 1 << 16;
/// The largest key plus value a line may hold: a batch of one such record stays within
/// the log's batch limit.
const MAX_RECORD_BYTES: usize = MAX_BATCH_BYTES - (64 << 10);

/// Runs `eddy produce`.
pub(crate) fn run(data_dir: &Path, args: &ProduceArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    topic_name(&args.topic)?;
    if let Some(count) = args.nexmark {
        return produce_nexmark(data_dir, args, count, started);
    }
    let (input, input_len): (Box<dyn Read + Send>, Option<u64>) = match &args.file {
        Some(path) => {
            let file = File::open(path).with_context(|| format!("cannot read '{}'", path.display()))?;
            let len = file.metadata().ok().map(|m| m.len());
            (Box::new(file), len)
        }
        None => (Box::new(io::stdin()), None),
    };
    let mut target = Target::connect(data_dir)?;
    let sink = target.produce(&args.topic, args.partition)?;
    let route = match args.partition {
        Some(id) => Route::Fixed(id),
        None => Route::Spread { next: 0 },
    };
    let progress = match input_len {
        Some(len) if io::stderr().is_terminal() => progress_bar(len),
        _ => ProgressBar::hidden(),
    };
    let separator = args.key_separator.as_deref().map(|s| Finder::new(s.as_bytes()).into_owned());
    let mut producer = Producer::new(sink, route, separator);
    let read = producer.produce(input, &progress);
    progress.finish_and_clear();
    // Whatever was appended is made durable (and, remotely, acked), even after a bad line.
    let finished = producer.sink.finish();
    let bytes = read?;
    finished?;
    if args.verbose {
        summary(args, producer.records, bytes, &producer.used, started)?;
    }
    Ok(())
}

/// Prints what was produced, at what rate, to stderr.
fn summary(args: &ProduceArgs, records: u64, bytes: u64, used: &[bool], started: Instant) -> io::Result<()> {
    let elapsed = started.elapsed();
    let partitions = used.iter().filter(|&&u| u).count();
    let secs = elapsed.as_secs_f64().max(1e-9);
    writeln!(
        io::stderr().lock(),
        "produced {records} records ({}) to {partitions} partition(s) of \"{}\" in {:.2?} ({:.0} records/s, {}/s)",
        ByteSize(bytes),
        args.topic,
        elapsed,
        records as f64 / secs,
        ByteSize((bytes as f64 / secs) as u64),
    )
}

/// Runs `eddy produce --nexmark N`: generates chunks of up to [`BATCH_RECORDS`] events (or
/// [`BATCH_BYTES`] of JSON), one batch per partition, each chunk committed before the next,
/// so a killed producer leaves a prefix of the stream in each partition.
fn produce_nexmark(data_dir: &Path, args: &ProduceArgs, count: u64, started: Instant) -> anyhow::Result<()> {
    let generator = Generator::new(NexmarkConfig {
        seed: args.seed.unwrap_or(0),
        base_time: now_millis(),
        ..NexmarkConfig::default()
    });
    let mut target = Target::connect(data_dir)?;
    let mut sink = target.produce(&args.topic, args.partition)?;
    let progress =
        if io::stderr().is_terminal() { nexmark_progress_bar(count) } else { ProgressBar::hidden() };
    let partitions = sink.partitions();
    let mut pending: Vec<PendingEvents> = (0..partitions).map(|_| PendingEvents::default()).collect();
    let mut used = vec![false; partitions as usize];
    let mut event = Event::new();
    let (mut number, mut bytes) = (0u64, 0u64);
    let mut produce = || -> anyhow::Result<()> {
        while number < count {
            let chunk_end = count.min(number + BATCH_RECORDS as u64);
            let mut chunk_bytes = 0;
            while number < chunk_end && chunk_bytes < BATCH_BYTES {
                generator.generate(number, &mut event);
                let partition = args.partition.unwrap_or((number % u64::from(partitions)) as PartitionId);
                let PendingEvents { values, records } = &mut pending[partition as usize];
                let start = values.len();
                event.write_json(values);
                records.push((values.len(), event.date_time()));
                chunk_bytes += values.len() - start;
                number += 1;
            }
            for (id, PendingEvents { values, records }) in pending.iter_mut().enumerate() {
                if records.is_empty() {
                    continue;
                }
                let mut start = 0;
                let batch = records.iter().map(|&(end, timestamp)| {
                    let record = RecordRef::new(None, &values[start..end], timestamp);
                    start = end;
                    record
                });
                sink.append(id as PartitionId, batch)?;
                used[id] = true;
                values.clear();
                records.clear();
            }
            sink.commit()?;
            bytes += chunk_bytes as u64;
            progress.set_position(number);
        }
        Ok(())
    };
    let produced = produce();
    progress.finish_and_clear();
    // Whatever was appended is made durable (and, remotely, acked), even after an error.
    let finished = sink.finish();
    produced?;
    finished?;
    if args.verbose {
        summary(args, number, bytes, &used, started)?;
    }
    Ok(())
}

fn progress_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:40} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn nexmark_progress_bar(count: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(count), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {human_pos}/{human_len} events {per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Generated events not yet appended to one partition.
#[derive(Default)]
struct PendingEvents {
    /// Their JSON, one after the other.
    values: Vec<u8>,
    /// Where each one's JSON ends in `values`, and its timestamp.
    records: Vec<(usize, Timestamp)>,
}

/// Where unkeyed (or all) records go.
enum Route {
    /// Every record to one partition.
    Fixed(PartitionId),
    /// Keyed records by key, the others round-robin starting at `next`.
    Spread { next: PartitionId },
}

/// A record found in the current chunk: byte ranges of its key and value.
#[derive(Clone, Copy)]
struct Span {
    key: Option<(usize, usize)>,
    value: (usize, usize),
}

struct Producer<'t> {
    sink: Sink<'t>,
    count: u32,
    route: Route,
    separator: Option<Finder<'static>>,
    /// Records of the current chunk not yet appended, per partition.
    pending: Vec<Vec<Span>>,
    pending_records: usize,
    pending_bytes: usize,
    /// Partitions written to at all.
    used: Vec<bool>,
    /// Lines seen so far (the number of the current line once it is counted).
    line_number: u64,
    records: u64,
}

impl<'t> Producer<'t> {
    fn new(sink: Sink<'t>, route: Route, separator: Option<Finder<'static>>) -> Self {
        let count = sink.partitions();
        let n = count as usize;
        Producer {
            sink,
            count,
            route,
            separator,
            pending: vec![Vec::new(); n],
            pending_records: 0,
            pending_bytes: 0,
            used: vec![false; n],
            line_number: 0,
            records: 0,
        }
    }

    /// Reads `input` to its end, appending and committing chunk by chunk. Returns the bytes read.
    fn produce(&mut self, input: Box<dyn Read + Send>, progress: &ProgressBar) -> anyhow::Result<u64> {
        let mut chunks = LineChunks::spawn(input, progress.clone(), MAX_RECORD_BYTES)?;
        let mut total = 0u64;
        loop {
            let (chunk, eof) = match chunks.next().context("cannot read the input")? {
                Chunk::Lines(chunk) => (chunk, false),
                Chunk::Last(chunk) => (chunk, true),
                Chunk::TooLong => bail!(
                    "line {} is longer than {}, the largest record eddy can store{}",
                    self.line_number + 1,
                    ByteSize(MAX_RECORD_BYTES as u64),
                    self.produced_before(self.line_number + 1),
                ),
            };
            total += chunk.len() as u64;
            let result = self.records_of(&chunk, eof);
            // Whatever was appended is committed, even when a line was bad.
            self.sink.commit()?;
            result?;
            if eof {
                return Ok(total);
            }
            chunks.recycle(chunk);
        }
    }

    /// Appends the lines of `chunk` as records. Every line ends with a newline except,
    /// at the end of the input, the last one. On a bad line, the lines before it are
    /// appended and the error returned.
    fn records_of(&mut self, chunk: &[u8], eof: bool) -> anyhow::Result<()> {
        let timestamp = now_millis();
        let mut start = 0;
        let mut result = Ok(());
        for newline in memchr::memchr_iter(b'\n', chunk) {
            result = self.line(chunk, start, newline, timestamp);
            if result.is_err() {
                break;
            }
            start = newline + 1;
        }
        if result.is_ok() && eof && start < chunk.len() {
            result = self.line(chunk, start, chunk.len(), timestamp);
        }
        self.append(chunk, timestamp)?;
        result
    }

    /// Turns `chunk[start..end]` into a pending record.
    fn line(&mut self, chunk: &[u8], start: usize, end: usize, timestamp: Timestamp) -> anyhow::Result<()> {
        self.line_number += 1;
        let line = &chunk[start..end];
        let (span, partition) = match &self.separator {
            None => (Span { key: None, value: (start, end) }, self.round_robin()),
            Some(separator) => {
                let Some(at) = separator.find(line) else {
                    bail!(
                        "line {} has no key separator {:?}; every line needs one with --key-separator{}",
                        self.line_number,
                        String::from_utf8_lossy(separator.needle()),
                        self.produced_before(self.line_number),
                    );
                };
                let key = &line[..at];
                let span = Span {
                    key: Some((start, start + at)),
                    value: (start + at + separator.needle().len(), end),
                };
                let partition = match self.route {
                    Route::Fixed(id) => id,
                    Route::Spread { .. } => partition_for_key(key, self.count),
                };
                (span, partition)
            }
        };
        if line.len() > MAX_RECORD_BYTES {
            bail!(
                "line {} is {} long; the largest record eddy can store is {}{}",
                self.line_number,
                ByteSize(line.len() as u64),
                ByteSize(MAX_RECORD_BYTES as u64),
                self.produced_before(self.line_number),
            );
        }
        if self.pending_records >= BATCH_RECORDS || self.pending_bytes + line.len() > BATCH_BYTES {
            self.append(chunk, timestamp)?;
        }
        self.pending[partition as usize].push(span);
        self.pending_records += 1;
        self.pending_bytes += line.len() + 16;
        Ok(())
    }

    /// Says how many lines before line `line` were produced, for error messages.
    fn produced_before(&self, line: u64) -> String {
        match line - 1 {
            0 => String::new(),
            1 => " (the line before it was produced)".to_owned(),
            n => format!(" (the {n} lines before it were produced)"),
        }
    }

    fn round_robin(&mut self) -> PartitionId {
        match &mut self.route {
            Route::Fixed(id) => *id,
            Route::Spread { next } => {
                let id = *next;
                *next = (id + 1) % self.count;
                id
            }
        }
    }

    /// Appends the pending records of every partition, one batch each.
    fn append(&mut self, chunk: &[u8], timestamp: Timestamp) -> anyhow::Result<()> {
        if self.pending_records == 0 {
            return Ok(());
        }
        for id in 0..self.count {
            if self.pending[id as usize].is_empty() {
                continue;
            }
            let spans = &self.pending[id as usize];
            let records = spans.iter().map(|span| {
                RecordRef::new(
                    span.key.map(|(a, b)| &chunk[a..b]),
                    &chunk[span.value.0..span.value.1],
                    timestamp,
                )
            });
            self.sink.append(id, records)?;
            self.records += spans.len() as u64;
            self.pending[id as usize].clear();
            self.used[id as usize] = true;
        }
        self.pending_records = 0;
        self.pending_bytes = 0;
        Ok(())
    }
}
