//! Golden tests of event-time windows and joins, discovered from `tests/windows/<case>/`:
//!
//! - `dataflow.yaml`: the dataflow;
//! - `input.jsonl`: one record per line, `{"topic", "partition", "timestamp"?, "key"?,
//!   "value", "round"?}`; the records of round 0 are produced, the dataflow runs until idle,
//!   then round 1, and so on (so windows live across restarts);
//! - `expected/<topic>.jsonl`: the values the topic holds at the end, in any order (the
//!   late-records topic included);
//! - `expected-state.jsonl`? : `{"service", "state", "key", "value"}` lines: the state left,
//!   that is the windows still open (the `~event-time/…` entries are not compared).
//!
//! Every case runs with 1 and with 2 workers and must give the same result. Every record
//! read must hold exactly the bytes `serde_json` writes for its value (`direct-sink`: the
//! results a chain writes straight into its sink's bytes).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use eddy_engine::Options;
use eddy_log::{Log, Options as LogOptions};
use eddy_state::StateStore;
use eddy_types::Record;
use serde_json::Value;

fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{}: {e}: {line}", path.display())))
        .collect()
}

fn run(source: &str, dir: &Path, workers: usize) {
    let (_, plan) = eddy_dataflow::parse(source, "dataflow.yaml").unwrap_or_else(|d| panic!("{d:?}"));
    let log = Arc::new(Log::open(dir.join("log"), LogOptions::default()).unwrap());
    let store = Arc::new(StateStore::open(&dir.join("state")).unwrap());
    let options = Options {
        workers,
        until_idle: true,
        commit_interval: Some(Duration::from_millis(20)),
        ..Options::default()
    };
    eddy_engine::start(&plan, log, store, &options).unwrap().wait().unwrap();
}

fn produce(dir: &Path, records: &[&Value]) {
    let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
    for record in records {
        let topic = log.topic(record["topic"].as_str().unwrap()).unwrap();
        let partition = topic.partition(record["partition"].as_u64().unwrap_or(0) as u32).unwrap();
        let key = record["key"].as_str().map(|key| key.as_bytes().to_vec());
        let value = record["value"].to_string().into_bytes();
        let timestamp = record["timestamp"].as_i64().unwrap_or(0);
        partition.append([Record::new(key, value, timestamp).as_ref()]).unwrap();
        partition.commit().unwrap();
    }
}

fn topic_values(dir: &Path, topic: &str) -> Vec<String> {
    let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
    let Ok(topic) = log.topic(topic) else { return Vec::new() };
    let mut values = Vec::new();
    for partition in topic.partitions().unwrap() {
        for batch in partition.read(0, usize::MAX).unwrap() {
            for record in batch.records() {
                let value: Value = serde_json::from_slice(record.value).unwrap();
                // Byte for byte what serde_json writes for the value, however it was encoded.
                assert_eq!(
                    String::from_utf8_lossy(record.value),
                    value.to_string(),
                    "topic {}",
                    topic.name()
                );
                values.push(value.to_string());
            }
        }
    }
    values.sort();
    values
}

fn run_case(case: &Path, workers: usize) {
    let source = std::fs::read_to_string(case.join("dataflow.yaml")).unwrap();
    let input = lines(&case.join("input.jsonl"));
    let dir = tempfile::tempdir().unwrap();
    run(&source, dir.path(), workers); // creates the topics
    let rounds = input.iter().map(|r| r["round"].as_u64().unwrap_or(0)).max().unwrap_or(0);
    for round in 0..=rounds {
        let records: Vec<&Value> =
            input.iter().filter(|r| r["round"].as_u64().unwrap_or(0) == round).collect();
        produce(dir.path(), &records);
        run(&source, dir.path(), workers);
    }
    let name = case.file_name().unwrap().to_string_lossy();
    for entry in std::fs::read_dir(case.join("expected")).unwrap() {
        let path = entry.unwrap().path();
        let topic = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut expected: Vec<String> = lines(&path).iter().map(Value::to_string).collect();
        expected.sort();
        assert_eq!(
            topic_values(dir.path(), &topic),
            expected,
            "case {name}, topic {topic}, {workers} workers"
        );
    }
    let state_file = case.join("expected-state.jsonl");
    if state_file.exists() {
        let store = StateStore::open(&dir.path().join("state")).unwrap();
        let mut expected = BTreeMap::new();
        let mut actual = BTreeMap::new();
        for line in lines(&state_file) {
            let (service, state) = (line["service"].as_str().unwrap(), line["state"].as_str().unwrap());
            expected.insert(
                (service.to_owned(), line["key"].as_str().unwrap().to_owned()),
                line["value"].clone(),
            );
            for entry in store.list(service, state) {
                let (key, value) = entry.unwrap();
                let key = String::from_utf8(key.to_vec()).unwrap();
                if key.starts_with('~') {
                    continue; // the watermark's inputs
                }
                actual.insert((service.to_owned(), key), serde_json::from_slice::<Value>(&value).unwrap());
            }
        }
        assert_eq!(actual, expected, "case {name}: state left, {workers} workers");
    }
}

#[test]
fn every_window_case_gives_its_expected_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/windows");
    let mut cases: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    assert!(cases.len() >= 5, "expected the window cases in {}", root.display());
    for case in &cases {
        for workers in [1, 2] {
            run_case(case, workers);
        }
    }
}
