//! `type: nexmark` sources: a dataflow reads generated Nexmark events with exactly-once
//! positions. The sink holds exactly the generator's events, in order per generator
//! partition; restarts neither lose nor repeat one; keyed and windowed state equal a
//! reference computed here from the generator.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use eddy_engine::{Options, RunSummary};
use eddy_log::{Log, Options as LogOptions};
use eddy_nexmark::{Config, Event, EventKind, Generator};
use eddy_state::StateStore;
use serde_json::Value;

const EVENTS: u64 = 20_000;
const SEED: u64 = 42;
const BASE_TIME: i64 = 1_700_000_000_000;

/// A pass-through of the events and a count of bids per auction, each service with its own
/// generator source (`{rate}` is replaced by a `rate:` line or nothing).
const DATAFLOW: &str = r#"
apiVersion: 0.5.0
meta: {name: auctions}
config: {converter: json}
types:
  event: {type: object, properties: {event_type: {type: u32}}}
topics:
  events: {name: events, partitions: 1, schema: {value: {type: event}}}
  bids: {name: bids, partitions: 2, schema: {value: {type: event}}}
services:
  copy:
    sources:
      - type: nexmark
        id: feed
        events: 20000
        partitions: 2
        {rate}
        generator: {seed: 42, base-time: 1700000000000}
    sinks: [{type: topic, id: events}]
  count:
    sources:
      - type: nexmark
        id: feed
        events: 20000
        partitions: 2
        {rate}
        generator: {seed: 42, base-time: 1700000000000}
    transforms: [{operator: filter, cel: "value.event_type == 2"}]
    states:
      per-auction: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    partition:
      assign-key: {cel: value.bid.auction}
      update-state: {aggregate: count}
    sinks: [{type: topic, id: bids}]
"#;

/// Bids per 100 ms tumbling window over a 3-partition generator (`{rate}` as in `DATAFLOW`).
const WINDOWED: &str = r#"
apiVersion: 0.5.0
meta: {name: windows}
config: {converter: json}
types:
  count: {type: object, properties: {start: {type: i64}, count: {type: u64}}}
topics:
  counts: {name: counts, partitions: 1, schema: {value: {type: count}}}
services:
  per-window:
    sources:
      - type: nexmark
        id: feed
        events: 20000
        partitions: 3
        {rate}
        generator: {seed: 42, base-time: 1700000000000}
    transforms: [{operator: filter, cel: "value.event_type == 2"}]
    states:
      bids: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    window:
      tumbling: {duration: 100ms}
      partition:
        assign-key: {cel: "'all'"}
        update-state: {aggregate: count}
      flush: {cel: "{'start': window.start, 'count': state}"}
    sinks: [{type: topic, id: counts}]
"#;

fn generator() -> Generator {
    Generator::new(Config { seed: SEED, base_time: BASE_TIME, ..Config::default() })
}

fn options(workers: usize, until_idle: bool) -> Options {
    Options { workers, until_idle, commit_interval: Some(Duration::from_millis(10)), ..Options::default() }
}

fn open(dir: &Path) -> (Arc<Log>, Arc<StateStore>) {
    let log = Arc::new(Log::open(dir.join("log"), LogOptions::default()).unwrap());
    let store = Arc::new(StateStore::open(&dir.join("state")).unwrap());
    (log, store)
}

fn plan(source: &str, rate: Option<u64>) -> eddy_dataflow::Plan {
    let rate = rate.map(|rate| format!("rate: {rate}")).unwrap_or_default();
    let (_, plan) = eddy_dataflow::parse(&source.replace("{rate}", &rate), "dataflow.yaml")
        .unwrap_or_else(|d| panic!("{d}"));
    plan
}

fn run_to_idle(dir: &Path, source: &str, workers: usize) -> RunSummary {
    let (log, store) = open(dir);
    eddy_engine::start(&plan(source, None), log, store, &options(workers, true)).unwrap().wait().unwrap()
}

/// Runs paced at `rate` events per second until `epochs` more epochs committed, then stops
/// it the way Ctrl-C does.
fn run_a_few_epochs(dir: &Path, source: &str, workers: usize, rate: u64, epochs: u64) -> RunSummary {
    let (log, store) = open(dir);
    let until = store.epoch().unwrap() + epochs;
    let running =
        eddy_engine::start(&plan(source, Some(rate)), log, Arc::clone(&store), &options(workers, false))
            .unwrap();
    for _ in 0..10_000 {
        if store.epoch().unwrap() >= until {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    running.handle().shutdown();
    running.wait().unwrap()
}

/// Every record of `topic`: (value, timestamp), partition by partition.
fn records(dir: &Path, topic: &str) -> Vec<(Value, i64)> {
    let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
    let mut out = Vec::new();
    for partition in log.topic(topic).unwrap().partitions().unwrap() {
        for batch in partition.read(0, usize::MAX).unwrap() {
            for record in batch.records() {
                out.push((serde_json::from_slice(record.value).unwrap(), record.timestamp));
            }
        }
    }
    out
}

/// The event numbers of the pass-through sink's records, checking each value and timestamp
/// against the generator's event.
fn event_numbers(dir: &Path) -> Vec<u64> {
    let generator = generator();
    let mut by_json: HashMap<String, u64> = HashMap::new();
    for event in generator.events(0..EVENTS) {
        // The JSON `write_json` makes, in one key order.
        let json = serde_json::from_slice::<Value>(&event.to_json()).unwrap().to_string();
        assert!(by_json.insert(json, event.number()).is_none(), "events are distinct");
    }
    records(dir, "events")
        .into_iter()
        .map(|(value, timestamp)| {
            let number = by_json[&value.to_string()];
            assert_eq!(timestamp, generator.timestamp(number), "event {number}'s record timestamp");
            number
        })
        .collect()
}

/// Asserts the sink holds every event `0..EVENTS` once, each generator partition's in order.
fn assert_exactly_the_generated_events(dir: &Path, partitions: u64) {
    let numbers = event_numbers(dir);
    assert_eq!(numbers.len() as u64, EVENTS, "every event once");
    for partition in 0..partitions {
        let own: Vec<u64> = numbers.iter().copied().filter(|n| n % partitions == partition).collect();
        let expected: Vec<u64> = (partition..EVENTS).step_by(partitions as usize).collect();
        assert_eq!(own, expected, "generator partition {partition}: every event, in order");
    }
}

fn bids_per_auction() -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    let mut event = Event::new();
    let generator = generator();
    for number in 0..EVENTS {
        generator.generate(number, &mut event);
        if let Some(bid) = event.bid() {
            *counts.entry(bid.auction.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

fn state(dir: &Path, service: &str, state: &str) -> BTreeMap<String, u64> {
    let store = StateStore::open(&dir.join("state")).unwrap();
    store
        .list(service, state)
        .map(|entry| {
            let (key, value) = entry.unwrap();
            (String::from_utf8(key.to_vec()).unwrap(), serde_json::from_slice(value.as_bytes()).unwrap())
        })
        .collect()
}

#[test]
fn a_bounded_source_runs_to_idle_with_exactly_its_events() {
    for workers in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let summary = run_to_idle(dir.path(), DATAFLOW, workers);
        assert_eq!(summary.records_read, 2 * EVENTS, "each service reads every event");
        assert_eq!(summary.dead_letters, 0);
        assert_exactly_the_generated_events(dir.path(), 2);
        assert_eq!(state(dir.path(), "count", "per-auction"), bids_per_auction(), "workers = {workers}");
        // Drained: a second run reads nothing.
        assert_eq!(run_to_idle(dir.path(), DATAFLOW, workers).records_read, 0);
    }
}

#[test]
fn restarts_neither_lose_nor_repeat_an_event() {
    for workers in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        // Paced runs stopped after a few epochs each, then one that runs to the end.
        let mut read = 0;
        for _ in 0..3 {
            let partial = run_a_few_epochs(dir.path(), DATAFLOW, workers, 40_000, 3).records_read;
            assert!(partial > 0, "a paced run makes its first events at once");
            read += partial;
        }
        read += run_to_idle(dir.path(), DATAFLOW, workers).records_read;
        assert_eq!(read, 2 * EVENTS, "over all runs, each service read every event once");
        assert_exactly_the_generated_events(dir.path(), 2);
        assert_eq!(state(dir.path(), "count", "per-auction"), bids_per_auction(), "workers = {workers}");
        let bids = records(dir.path(), "bids");
        assert_eq!(bids.len() as u64, bids_per_auction().values().sum::<u64>());
    }
}

#[test]
fn changed_generator_settings_are_refused_once_positions_are_committed() {
    let dir = tempfile::tempdir().unwrap();
    run_a_few_epochs(dir.path(), DATAFLOW, 1, 40_000, 2);
    for (what, changed) in [
        (
            "partitions",
            DATAFLOW.replacen("partitions: 2\n        {rate}", "partitions: 3\n        {rate}", 1),
        ),
        ("generator", DATAFLOW.replacen("seed: 42", "seed: 43", 1)),
    ] {
        assert_ne!(changed, DATAFLOW, "{what}");
        let (log, store) = open(dir.path());
        let error = eddy_engine::start(&plan(&changed, None), log, store, &options(1, true)).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(&error, eddy_engine::Error::SourceChanged { service, source_name, .. }
                if service == "copy" && source_name == "nexmark:feed"),
            "{what}: {message}"
        );
        assert!(message.contains("give the source a new `id`"), "{message}");
    }
    // A new id starts the source over; more `events` extend it.
    let renamed = DATAFLOW.replacen(
        "id: feed\n        events: 20000\n        partitions: 2",
        "id: feed2\n        events: 20000\n        partitions: 3",
        1,
    );
    assert_ne!(renamed, DATAFLOW);
    run_to_idle(dir.path(), &renamed.replace("events: 20000", "events: 30000"), 1);
}

#[test]
fn tumbling_windows_count_the_generated_bids_across_restarts() {
    for (workers, restarts) in [(1, 0), (2, 0), (1, 2), (2, 2)] {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..restarts {
            run_a_few_epochs(dir.path(), WINDOWED, workers, 40_000, 3);
        }
        run_to_idle(dir.path(), WINDOWED, workers);
        // The watermark at the end: the lowest, over the generator partitions, of the latest
        // bid time each read (the only records that reach the window).
        let generator = generator();
        let mut event = Event::new();
        let mut latest = [i64::MIN; 3];
        let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
        for number in 0..EVENTS {
            generator.generate(number, &mut event);
            if event.kind() == EventKind::Bid {
                let time = event.date_time();
                latest[(number % 3) as usize] = latest[(number % 3) as usize].max(time);
                *counts.entry(time.div_euclid(100) * 100).or_insert(0) += 1;
            }
        }
        let watermark = latest.into_iter().min().unwrap();
        let expected: BTreeMap<i64, u64> =
            counts.into_iter().filter(|(start, _)| start + 100 <= watermark).collect();
        assert!(expected.len() > 10, "{expected:?}");
        let flushed: BTreeMap<i64, u64> = records(dir.path(), "counts")
            .into_iter()
            .map(|(value, _)| (value["start"].as_i64().unwrap(), value["count"].as_u64().unwrap()))
            .collect();
        assert_eq!(flushed, expected, "workers = {workers}, restarts = {restarts}");
        assert_eq!(records(dir.path(), "counts").len(), expected.len(), "each window flushed once");
    }
}

#[test]
fn dead_letters_name_the_generator_and_the_event_number() {
    let source = r#"
apiVersion: 0.5.0
meta: {name: prices}
config: {converter: json}
types:
  price: {type: object, properties: {price: {type: u64}}}
topics:
  prices: {name: prices, partitions: 1, schema: {value: {type: price}}}
services:
  prices:
    sources: [{type: nexmark, id: feed, events: 100, partitions: 2}]
    transforms: [{operator: map, cel: "{'price': value.bid.price}"}]
    sinks: [{type: topic, id: prices}]
"#;
    let dir = tempfile::tempdir().unwrap();
    let summary = run_to_idle(dir.path(), source, 2);
    let generator = Generator::new(Config::default());
    let not_bids: Vec<u64> = (0..100).filter(|&n| generator.kind(n) != EventKind::Bid).collect();
    assert_eq!(summary.dead_letters, not_bids.len() as u64);
    assert_eq!(records(dir.path(), "prices").len(), 100 - not_bids.len());
    let mut dead: Vec<Value> =
        records(dir.path(), "prices.dead-letter").into_iter().map(|(v, _)| v).collect();
    dead.sort_by_key(|letter| letter["offset"].as_u64());
    for (letter, number) in dead.iter().zip(&not_bids) {
        assert_eq!(letter["source"], "nexmark:feed", "{letter}");
        assert!(letter.get("topic").is_none(), "{letter}");
        assert_eq!(letter["offset"], *number, "{letter}");
        assert_eq!(letter["partition"], number % 2, "{letter}");
        assert_eq!(letter["operator"], "services.prices.transforms[0]", "{letter}");
        // The map reads only `bid.price`, so only that was built for it; the dead letter
        // still carries the whole event.
        let mut event = Event::new();
        generator.generate(*number, &mut event);
        assert_eq!(letter["value"], event.to_value(), "{letter}");
    }
}
