//! Sliding windows kept as panes give what windows updated one by one give: random
//! readings (out of order, some late, several partitions and keys) go through one dataflow
//! whose services count and sum per key in the same sliding windows, once with a CEL update
//! that has no `merge` (each record updates every window holding it) and once mergeable
//! (`aggregate: count`; a CEL sum with `merge`), which keeps panes. Their flushes and their
//! late records must be the same.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{open, options, sorted, values};
use eddy_log::{Log, Options as LogOptions};
use eddy_types::Record;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

fn dataflow(size_ms: i64, slide_ms: i64, grace_ms: i64) -> String {
    let service = |name: &str, update: &str| {
        format!(
            r#"
  {name}:
    sources: [{{type: topic, id: readings}}]
    states:
      n: {{type: keyed-state, properties: {{key: {{type: string}}, value: {{type: i64}}}}}}
    window:
      sliding: {{duration: {size_ms}ms, slide: {slide_ms}ms}}
      watermark: {{grace-period: {grace_ms}ms}}
      partition:
        assign-key: {{cel: value.sensor}}
        {update}
      flush: {{cel: "{{'key': key, 'state': state, 'start': window.start, 'end': window.end}}"}}
    sinks: [{{type: topic, id: {name}}}]"#
        )
    };
    let topics: String = ["count-each", "count-panes", "sum-each", "sum-panes"]
        .iter()
        .map(|name| format!("\n  {name}: {{name: {name}, partitions: 1, schema: {{value: {{type: out}}}}}}"))
        .collect();
    format!(
        r#"
apiVersion: 0.5.0
meta: {{name: panes}}
config: {{converter: json, consumer: {{default_starting_offset: {{position: Beginning}}}}}}
types:
  reading: {{type: object, properties: {{sensor: {{type: string}}, n: {{type: i64}}}}}}
  out: {{type: object, properties: {{key: {{type: string}}, state: {{type: i64}}, start: {{type: i64}}, end: {{type: i64}}}}}}
topics:
  readings: {{name: readings, partitions: 3, schema: {{value: {{type: reading}}}}}}{topics}
services:{}{}{}{}
"#,
        service("count-each", "update-state: {cel: state + 1}"),
        service("count-panes", "update-state: {aggregate: count}"),
        service("sum-each", "update-state: {cel: state + value.n}"),
        service("sum-panes", "update-state: {cel: state + value.n}\n      merge: {cel: state + other}"),
    )
}

/// Each late record, as the service's late records give it: where it was read and the
/// windows it missed.
fn late_records(dir: &std::path::Path) -> BTreeMap<String, Vec<String>> {
    let mut per_service: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for text in values(dir, "panes.late-records") {
        let late: Value = serde_json::from_str(&text).unwrap();
        let service = late["service"].as_str().unwrap().to_owned();
        per_service.entry(service).or_default().push(json!({
            "partition": late["partition"], "offset": late["offset"], "windows": late["windows"],
        }));
    }
    per_service.into_iter().map(|(service, late)| (service, sorted(late))).collect()
}

#[test]
fn panes_flush_what_per_window_updates_flush() {
    let shapes =
        prop::sample::select(vec![(1000_i64, 100_i64), (1000, 250), (300, 100), (600, 200), (400, 400)]);
    let reading = (0..3_u32, 0..4000_i64, 0..5_u32, -3..10_i64);
    let cases = (shapes, prop::sample::select(vec![0_i64, 150, 400]), prop::collection::vec(reading, 1..150));
    let mut runner = TestRunner::new(Config { cases: 24, ..Config::default() });
    runner
        .run(&cases, |((size_ms, slide_ms), grace_ms, readings)| {
            let source = dataflow(size_ms, slide_ms, grace_ms);
            let plan = eddy_dataflow::parse(&source, "panes.yaml").unwrap_or_else(|d| panic!("{d:?}")).1;
            let dir = tempfile::tempdir().unwrap();
            let (log, store) = open(dir.path());
            eddy_engine::start(&plan, log, store, &options(1, true)).unwrap().wait().unwrap();
            {
                let log = Log::open(dir.path().join("log"), LogOptions::default()).unwrap();
                let topic = log.topic("readings").unwrap();
                for (partition, time, sensor, n) in &readings {
                    let value = json!({"sensor": format!("s{sensor}"), "n": n}).to_string().into_bytes();
                    let partition = topic.partition(*partition).unwrap();
                    partition.append([Record::new(None::<Vec<u8>>, value, *time).as_ref()]).unwrap();
                    partition.commit().unwrap();
                }
                log.sync().unwrap();
            }
            let (log, store) = open(dir.path());
            eddy_engine::start(&plan, log, store, &options(1, true)).unwrap().wait().unwrap();

            let shape = format!("size {size_ms} ms, slide {slide_ms} ms, grace {grace_ms} ms");
            let (count_each, sum_each) = (values(dir.path(), "count-each"), values(dir.path(), "sum-each"));
            prop_assert_eq!(values(dir.path(), "count-panes"), count_each, "counts, {}", shape);
            prop_assert_eq!(values(dir.path(), "sum-panes"), sum_each, "sums, {}", shape);
            let late = late_records(dir.path());
            let none = Vec::new();
            let of = |service: &str| late.get(service).unwrap_or(&none);
            prop_assert_eq!(of("count-panes"), of("count-each"), "late records, {}", shape);
            prop_assert_eq!(of("sum-panes"), of("sum-each"), "late records, {}", shape);
            Ok(())
        })
        .unwrap();
}
