//! A dataflow runs to idle over produced records: the alert topic, the dead-letter topic and
//! the per-key state hold exactly what the records imply; a second run over more input
//! resumes where the first stopped.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use eddy_engine::{Options, RunSummary};
use eddy_log::{Log, Options as LogOptions};
use eddy_state::StateStore;
use eddy_types::Record;
use serde_json::{Value, json};

const DATAFLOW: &str = r#"
apiVersion: 0.5.0
meta: {name: sensors}
config:
  converter: json
  commit-interval: 20ms
types:
  reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}}}
  alert: {type: object, properties: {sensor: {type: string}, temp: {type: f64}}}
topics:
  readings: {name: readings, partitions: 3, schema: {value: {type: reading}}}
  alerts: {name: alerts, partitions: 2, schema: {value: {type: alert}}}
  counted: {name: counted, partitions: 2, schema: {value: {type: reading}}}
services:
  hot:
    sources: [{type: topic, id: readings}]
    transforms:
      - {operator: filter, cel: "value.temp > 30.0"}
      - {operator: map, cel: "{'sensor': value.sensor, 'temp': value.temp}"}
    sinks: [{type: topic, id: alerts}]
  count:
    sources: [{type: topic, id: readings}]
    states:
      per-sensor: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    partition:
      assign-key: {cel: value.sensor}
      update-state: {cel: state + 1}
    sinks: [{type: topic, id: counted}]
"#;

fn run(dir: &Path, workers: usize) -> RunSummary {
    let (_, plan) = eddy_dataflow::parse(DATAFLOW, "sensors.yaml").unwrap();
    let log = Arc::new(Log::open(dir.join("log"), LogOptions::default()).unwrap());
    let store = Arc::new(StateStore::open(&dir.join("state")).unwrap());
    let options = Options {
        workers,
        until_idle: true,
        commit_interval: Some(Duration::from_millis(20)),
        ..Options::default()
    };
    eddy_engine::start(&plan, log, store, &options).unwrap().wait().unwrap()
}

fn produce(dir: &Path, lines: &[String]) {
    let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
    let topic = log.topic("readings").unwrap();
    for (i, line) in lines.iter().enumerate() {
        let p = topic.partition(i as u32 % 3).unwrap();
        p.append([Record::new(None::<Vec<u8>>, line.clone().into_bytes(), i as i64).as_ref()]).unwrap();
        p.commit().unwrap();
    }
}

fn read_all(dir: &Path, topic: &str) -> Vec<Value> {
    let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
    let topic = log.topic(topic).unwrap();
    let mut out = Vec::new();
    for p in topic.partitions().unwrap() {
        for batch in p.read(0, usize::MAX).unwrap() {
            for r in batch.records() {
                out.push(serde_json::from_slice(r.value).unwrap());
            }
        }
    }
    out
}

fn readings(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!(r#"{{"sensor": "s{}", "temp": {}.5}}"#, i % 7, i % 40)).collect()
}

#[test]
fn counts_alerts_and_dead_letters_are_exact_and_a_restart_resumes() {
    for workers in [1, 2, 3] {
        let dir = tempfile::tempdir().unwrap();
        // The first run creates the topics; nothing to read yet.
        assert_eq!(run(dir.path(), workers).records_read, 0);
        let mut lines = readings(0..500);
        lines.push("{not json".to_owned());
        lines.push(r#"{"sensor": "s1", "temp": "hot"}"#.to_owned());
        produce(dir.path(), &lines);
        let first = run(dir.path(), workers);
        assert_eq!(first.records_read, 2 * 502, "both services read every record");
        assert_eq!(first.dead_letters, 4, "each service dead-letters both bad records");

        produce(dir.path(), &readings(500..800));
        let second = run(dir.path(), workers);
        assert_eq!(second.records_read, 2 * 300, "a restart resumes after the committed positions");

        let expected_alerts = (0..800).filter(|i| i % 40 >= 30).count();
        assert_eq!(read_all(dir.path(), "alerts").len(), expected_alerts);
        assert_eq!(read_all(dir.path(), "counted").len(), 800);
        let dead = read_all(dir.path(), "sensors.dead-letter");
        assert_eq!(dead.len(), 4);
        assert!(dead.iter().any(|d| d["reason"].as_str().unwrap().starts_with("value is not valid JSON")));
        assert!(dead.iter().all(|d| d["topic"] == json!("readings")));

        let store = StateStore::open(&dir.path().join("state")).unwrap();
        let counts: BTreeMap<String, u64> = store
            .list("count", "per-sensor")
            .map(|e| {
                let (k, v) = e.unwrap();
                (String::from_utf8(k.to_vec()).unwrap(), serde_json::from_slice(v.as_bytes()).unwrap())
            })
            .collect();
        let mut expected = BTreeMap::new();
        for i in 0..800 {
            *expected.entry(format!("s{}", i % 7)).or_insert(0) += 1;
        }
        assert_eq!(counts, expected, "workers = {workers}");
    }
}

#[test]
fn a_drained_run_stops_without_waiting_out_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run(dir.path(), 2).records_read, 0);
    produce(dir.path(), &readings(0..300));
    let (_, plan) = eddy_dataflow::parse(DATAFLOW, "sensors.yaml").unwrap();
    let log = Arc::new(Log::open(dir.path().join("log"), LogOptions::default()).unwrap());
    let store = Arc::new(StateStore::open(&dir.path().join("state")).unwrap());
    // An interval no test waits out: only the workers being drained can close the epochs.
    let options = Options {
        workers: 2,
        until_idle: true,
        commit_interval: Some(Duration::from_secs(3600)),
        ..Options::default()
    };
    let running = eddy_engine::start(&plan, log, store, &options).unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(running.wait().unwrap()));
    let summary = finished.recv_timeout(Duration::from_secs(120)).expect("the drained run stops");
    assert_eq!(summary.records_read, 2 * 300);
    assert_eq!(read_all(dir.path(), "counted").len(), 300);
}
