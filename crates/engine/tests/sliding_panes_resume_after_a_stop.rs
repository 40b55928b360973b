//! Sliding windows kept as panes are exactly-once across restarts: readings are produced,
//! the dataflow is stopped soon after its first output commits, restarted and stopped again
//! several times, then run to idle. A pane outlives the flushes of the earlier windows
//! holding it, so a restart must flush neither a window twice nor miss one: the outputs (a
//! per-key count, and a per-window top 3 of a CEL count with `merge`) must equal a
//! reference computed in the test, and the state left must equal an uninterrupted run's.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{open, options, sorted, values};
use eddy_log::{Log, Options as LogOptions};
use eddy_state::StateStore;
use eddy_types::Record;
use serde_json::{Value, json};

const DATAFLOW: &str = r#"
apiVersion: 0.5.0
meta: {name: panes}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  reading: {type: object, properties: {sensor: {type: string}}}
  count: {type: object, properties: {key: {type: string}, count: {type: u64}, start: {type: i64}}}
  window: {type: object, properties: {start: {type: i64}, end: {type: i64}}}
  top: {type: object, properties: {rank: {type: u32}, key: {type: string}, state: {type: u64}, window: {type: window}}}
topics:
  readings: {name: readings, partitions: 3, schema: {value: {type: reading}}}
  counts: {name: counts, partitions: 2, schema: {value: {type: count}}}
  top: {name: top, partitions: 1, schema: {value: {type: top}}}
services:
  counts:
    sources: [{type: topic, id: readings}]
    states:
      n: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    window:
      sliding: {duration: 1s, slide: 100ms}
      watermark: {grace-period: 200ms}
      partition:
        assign-key: {cel: value.sensor}
        update-state: {aggregate: count}
      flush: {cel: "{'key': key, 'count': state, 'start': window.start}"}
    sinks: [{type: topic, id: counts}]
  top:
    sources: [{type: topic, id: readings}]
    states:
      n: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    window:
      sliding: {duration: 1s, slide: 100ms}
      watermark: {grace-period: 200ms}
      partition:
        assign-key: {cel: value.sensor}
        update-state: {cel: state + 1}
      merge: {cel: state + other}
      flush: {per: window, aggregate: top-k, k: 3, by: state}
    sinks: [{type: topic, id: top}]
"#;

const READINGS: u64 = 60_000;
const KEYS: u64 = 23;
const PARTITIONS: u64 = 3;
const SIZE: i64 = 1000;
const SLIDE: i64 = 100;

/// Reading `i`: sensor `i·7 mod KEYS`, at about `5·i` ms, up to 150 ms out of order (less
/// than the grace period, so none is late however far the other partitions got), in
/// partition `i mod 3`. Last, one reading per partition far ahead closes every window
/// holding the others.
fn readings() -> Vec<(u32, i64, String)> {
    let mut readings: Vec<(u32, i64, String)> = (0..READINGS)
        .map(|i| {
            let time = i as i64 * 5 + ((i * 37) % 16) as i64 * 10;
            ((i % PARTITIONS) as u32, time, format!("s{}", (i * 7) % KEYS))
        })
        .collect();
    let end = READINGS as i64 * 5 + 10_000;
    readings.extend((0..PARTITIONS).map(|p| (p as u32, end, format!("s{p}"))));
    readings
}

/// What the two services must output: every window's count per key, and its top 3.
fn reference(readings: &[(u32, i64, String)]) -> (Vec<String>, Vec<String>) {
    let closed_through = readings.iter().map(|r| r.1).max().unwrap_or(0) - 200;
    let mut windows: BTreeMap<(i64, i64), BTreeMap<String, u64>> = BTreeMap::new();
    for (_, time, sensor) in readings {
        let last = time.div_euclid(SLIDE) * SLIDE;
        for back in 0..SIZE / SLIDE {
            let start = last - back * SLIDE;
            if start + SIZE <= closed_through {
                *windows.entry((start, start + SIZE)).or_default().entry(sensor.clone()).or_default() += 1;
            }
        }
    }
    let (mut counts, mut top) = (Vec::new(), Vec::new());
    for ((start, end), keys) in &windows {
        for (key, count) in keys {
            counts.push(json!({"key": key, "count": count, "start": start}));
        }
        let mut ranked: Vec<(&String, &u64)> = keys.iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        for (rank, (key, count)) in ranked.into_iter().take(3).enumerate() {
            let window = json!({"start": start, "end": end});
            top.push(json!({"rank": rank + 1, "key": key, "state": count, "window": window}));
        }
    }
    (sorted(counts), sorted(top))
}

/// Asserts two sorted lists are equal, showing what is missing and what is extra.
fn assert_same(actual: &[String], expected: &[String], what: &str) {
    let missing: Vec<&String> =
        expected.iter().filter(|e| actual.binary_search(e).is_err()).take(5).collect();
    let extra: Vec<&String> = actual.iter().filter(|a| expected.binary_search(a).is_err()).take(5).collect();
    assert!(
        actual == expected,
        "{what}: {} records, {} expected; missing {missing:?}, extra {extra:?}",
        actual.len(),
        expected.len()
    );
}

fn plan() -> eddy_dataflow::Plan {
    eddy_dataflow::parse(DATAFLOW, "panes.yaml").unwrap().1
}

/// Creates the topics and produces every reading.
fn prepare(dir: &Path, workers: usize, readings: &[(u32, i64, String)]) {
    let (log, store) = open(dir);
    eddy_engine::start(&plan(), log, store, &options(workers, true)).unwrap().wait().unwrap();
    let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
    let topic = log.topic("readings").unwrap();
    for (partition, time, sensor) in readings {
        let value = json!({"sensor": sensor}).to_string().into_bytes();
        topic
            .partition(*partition)
            .unwrap()
            .append([Record::new(None::<Vec<u8>>, value, *time).as_ref()])
            .unwrap();
    }
    for partition in topic.partitions().unwrap() {
        partition.commit().unwrap();
    }
}

/// Every entry of both services' state, the engine's own (`~…`) included.
fn state(dir: &Path) -> BTreeMap<(String, String), Value> {
    let store = StateStore::open(&dir.join("state")).unwrap();
    let mut state = BTreeMap::new();
    for service in ["counts", "top"] {
        for entry in store.list(service, "n") {
            let (key, value) = entry.unwrap();
            let key = String::from_utf8(key.to_vec()).unwrap();
            state.insert((service.to_owned(), key), serde_json::from_slice(&value).unwrap());
        }
    }
    state
}

#[test]
fn sliding_panes_stopped_and_restarted_flush_every_window_exactly_once() {
    let readings = readings();
    let (counts, top) = reference(&readings);
    assert!(
        counts.len() > 10_000 && top.len() > 1000,
        "the reference has windows: {} {}",
        counts.len(),
        top.len()
    );
    for workers in [1, 2] {
        let uninterrupted = tempfile::tempdir().unwrap();
        prepare(uninterrupted.path(), workers, &readings);
        let (log, store) = open(uninterrupted.path());
        eddy_engine::start(&plan(), log, store, &options(workers, true)).unwrap().wait().unwrap();
        let what = format!("uninterrupted, {workers} workers");
        assert_same(&values(uninterrupted.path(), "counts"), &counts, &what);
        assert_same(&values(uninterrupted.path(), "top"), &top, &what);

        let dir = tempfile::tempdir().unwrap();
        prepare(dir.path(), workers, &readings);
        let total = 2 * readings.len() as u64;
        let mut read = Vec::new();
        for _ in 0..5 {
            read.push(common::run_and_stop(dir.path(), &plan(), workers, &["counts", "top"]).records_read);
        }
        assert!(read[0] < total, "the first run stopped before the end ({read:?} of {total})");
        let (log, store) = open(dir.path());
        let last = eddy_engine::start(&plan(), log, store, &options(workers, true)).unwrap().wait().unwrap();
        read.push(last.records_read);
        assert_eq!(read.iter().sum::<u64>(), total, "every record read once by each service: {read:?}");
        assert_eq!(last.dead_letters, 0);
        eprintln!("{workers} workers: records read per run: {read:?}");

        assert_same(&values(dir.path(), "counts"), &counts, &format!("per-key flushes, {workers} workers"));
        assert_same(&values(dir.path(), "top"), &top, &format!("per-window flushes, {workers} workers"));
        let left = state(dir.path());
        assert!(
            left.keys().any(|(_, key)| key.starts_with("~flushed/")),
            "the last readings' keys keep the end of their last closed window: {left:?}"
        );
        assert_eq!(left, state(uninterrupted.path()), "state left, {workers} workers");
    }
}
