//! Watermark alignment (`watermark: {max-drift}`): a partition far ahead in event time waits
//! while a slower one is still being read, instead of opening windows the watermark cannot
//! close; the results are those of the windows alone, with 1 and 2 workers.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use eddy_engine::Options;
use eddy_log::{Log, Options as LogOptions};
use eddy_state::StateStore;
use eddy_types::{RecordRef, TopicName};
use serde_json::Value;

const DATAFLOW: &str = r#"
apiVersion: 0.5.0
meta: {name: aligned}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  reading: {type: object, properties: {sensor: {type: string}, ts: {type: i64}}}
  count: {type: object, properties: {sensor: {type: string}, count: {type: u64}}}
topics:
  readings: {name: readings, partitions: 2, schema: {value: {type: reading}}}
  counts: {name: counts, partitions: 1, schema: {value: {type: count}}}
services:
  count:
    sources: [{type: topic, id: readings}]
    states:
      per-sensor: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    window:
      tumbling: {duration: 10s}
      watermark: {max-drift: 5s, idleness: 1ms}
      assign-timestamp: {cel: value.ts}
      partition:
        assign-key: {cel: value.sensor}
        update-state: {cel: state + 1}
      flush: {cel: "{'sensor': key, 'count': state}"}
    sinks: [{type: topic, id: counts}]
"#;

/// Partition 0: one reading of `slow` per second of event time from 0.
const SLOW: u64 = 200_000;
/// Partition 1: one reading of `fast` per second, a billion seconds ahead.
const FAST: u64 = 5_000;
const AHEAD_MS: i64 = 1_000_000_000_000;

fn produce(dir: &Path) {
    let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
    let topic = log
        .create_topic(&TopicName::new("readings").unwrap(), eddy_log::TopicConfig::with_partitions(2))
        .unwrap();
    for (partition, sensor, count, start) in [(0, "slow", SLOW, 0), (1, "fast", FAST, AHEAD_MS)] {
        let values: Vec<String> = (0..count)
            .map(|i| format!(r#"{{"sensor":"{sensor}","ts":{}}}"#, start + i as i64 * 1000))
            .collect();
        let p = topic.partition(partition).unwrap();
        for batch in values.chunks(10_000) {
            p.append(batch.iter().map(|v| RecordRef::new(None, v.as_bytes(), 0))).unwrap();
            p.commit().unwrap();
        }
    }
}

#[test]
fn a_partition_ahead_waits_for_the_slowest_and_the_counts_are_exact() {
    for workers in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        produce(dir.path());
        let (_, plan) = eddy_dataflow::parse(DATAFLOW, "aligned.yaml").unwrap();
        let log = Arc::new(Log::open(dir.path().join("log"), LogOptions::default()).unwrap());
        let store = Arc::new(StateStore::open(&dir.path().join("state")).unwrap());
        let options = Options {
            workers,
            until_idle: true,
            commit_interval: Some(Duration::from_millis(5)),
            ..Options::default()
        };
        let running = eddy_engine::start(&plan, Arc::clone(&log), Arc::clone(&store), &options).unwrap();
        // Watches the committed positions: the fast partition first, so that a slow one
        // read after it is at least as far as it was at the same commit.
        let done = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (store, done) = (Arc::clone(&store), Arc::clone(&done));
            std::thread::spawn(move || {
                let (mut seen, mut most_fast_while_slow) = (0, 0);
                while !done.load(Ordering::Acquire) {
                    let fast = store.source_offset("count", "readings", 1).unwrap().unwrap_or(0);
                    let slow = store.source_offset("count", "readings", 0).unwrap().unwrap_or(0);
                    if slow > 0 && slow < SLOW {
                        seen += 1;
                        most_fast_while_slow = most_fast_while_slow.max(fast);
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
                (seen, most_fast_while_slow)
            })
        };
        let summary = running.wait().unwrap();
        done.store(true, Ordering::Release);
        let (seen, most_fast_while_slow) = watcher.join().unwrap();
        assert_eq!(summary.records_read, SLOW + FAST);
        assert!(seen > 0, "no commit seen while the slow partition was being read ({workers} workers)");
        // What the fast partition takes before it first waits: one slice of a batch.
        assert!(
            most_fast_while_slow <= 1024,
            "the fast partition was read to {most_fast_while_slow} while the slow one was not done ({workers} \
             workers)"
        );

        let mut counted: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let counts = log.topic("counts").unwrap();
        for p in counts.partitions().unwrap() {
            for batch in p.read(0, usize::MAX).unwrap() {
                for record in batch.records() {
                    let value: Value = serde_json::from_slice(record.value).unwrap();
                    let entry = counted.entry(value["sensor"].as_str().unwrap().to_owned()).or_default();
                    entry.0 += 1;
                    entry.1 += value["count"].as_u64().unwrap();
                }
            }
        }
        // Every reading is counted once: in a window emitted, or in the one still open (the
        // last of each sensor may be: the final watermark is the last event time read,
        // with 1 worker as with 2, once every partition is idle).
        for (key, value) in store.list("count", "per-sensor").map(Result::unwrap) {
            let key = String::from_utf8(key.to_vec()).unwrap();
            let Some(sensor) = key.rsplit('/').next().filter(|_| !key.starts_with('~')) else { continue };
            let entry = counted.entry(sensor.to_owned()).or_default();
            entry.1 += serde_json::from_slice::<u64>(value.as_bytes()).unwrap();
        }
        assert_eq!(counted["slow"].1, SLOW, "{workers} workers");
        assert_eq!(counted["fast"].1, FAST, "{workers} workers");
        assert!(counted["slow"].0 >= SLOW / 10 - 1, "{workers} workers: {counted:?}");
        assert!(counted["fast"].0 >= FAST / 10 - 1, "{workers} workers: {counted:?}");
        if let Ok(late) = log.topic("aligned.late-records") {
            assert!(late.partitions().unwrap().iter().all(|p| p.committed_end() == 0), "no record is late");
        }
    }
}
