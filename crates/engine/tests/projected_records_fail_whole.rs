//! A service whose steps read a few fields of a topic's records decodes only those; a record
//! that fails a step after a re-partition still goes to the dead-letter topic whole, with the
//! fields no step read, and the state holds what every other record implies.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use eddy_log::{Log, Options as LogOptions};
use eddy_types::Record;
use serde_json::{Value, json};

const DATAFLOW: &str = r#"
apiVersion: 0.5.0
meta: {name: projected}
config: {converter: json, commit-interval: 20ms, consumer: {default_starting_offset: {position: Beginning}}}
types:
  reading: {type: object, properties: {sensor: {type: string}, temp: {type: i64}, note: {type: string}}}
topics:
  readings: {name: readings, partitions: 2, schema: {value: {type: reading}}}
services:
  ratios:
    sources: [{type: topic, id: readings}]
    states:
      total: {type: keyed-state, properties: {key: {type: string}, value: {type: i64}}}
    partition:
      assign-key: {cel: value.sensor}
      update-state: {cel: "state + 100 / value.temp"}
"#;

fn read_all(dir: &Path, topic: &str) -> Vec<Value> {
    common::values(dir, topic).iter().map(|text| serde_json::from_str(text).unwrap()).collect()
}

#[test]
fn a_record_decoded_in_part_fails_whole_after_a_re_partition() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<Value> = (0..300)
        .map(|i| json!({"sensor": format!("s{}", i % 5), "temp": i % 10, "note": format!("n{i} \"q\" é")}))
        .collect();
    {
        let log = Log::open(dir.path().join("log"), LogOptions::default()).unwrap();
        let topic = log
            .create_topic(&"readings".parse().unwrap(), eddy_log::TopicConfig::with_partitions(2))
            .unwrap();
        for (i, value) in values.iter().enumerate() {
            let p = topic.partition(i as u32 % 2).unwrap();
            p.append([Record::new(None::<Vec<u8>>, value.to_string().into_bytes(), i as i64).as_ref()])
                .unwrap();
            p.commit().unwrap();
        }
    }
    let (_, plan) = eddy_dataflow::parse(DATAFLOW, "projected.yaml").unwrap();
    let (log, store) = common::open(dir.path());
    let summary = eddy_engine::start(&plan, log, Arc::clone(&store), &common::options(2, true))
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(summary.records_read, 300);

    let failed: Vec<&Value> = values.iter().filter(|v| v["temp"] == json!(0)).collect();
    let dead = read_all(dir.path(), "projected.dead-letter");
    assert_eq!(dead.len(), failed.len());
    let mut dead_values: Vec<&Value> = dead.iter().map(|d| &d["value"]).collect();
    dead_values.sort_by_key(|v| v["note"].as_str().unwrap().to_owned());
    let mut failed = failed;
    failed.sort_by_key(|v| v["note"].as_str().unwrap().to_owned());
    assert_eq!(dead_values, failed, "dead letters carry the whole record, fields no step read too");
    assert!(dead.iter().all(|d| d["reason"].as_str().unwrap().contains("Division by zero")), "{dead:?}");

    let totals: BTreeMap<String, i64> = store
        .list("ratios", "total")
        .map(|e| {
            let (k, v) = e.unwrap();
            (String::from_utf8(k.to_vec()).unwrap(), serde_json::from_slice(v.as_bytes()).unwrap())
        })
        .collect();
    let mut expected = BTreeMap::new();
    for value in values.iter().filter(|v| v["temp"] != json!(0)) {
        *expected.entry(value["sensor"].as_str().unwrap().to_owned()).or_insert(0) +=
            100 / value["temp"].as_i64().unwrap();
    }
    assert_eq!(totals, expected);
}
