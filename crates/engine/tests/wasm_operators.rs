//! WebAssembly components as dataflow operators: a dataflow whose filter, keys, state
//! updates, event times, window flushes and join sides' `when` and `key` are components gives exactly what the same
//! dataflow in CEL gives; a component that traps or loops fails only its record (to the
//! dead-letter topic, with the reason); a component that does not fit its step stops the
//! dataflow before it starts, naming the step.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use eddy_engine::{Options, RunSummary};
use eddy_log::{Log, Options as LogOptions};
use eddy_state::StateStore;
use eddy_types::Record;
use serde_json::Value;

const HEAD: &str = r#"
apiVersion: 0.5.0
meta: {name: ops}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  event: {type: object, properties: {id: {type: u64}, k: {type: string}, v: {type: u64}}}
  window-count: {type: object, properties: {k: {type: string}, start: {type: i64}, count: {type: u64}}}
topics:
  events: {name: events, partitions: 3, schema: {value: {type: event}}}
  totals: {name: totals, partitions: 2, schema: {value: {type: event}}}
  big: {name: big, partitions: 2, schema: {value: {type: event}}}
  windowed: {name: windowed, partitions: 2, schema: {value: {type: window-count}}}
  joined: {name: joined, partitions: 2, schema: {value: {type: event}}}
services:
"#;

const CEL_SERVICES: &str = r#"
  sum:
    sources: [{type: topic, id: events}]
    states:
      sum-per-key: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    partition:
      assign-key: {cel: value.k}
      update-state: {cel: state + value.v}
    sinks: [{type: topic, id: totals}]
  big-ones:
    sources: [{type: topic, id: events}]
    transforms:
      - {operator: filter, cel: "value.v > 90"}
    sinks: [{type: topic, id: big}]
  per-window:
    sources: [{type: topic, id: events}]
    states:
      count-per-window: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    window:
      tumbling: {duration: 10s}
      assign-timestamp: {cel: int(value.id)}
      partition:
        assign-key: {cel: value.k}
        update-state: {cel: state + 1}
      flush: {cel: "{'k': key, 'start': window.start, 'count': state}"}
    sinks: [{type: topic, id: windowed}]
  join:
    sources: [{type: topic, id: events}]
    join:
      left: {name: big, when: {cel: "value.v > 90"}, key: {cel: value.k}}
      right: {name: small, when: {cel: "value.v == 0"}, key: {cel: value.k}}
      emit: {cel: "{'id': big.id, 'k': key, 'v': small.id}"}
    sinks: [{type: topic, id: joined}]
"#;

const WASM_SERVICES: &str = r#"
  sum:
    sources: [{type: topic, id: events}]
    states:
      sum-per-key: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    partition:
      assign-key: {component: SUM}
      update-state: {component: SUM}
    sinks: [{type: topic, id: totals}]
  big-ones:
    sources: [{type: topic, id: events}]
    transforms:
      - {operator: filter, component: SUM}
    sinks: [{type: topic, id: big}]
  per-window:
    sources: [{type: topic, id: events}]
    states:
      count-per-window: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    window:
      tumbling: {duration: 10s}
      assign-timestamp: {component: WINDOW}
      partition:
        assign-key: {component: WINDOW}
        update-state: {component: WINDOW}
      flush: {component: WINDOW}
    sinks: [{type: topic, id: windowed}]
  join:
    sources: [{type: topic, id: events}]
    join:
      left: {name: big, when: {component: SUM}, key: {component: SUM}}
      right: {name: small, when: {cel: "value.v == 0"}, key: {cel: value.k}}
      emit: {cel: "{'id': big.id, 'k': key, 'v': small.id}"}
    sinks: [{type: topic, id: joined}]
"#;

fn wasm_dataflow() -> String {
    let sum = eddy_test_guests::component("eo-sum");
    let window = eddy_test_guests::component("eo-window");
    format!("{HEAD}{WASM_SERVICES}")
        .replace("SUM", &sum.display().to_string())
        .replace("WINDOW", &window.display().to_string())
}

fn start(dir: &Path, dataflow: &str, workers: usize) -> eddy_engine::Result<RunSummary> {
    let (_, plan) = eddy_dataflow::parse(dataflow, "ops.yaml").unwrap();
    let log = Arc::new(Log::open(dir.join("log"), LogOptions::default()).unwrap());
    let store = Arc::new(StateStore::open(&dir.join("state")).unwrap());
    let options = Options {
        workers,
        until_idle: true,
        commit_interval: Some(Duration::from_millis(20)),
        wasm_cache: Some(dir.join("wasm-cache")),
        ..Options::default()
    };
    eddy_engine::start(&plan, log, store, &options)?.wait()
}

fn produce(dir: &Path, topic: &str, partitions: u32, values: &[String]) {
    let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
    let topic = log.topic(topic).unwrap();
    for (i, value) in values.iter().enumerate() {
        let p = topic.partition(i as u32 % partitions).unwrap();
        p.append([Record::new(None::<Vec<u8>>, value.clone().into_bytes(), i as i64).as_ref()]).unwrap();
    }
    for p in topic.partitions().unwrap() {
        p.commit().unwrap();
    }
}

/// Every record of `topic`, as sorted JSON texts (partitioning differs between runs only in
/// order).
fn read_sorted(dir: &Path, topic: &str) -> Vec<String> {
    let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
    let topic = log.topic(topic).unwrap();
    let mut out = Vec::new();
    for p in topic.partitions().unwrap() {
        for batch in p.read(0, usize::MAX).unwrap() {
            for r in batch.records() {
                out.push(String::from_utf8(r.value.to_vec()).unwrap());
            }
        }
    }
    out.sort();
    out
}

fn state(dir: &Path, service: &str, name: &str) -> BTreeMap<String, Value> {
    let store = StateStore::open(&dir.join("state")).unwrap();
    store
        .list(service, name)
        .map(|e| {
            let (k, v) = e.unwrap();
            (String::from_utf8(k.to_vec()).unwrap(), serde_json::from_slice(v.as_bytes()).unwrap())
        })
        .collect()
}

fn events(count: u64) -> Vec<String> {
    (0..count)
        .map(|id| format!(r#"{{"id":{id},"k":"k{}","v":{}}}"#, (id * 7919) % 50, (id * 31) % 97))
        .collect()
}

#[test]
fn components_compute_what_the_same_dataflow_in_cel_computes() {
    let input = events(20_000);
    let wasm = wasm_dataflow();
    for workers in [1, 2] {
        let cel_dir = tempfile::tempdir().unwrap();
        let wasm_dir = tempfile::tempdir().unwrap();
        for (dir, dataflow) in [(&cel_dir, format!("{HEAD}{CEL_SERVICES}")), (&wasm_dir, wasm.clone())] {
            start(dir.path(), &dataflow, workers).unwrap(); // creates the topics
            produce(dir.path(), "events", 3, &input);
            let summary = start(dir.path(), &dataflow, workers).unwrap();
            assert_eq!(summary.dead_letters, 0, "workers = {workers}");
        }
        for topic in ["totals", "big", "windowed", "joined"] {
            let (cel, wasm) = (read_sorted(cel_dir.path(), topic), read_sorted(wasm_dir.path(), topic));
            assert!(!cel.is_empty(), "{topic} has records");
            assert_eq!(wasm, cel, "topic {topic}, workers = {workers}");
        }
        let sums = state(wasm_dir.path(), "sum", "sum-per-key");
        assert_eq!(sums.len(), 50);
        assert_eq!(sums, state(cel_dir.path(), "sum", "sum-per-key"));
    }
}

#[test]
fn a_trapping_or_endless_component_fails_only_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let dataflow = format!(
        r#"
apiVersion: 0.5.0
meta: {{name: misbehaving}}
config: {{converter: json, consumer: {{default_starting_offset: {{position: Beginning}}}}}}
topics:
  numbers: {{name: numbers, partitions: 1, schema: {{value: {{type: u64}}}}}}
  trapped: {{name: trapped, partitions: 1, schema: {{value: {{type: u64}}}}}}
  spun: {{name: spun, partitions: 1, schema: {{value: {{type: u64}}}}}}
services:
  trap:
    sources: [{{type: topic, id: numbers}}]
    transforms: [{{operator: map, component: {trap}}}]
    sinks: [{{type: topic, id: trapped}}]
  spin:
    sources: [{{type: topic, id: numbers}}]
    transforms: [{{operator: map, component: {spin}}}]
    sinks: [{{type: topic, id: spun}}]
"#,
        trap = eddy_test_guests::component("trap").display(),
        spin = eddy_test_guests::component("spin").display(),
    );
    start(dir.path(), &dataflow, 1).unwrap();
    let numbers: Vec<String> = (0..6).map(|n| n.to_string()).collect();
    produce(dir.path(), "numbers", 1, &numbers);
    let summary = start(dir.path(), &dataflow, 1).unwrap();
    assert_eq!(summary.dead_letters, 3, "0 and 1 trap, 1 spins");
    assert_eq!(read_sorted(dir.path(), "trapped"), ["2", "3", "4", "5"]);
    assert_eq!(read_sorted(dir.path(), "spun"), ["0", "2", "3", "4", "5"]);
    let dead: Vec<Value> = read_sorted(dir.path(), "misbehaving.dead-letter")
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let reasons: Vec<(String, String)> = dead
        .iter()
        .map(|d| (d["service"].as_str().unwrap().to_owned(), d["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert!(reasons.iter().all(|(_, reason)| reason.starts_with("WebAssembly: ")), "{reasons:?}");
    assert_eq!(reasons.iter().filter(|(service, _)| service == "trap").count(), 2, "{reasons:?}");
    let spun = reasons.iter().find(|(service, _)| service == "spin").unwrap();
    assert!(spun.1.contains("fuel"), "{spun:?}");
}

#[test]
fn a_component_that_does_not_fit_its_step_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let filter = eddy_test_guests::component("filter");
    let dataflow = format!("{HEAD}{CEL_SERVICES}").replace(
        r#"{operator: filter, cel: "value.v > 90"}"#,
        &format!("{{operator: map, component: {}}}", filter.display()),
    );
    let error = start(dir.path(), &dataflow, 1).unwrap_err().to_string();
    assert!(error.starts_with("services.big-ones.transforms[0]: component "), "{error}");
    assert!(error.contains("map"), "{error}");

    let missing = format!("{HEAD}{CEL_SERVICES}").replace(
        r#"{operator: filter, cel: "value.v > 90"}"#,
        "{operator: filter, component: /nowhere/f.wasm}",
    );
    let error = start(dir.path(), &missing, 1).unwrap_err().to_string();
    assert!(error.starts_with("services.big-ones.transforms[0]: component /nowhere/f.wasm"), "{error}");
}

/// Every record of `topic` in log order (for a topic of one partition).
fn read_in_order(dir: &Path, topic: &str) -> Vec<Value> {
    let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
    let topic = log.topic(topic).unwrap();
    let partition = topic.partition(0).unwrap();
    let mut out = Vec::new();
    for batch in partition.read(0, usize::MAX).unwrap() {
        for r in batch.records() {
            out.push(serde_json::from_slice(r.value).unwrap());
        }
    }
    out
}

/// Starts `dataflow` once (creating its topics), appends each of `batches` to its topic
/// `words` as one log batch (each word a JSON string), and runs it to idle.
fn run_log_batches(dir: &Path, dataflow: &str, batches: &[&[&str]]) -> RunSummary {
    start(dir, dataflow, 1).unwrap();
    {
        let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
        let partition = log.topic("words").unwrap().partition(0).unwrap();
        for words in batches {
            let records: Vec<Record> = words
                .iter()
                .map(|w| Record::new(None::<Vec<u8>>, format!("\"{w}\"").into_bytes(), 0))
                .collect();
            partition.append(records.iter().map(Record::as_ref)).unwrap();
        }
        partition.commit().unwrap();
    }
    start(dir, dataflow, 1).unwrap()
}

#[test]
fn a_batch_export_takes_the_records_of_a_log_batch_in_one_call_and_a_failure_stays_with_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let dataflow = format!(
        r#"
apiVersion: 0.5.0
meta: {{name: batches}}
config: {{converter: json, consumer: {{default_starting_offset: {{position: Beginning}}}}}}
types:
  probed: {{type: object, properties: {{value: {{type: string}}, batch: {{type: u64}}}}}}
topics:
  words: {{name: words, partitions: 1, schema: {{value: {{type: string}}}}}}
  probed: {{name: probed, partitions: 1, schema: {{value: {{type: probed}}}}}}
services:
  probe:
    sources: [{{type: topic, id: words}}]
    transforms:
      - {{operator: filter, cel: "value != 'skip'"}}
      - {{operator: map, component: {probe}}}
    sinks: [{{type: topic, id: probed}}]
"#,
        probe = eddy_test_guests::component("batch-probe").display(),
    );
    let summary = run_log_batches(
        dir.path(),
        &dataflow,
        &[&["a", "b", "err", "skip", "c"], &["d", "trap", "e"], &["f"]],
    );
    assert_eq!(summary.dead_letters, 2);
    let probed: Vec<(String, u64)> = read_in_order(dir.path(), "probed")
        .iter()
        .map(|p| (p["value"].as_str().unwrap().to_owned(), p["batch"].as_u64().unwrap()))
        .collect();
    let expected: Vec<(String, u64)> = [("a", 4), ("b", 4), ("c", 4), ("d", 1), ("e", 1), ("f", 1)]
        .iter()
        .map(|(w, n)| (w.to_string(), *n))
        .collect();
    // The first log batch is one call (the filtered record is not in it, the refused one
    // is); the second traps, so its records are run again one by one; the third is one record.
    assert_eq!(probed, expected);
    let dead: Vec<(String, String)> = read_in_order(dir.path(), "batches.dead-letter")
        .iter()
        .map(|d| (d["value"].to_string(), d["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(dead[0].0.contains("err") && dead[0].1.contains("refused on purpose"), "{dead:?}");
    assert!(dead[1].0.contains("trap") && dead[1].1.contains("trapped"), "{dead:?}");
}

#[test]
fn a_batch_export_that_breaks_the_batch_layout_fails_only_the_records_it_breaks() {
    // `echo-batch` returns its values unchanged, but gives `"outside"` a span past the end of
    // its output, and a batch starting with `"short"` one result too few.
    let dir = tempfile::tempdir().unwrap();
    let dataflow = format!(
        r#"
apiVersion: 0.5.0
meta: {{name: broken}}
config: {{converter: json, consumer: {{default_starting_offset: {{position: Beginning}}}}}}
topics:
  words: {{name: words, partitions: 1, schema: {{value: {{type: string}}}}}}
  echoed: {{name: echoed, partitions: 1, schema: {{value: {{type: string}}}}}}
services:
  echo:
    sources: [{{type: topic, id: words}}]
    transforms:
      - {{operator: map, component: {echo}}}
    sinks: [{{type: topic, id: echoed}}]
"#,
        echo = eddy_test_guests::component("echo-batch").display(),
    );
    let summary = run_log_batches(dir.path(), &dataflow, &[&["a", "outside", "b"], &["short", "c"], &["d"]]);
    assert_eq!(summary.dead_letters, 2);
    let echoed: Vec<Value> = read_in_order(dir.path(), "echoed");
    assert_eq!(echoed, ["a", "b", "c", "d"].map(Value::from));
    let dead: Vec<(Value, String)> = read_in_order(dir.path(), "broken.dead-letter")
        .iter()
        .map(|d| (d["value"].clone(), d["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert_eq!(dead[0].0, "outside");
    assert!(
        dead[0]
            .1
            .contains("malformed result for record 0 of the batch: its value, bytes 8..10 of the output"),
        "{dead:?}"
    );
    assert_eq!(dead[1].0, "short");
    assert!(dead[1].1.contains("returned 0 results for 1 records"), "{dead:?}");
}
