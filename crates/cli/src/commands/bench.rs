//! `eddy bench nexmark --query qN`: runs a Nexmark query's dataflow (`benches/nexmark/qN.yaml`,
//! built into the binary) over generated events in a scratch data directory, with
//! exactly-once commits on, and reports its throughput, latency, memory and whether its
//! output is right.
//!
//! - Throughput: events over the wall time from start until every event is read and
//!   committed, in total and per worker.
//! - Latency, with `--rate`: events are paced at that rate and their event times are their
//!   scheduled emission times (the generator's base time is the start of the run and its
//!   event rate `--rate`), so for each output record, committed-and-readable time minus its
//!   timestamp is its end-to-end latency (for a window's result: since the window's end).
//!   Without `--rate` events come as fast as the engine takes them, and latency is not
//!   defined.
//! - Peak RSS: the process's high-water mark (`VmHWM`), read before the check.
//! - Check: the output topic, compared as a multiset with the reference answer
//!   (`eddy_nexmark::queries`) for the same events and seed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use eddy_dataflow::{Plan, SourceInput};
use eddy_log::{Log, Options as LogOptions, Topic};
use eddy_nexmark::queries::{Fingerprint, Query, for_each_expected};
use eddy_nexmark::{Config as NexmarkConfig, Generator};
use eddy_state::StateStore;

/// `eddy bench …`.
#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Run a Nexmark query over generated events and report events/s, latency, peak memory,
    /// and whether the output matches the reference.
    Nexmark(NexmarkArgs),
}

/// Arguments of `eddy bench nexmark`.
#[derive(Debug, Args)]
pub(crate) struct NexmarkArgs {
    /// The query: q0, q1, q2, q3, q4, q5, q7 or q8.
    #[arg(long, value_parser = parse_query)]
    query: Query,
    /// How many events to generate.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Worker threads [default: the number of cores].
    #[arg(long)]
    workers: Option<usize>,
    /// Generator partitions (parallel sources) [default: the number of workers].
    #[arg(long)]
    partitions: Option<u32>,
    /// Emit events at this many per second (wall clock) and measure end-to-end latency
    /// [default: as fast as possible, no latency].
    #[arg(long)]
    rate: Option<u64>,
    /// Run this dataflow file instead of the built-in query (its output is still checked
    /// against the query's reference).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Skip the check against the reference.
    #[arg(long)]
    no_check: bool,
}

fn parse_query(name: &str) -> Result<Query, String> {
    Query::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = Query::ALL.iter().map(|query| query.name()).collect();
        format!("no Nexmark query '{name}'; Eddy runs {}", known.join(", "))
    })
}

/// The built-in query files.
fn query_file(query: Query) -> &'static str {
    match query {
        Query::Q0 => include_str!("../../../../benches/nexmark/q0.yaml"),
        Query::Q1 => include_str!("../../../../benches/nexmark/q1.yaml"),
        Query::Q2 => include_str!("../../../../benches/nexmark/q2.yaml"),
        Query::Q3 => include_str!("../../../../benches/nexmark/q3.yaml"),
        Query::Q4 => include_str!("../../../../benches/nexmark/q4.yaml"),
        Query::Q5 => include_str!("../../../../benches/nexmark/q5.yaml"),
        Query::Q7 => include_str!("../../../../benches/nexmark/q7.yaml"),
        Query::Q8 => include_str!("../../../../benches/nexmark/q8.yaml"),
    }
}

pub(crate) fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Nexmark(args) => nexmark(&args),
    }
}

fn nexmark(args: &NexmarkArgs) -> anyhow::Result<()> {
    let workers = args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let partitions = args.partitions.unwrap_or(workers as u32).max(1);
    let (text, file_name) = match &args.file {
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
            path.display().to_string(),
        ),
        None => (query_file(args.query).to_owned(), format!("benches/nexmark/{}.yaml", args.query)),
    };
    let mut plan = match eddy_dataflow::parse(&text, &file_name) {
        Ok((_, plan)) => plan,
        Err(diagnostics) => {
            for diagnostic in diagnostics.iter() {
                eprintln!("{diagnostic}");
            }
            bail!("{file_name} is not a valid dataflow");
        }
    };
    let start_ms = eddy_types::now_millis();
    let generator = configure_sources(&mut plan, args, partitions, start_ms)?;
    let output = output_topic(&plan)?;

    let scratch = tempfile::Builder::new()
        .prefix("eddy-bench-")
        .tempdir()
        .context("cannot make a scratch directory")?;
    let log = Arc::new(Log::open(scratch.path().join("log"), LogOptions::default())?);
    let store = Arc::new(StateStore::open(&scratch.path().join("state"))?);
    let options = eddy_engine::Options { workers, until_idle: true, ..Default::default() };
    eprintln!(
        "nexmark {}: {} events, {workers} worker{}, {partitions} generator partition{}{}",
        args.query,
        args.events,
        plural(workers as u64),
        plural(u64::from(partitions)),
        args.rate.map_or(String::new(), |rate| format!(", {rate} events/s"))
    );
    let started = Instant::now();
    let running = eddy_engine::start(&plan, Arc::clone(&log), store, &options)
        .with_context(|| format!("cannot start dataflow '{}'", plan.name))?;
    let done = Arc::new(AtomicBool::new(false));
    let latencies = args.rate.map(|_| {
        let (log, done, output) = (Arc::clone(&log), Arc::clone(&done), output.clone());
        std::thread::spawn(move || watch_latency(&log, &output, &done))
    });
    let summary = running.wait().with_context(|| format!("dataflow '{}' failed", plan.name))?;
    let elapsed = started.elapsed();
    done.store(true, Ordering::Release);
    let latencies = match latencies {
        Some(watcher) => Some(watcher.join().map_err(|_| anyhow::anyhow!("the latency watcher failed"))??),
        None => None,
    };
    let peak_rss = peak_rss_bytes();

    let seconds = elapsed.as_secs_f64().max(1e-9);
    let rate = args.events as f64 / seconds;
    println!(
        "nexmark {}: {} events in {seconds:.2} s with {workers} worker{}: {} events/s, {} events/s per core",
        args.query,
        args.events,
        plural(workers as u64),
        human(rate),
        human(rate / workers as f64)
    );
    println!(
        "  {} epochs, {} output records, {} dead letters, closing epochs {:.1}% of worker time",
        summary.epochs,
        summary.records_written,
        summary.dead_letters,
        summary.closing.as_secs_f64() / (summary.elapsed.as_secs_f64().max(1e-9) * workers as f64) * 100.0
    );
    match latencies {
        Some(mut samples) if !samples.is_empty() => {
            samples.sort_unstable();
            let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
            println!(
                "  latency (event time to committed output, {} records): p50 {} ms, p99 {} ms, max {} ms",
                samples.len(),
                at(0.5),
                at(0.99),
                at(1.0)
            );
        }
        Some(_) => println!("  latency: no output records to measure"),
        None => println!("  latency: not defined without --rate (events come as fast as they are taken)"),
    }
    match peak_rss {
        Some(bytes) => println!("  peak RSS: {} MiB", bytes / (1 << 20)),
        None => println!("  peak RSS: unknown on this system"),
    }
    if args.no_check {
        return Ok(());
    }
    let actual = fingerprint_topic(&log, &output, args.query.changelog())?;
    let mut expected = Fingerprint::default();
    for_each_expected(args.query, &generator, args.events, partitions, |value| expected.add(&value));
    if actual != expected {
        bail!(
            "the output of {} does not match the reference: {} records written, {} expected (or the same \
             count with different contents)",
            args.query,
            actual.records,
            expected.records
        );
    }
    println!("  check: the {} output records match the reference", actual.records);
    Ok(())
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `1.23 M`, `456 k`, `789`.
fn human(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2} M", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.0} k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

/// Sets every Nexmark source of `plan` to the run's events, partitions and rate; returns the
/// generator they use (the same for all, as the check needs).
fn configure_sources(
    plan: &mut Plan,
    args: &NexmarkArgs,
    partitions: u32,
    start_ms: i64,
) -> anyhow::Result<Generator> {
    let mut config: Option<NexmarkConfig> = None;
    for service in &mut plan.services {
        for source in &mut service.sources {
            let SourceInput::Nexmark(nexmark) = &mut source.input else { continue };
            nexmark.events = Some(args.events);
            nexmark.partitions = partitions;
            if let Some(rate) = args.rate {
                let per_second = std::num::NonZeroU64::new(rate).context("--rate must be at least 1")?;
                nexmark.rate = Some(rate);
                nexmark.config.events_per_second = per_second;
                nexmark.config.base_time = start_ms;
            }
            match &config {
                Some(first) if *first != nexmark.config => {
                    bail!("the Nexmark sources of '{}' use different generator settings", plan.name)
                }
                Some(_) => {}
                None => config = Some(nexmark.config.clone()),
            }
        }
    }
    let config = config.with_context(|| format!("'{}' has no `type: nexmark` source", plan.name))?;
    Ok(Generator::new(config))
}

/// The topic the query writes its answer to: the first sink of its last service.
fn output_topic(plan: &Plan) -> anyhow::Result<eddy_types::TopicName> {
    plan.services
        .last()
        .and_then(|service| service.sinks.first())
        .map(|sink| sink.topic.clone())
        .with_context(|| format!("'{}' writes no topic", plan.name))
}

/// The fingerprint of the records of topic `name`; of a `changelog`, of the last record of
/// each key (one key's records are in one partition, in order).
fn fingerprint_topic(
    log: &Log,
    name: &eddy_types::TopicName,
    changelog: bool,
) -> anyhow::Result<Fingerprint> {
    let topic = log.topic(name.as_str())?;
    let mut fingerprint = Fingerprint::default();
    let mut latest: HashMap<Vec<u8>, serde_json::Value> = HashMap::new();
    for partition in topic.partitions()? {
        let mut next = partition.start_offset();
        while next < partition.committed_end() {
            let batches = partition.read(next, 1 << 20)?;
            let Some(last) = batches.last() else { break };
            for batch in &batches {
                for record in batch.records() {
                    let value: serde_json::Value = serde_json::from_slice(record.value)
                        .with_context(|| format!("record {} of {name} is not JSON", record.offset))?;
                    if changelog {
                        latest.insert(record.key.unwrap_or_default().to_vec(), value);
                    } else {
                        fingerprint.add(&value);
                    }
                }
            }
            next = last.next_offset();
        }
    }
    for value in latest.values() {
        fingerprint.add(value);
    }
    Ok(fingerprint)
}

/// Reads `output` as its records commit until `done`; each record's latency in ms: now minus
/// its timestamp.
fn watch_latency(log: &Log, output: &eddy_types::TopicName, done: &AtomicBool) -> anyhow::Result<Vec<u64>> {
    let mut samples = Vec::new();
    let topic: Arc<Topic> = loop {
        match log.topic(output.as_str()) {
            Ok(topic) => break topic,
            Err(_) if !done.load(Ordering::Acquire) => std::thread::sleep(Duration::from_millis(1)),
            Err(error) => return Err(error.into()),
        }
    };
    let partitions = topic.partitions()?;
    let mut next: Vec<u64> = partitions.iter().map(|partition| partition.start_offset()).collect();
    loop {
        let finished = done.load(Ordering::Acquire);
        let mut read_any = false;
        for (partition, next) in partitions.iter().zip(&mut next) {
            if *next >= partition.committed_end() {
                continue;
            }
            let now = eddy_types::now_millis();
            for batch in partition.read(*next, 1 << 20)? {
                for record in batch.records() {
                    samples.push(now.saturating_sub(record.timestamp).max(0) as u64);
                }
                *next = batch.next_offset();
                read_any = true;
            }
        }
        if finished && !read_any {
            return Ok(samples);
        }
        if !read_any {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// The process's peak resident set size, from `/proc/self/status` (Linux).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_query_is_a_valid_dataflow_with_a_nexmark_source() {
        for query in Query::ALL {
            let name = format!("benches/nexmark/{query}.yaml");
            let (_, plan) = eddy_dataflow::parse(query_file(query), &name)
                .unwrap_or_else(|diagnostics| panic!("{name}: {diagnostics}"));
            assert!(output_topic(&plan).is_ok(), "{name}");
            let nexmark = plan
                .services
                .iter()
                .flat_map(|service| &service.sources)
                .any(|source| matches!(source.input, SourceInput::Nexmark(_)));
            assert!(nexmark, "{name} reads no nexmark source");
        }
    }

    #[test]
    fn unknown_queries_say_which_exist() {
        let error = parse_query("q6").unwrap_err();
        assert!(error.contains("q0, q1, q2, q3, q4, q5, q7, q8"), "{error}");
        assert_eq!(parse_query("Q5"), Ok(Query::Q5));
    }
}
