//! Keyed state with far more keys than a worker keeps in memory: keys are dropped from the
//! cache after commits and read back from the store, and every count is still exact, over
//! epochs of a few records and across a restart.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use eddy_engine::{Options, RunSummary};
use eddy_log::{Log, Options as LogOptions};
use eddy_state::StateStore;
use eddy_types::Record;

const DATAFLOW: &str = r#"
apiVersion: 0.5.0
meta: {name: users}
config: {converter: json}
types:
  event: {type: object, properties: {user: {type: string}, amount: {type: i64}}}
topics:
  events: {name: events, partitions: 3, schema: {value: {type: event}}}
services:
  totals:
    sources: [{type: topic, id: events}]
    states:
      per-user:
        type: keyed-state
        properties:
          key: {type: string}
          value: {type: arrow-row, properties: {events: {type: u64}, total: {type: i64}}}
    partition:
      assign-key: {cel: value.user}
      update-state: {cel: "{'events': state.events + 1, 'total': state.total + value.amount}"}
"#;

const USERS: u64 = 3_000;
/// Far below `USERS`: most keys are read back from the store every time they come again.
const CACHE_KEYS: usize = 40;

fn user(i: u64) -> u64 {
    (i * 7_919) % USERS
}

fn run(dir: &Path, workers: usize) -> RunSummary {
    let (_, plan) = eddy_dataflow::parse(DATAFLOW, "users.yaml").unwrap();
    let log = Arc::new(Log::open(dir.join("log"), LogOptions::default()).unwrap());
    let store = Arc::new(StateStore::open(&dir.join("state")).unwrap());
    let options = Options {
        workers,
        until_idle: true,
        commit_interval: Some(Duration::from_millis(1)),
        state_cache_keys: CACHE_KEYS,
        ..Options::default()
    };
    eddy_engine::start(&plan, log, store, &options).unwrap().wait().unwrap()
}

/// Appends events `range` round-robin over the three partitions, a batch of 200 per commit,
/// so that epochs of a millisecond end in the middle of the input.
fn produce(dir: &Path, range: std::ops::Range<u64>) {
    let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
    let topic = log.topic("events").unwrap();
    let events: Vec<u64> = range.collect();
    for chunk in events.chunks(600) {
        for partition in 0..3u32 {
            let records: Vec<Record> = chunk
                .iter()
                .filter(|&&i| i % 3 == u64::from(partition))
                .map(|&i| {
                    let value = format!(r#"{{"user": "u{}", "amount": {}}}"#, user(i), i % 100);
                    Record::new(None::<Vec<u8>>, value.into_bytes(), i as i64)
                })
                .collect();
            let p = topic.partition(partition).unwrap();
            p.append(records.iter().map(Record::as_ref)).unwrap();
            p.commit().unwrap();
        }
    }
}

fn committed_state(dir: &Path) -> BTreeMap<String, (u64, i64)> {
    let store = StateStore::open(&dir.join("state")).unwrap();
    store
        .list("totals", "per-user")
        .map(|entry| {
            let (key, value) = entry.unwrap();
            let row: serde_json::Value = serde_json::from_slice(value.as_bytes()).unwrap();
            let key = String::from_utf8(key.to_vec()).unwrap();
            (key, (row["events"].as_u64().unwrap(), row["total"].as_i64().unwrap()))
        })
        .collect()
}

fn expected(events: u64) -> BTreeMap<String, (u64, i64)> {
    let mut expected = BTreeMap::new();
    for i in 0..events {
        let entry = expected.entry(format!("u{}", user(i))).or_insert((0, 0));
        entry.0 += 1;
        entry.1 += (i % 100) as i64;
    }
    expected
}

#[test]
fn counts_stay_exact_when_most_keys_live_only_in_the_store() {
    for workers in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        // The first run creates the topic; nothing to read yet.
        assert_eq!(run(dir.path(), workers).records_read, 0);
        produce(dir.path(), 0..24_000);
        let first = run(dir.path(), workers);
        assert_eq!(first.records_read, 24_000);
        assert!(first.epochs > 3, "the input spans several epochs: {first:?}");
        assert_eq!(committed_state(dir.path()), expected(24_000), "workers = {workers}");

        produce(dir.path(), 24_000..36_000);
        assert_eq!(run(dir.path(), workers).records_read, 12_000);
        assert_eq!(committed_state(dir.path()), expected(36_000), "after a restart, workers = {workers}");
    }
}
