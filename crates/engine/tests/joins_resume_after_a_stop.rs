//! Joins are exactly-once across restarts: events are produced, the dataflow is stopped
//! soon after its first output commits, restarted and stopped again several times, then run
//! to idle. The join outputs (unwindowed: a person's latest row with every auction they
//! sell; windowed: persons with each seller's first auction in the same second) and the
//! join state left must equal a reference computed in the test: no pair lost or doubled.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap};

use common::{open, options, sorted, values};
use eddy_log::{Log, Options as LogOptions};
use eddy_state::StateStore;
use eddy_types::Record;
use serde_json::{Value, json};

const DATAFLOW: &str = r#"
apiVersion: 0.5.0
meta: {name: joins}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  event: {type: object, properties: {kind: {type: u32}}}
  pair: {type: object, properties: {key: {type: string}}}
topics:
  events: {name: events, partitions: 3, schema: {value: {type: event}}}
  q3-out: {name: q3-out, partitions: 2, schema: {value: {type: pair}}}
  q8-out: {name: q8-out, partitions: 2, schema: {value: {type: pair}}}
services:
  q3:
    sources: [{type: topic, id: events}]
    join:
      left: {name: person, when: {cel: value.kind == 0}, key: {cel: value.id}, keep: last}
      right: {name: auction, when: {cel: value.kind == 1}, key: {cel: value.seller}}
      emit: {cel: "{'key': key, 'name': person.name, 'auction': auction.id}"}
    sinks: [{type: topic, id: q3-out}]
  q8:
    sources: [{type: topic, id: events}]
    window:
      tumbling: {duration: 1s}
    join:
      left: {name: person, when: {cel: value.kind == 0}, key: {cel: value.id}}
      right: {name: auction, when: {cel: value.kind == 1}, key: {cel: value.seller}, keep: first}
      emit: {cel: "{'key': key, 'name': person.name, 'auction': auction.id, 'start': window.start}"}
    sinks: [{type: topic, id: q8-out}]
"#;

const EVENTS: u64 = 20_000;
const KEYS: u64 = 40;
const PARTITIONS: u64 = 3;

/// Event `i`: a person (id `i/3 mod KEYS`), an auction (seller `i/7 + i mod KEYS`) or a bid
/// (no side), in the partition of its join key, with timestamps rising by 10 ms. Last, one
/// event per partition far ahead closes every window.
fn events() -> Vec<(u32, i64, Value)> {
    let mut events: Vec<(u32, i64, Value)> = (0..EVENTS)
        .map(|i| {
            let timestamp = i as i64 * 10;
            match i % 10 {
                0 | 1 => {
                    let id = (i / 3) % KEYS;
                    (
                        (id % PARTITIONS) as u32,
                        timestamp,
                        json!({"kind": 0, "id": id, "name": format!("p{i}")}),
                    )
                }
                2..=5 => {
                    let seller = (i / 7 + i) % KEYS;
                    ((seller % PARTITIONS) as u32, timestamp, json!({"kind": 1, "id": i, "seller": seller}))
                }
                _ => ((i % PARTITIONS) as u32, timestamp, json!({"kind": 2, "auction": i})),
            }
        })
        .collect();
    let end = EVENTS as i64 * 10 + 10_000;
    events.extend((0..PARTITIONS).map(|p| (p as u32, end, json!({"kind": 9}))));
    events
}

/// What the two joins must output, and the unwindowed join's state per key.
fn reference(events: &[(u32, i64, Value)]) -> (Vec<String>, Vec<String>, BTreeMap<String, Value>) {
    // Every key's events are in one partition, so each key sees them in production order.
    let mut q3 = Vec::new();
    let mut state: BTreeMap<String, (Option<Value>, Vec<Value>)> = BTreeMap::new();
    let mut windows: BTreeMap<(i64, String), (Vec<Value>, Option<Value>)> = BTreeMap::new();
    for (_, timestamp, event) in events {
        let row = json!({"timestamp": timestamp, "value": event});
        let window = timestamp - timestamp.rem_euclid(1000);
        match event["kind"].as_u64() {
            Some(0) => {
                let key = event["id"].to_string();
                let entry = state.entry(key.clone()).or_default();
                for auction in &entry.1 {
                    q3.push(json!({"key": key, "name": event["name"], "auction": auction["value"]["id"]}));
                }
                entry.0 = Some(row);
                windows.entry((window, key)).or_default().0.push(event.clone());
            }
            Some(1) => {
                let key = event["seller"].to_string();
                let entry = state.entry(key.clone()).or_default();
                if let Some(person) = &entry.0 {
                    q3.push(json!({"key": key, "name": person["value"]["name"], "auction": event["id"]}));
                }
                entry.1.push(row);
                windows.entry((window, key)).or_default().1.get_or_insert_with(|| event.clone());
            }
            _ => {}
        }
    }
    let mut q8 = Vec::new();
    for ((start, key), (persons, auction)) in &windows {
        for person in persons {
            if let Some(auction) = auction {
                q8.push(
                    json!({"key": key, "name": person["name"], "auction": auction["id"], "start": start}),
                );
            }
        }
    }
    let state = state
        .into_iter()
        .map(|(key, (person, auctions))| {
            (key, json!({"left": person.into_iter().collect::<Vec<_>>(), "right": auctions}))
        })
        .collect();
    (sorted(q3), sorted(q8), state)
}

#[test]
fn joins_stopped_and_restarted_emit_every_pair_exactly_once() {
    let events = events();
    let (q3, q8, q3_state) = reference(&events);
    assert!(q3.len() > 1000 && q8.len() > 100, "the reference has pairs to lose: {} {}", q3.len(), q8.len());
    for workers in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let (_, plan) = eddy_dataflow::parse(DATAFLOW, "joins.yaml").unwrap();
        let (log, store) = open(dir.path());
        eddy_engine::start(&plan, log, store, &options(workers, true)).unwrap().wait().unwrap();
        {
            let log = Log::open(dir.path().join("log"), LogOptions::default()).unwrap();
            let topic = log.topic("events").unwrap();
            for (partition, timestamp, value) in &events {
                let p = topic.partition(*partition).unwrap();
                p.append([Record::new(None::<Vec<u8>>, value.to_string().into_bytes(), *timestamp).as_ref()])
                    .unwrap();
            }
            for p in topic.partitions().unwrap() {
                p.commit().unwrap();
            }
        }
        let total = 2 * events.len() as u64;
        let mut read = Vec::new();
        for _ in 0..4 {
            read.push(common::run_and_stop(dir.path(), &plan, workers, &["q3-out", "q8-out"]).records_read);
        }
        assert!(read[0] < total, "the first run stopped before the end ({read:?} of {total})");
        let (log, store) = open(dir.path());
        let last = eddy_engine::start(&plan, log, store, &options(workers, true)).unwrap().wait().unwrap();
        read.push(last.records_read);
        assert_eq!(read.iter().sum::<u64>(), total, "every record read once by each service: {read:?}");
        assert_eq!(last.dead_letters, 0);
        eprintln!("{workers} workers: records read per run: {read:?}");

        assert_eq!(values(dir.path(), "q3-out"), q3, "unwindowed join, {workers} workers");
        assert_eq!(values(dir.path(), "q8-out"), q8, "windowed join, {workers} workers");
        let store = StateStore::open(&dir.path().join("state")).unwrap();
        let state: BTreeMap<String, Value> = store
            .list("q3", "join")
            .map(|entry| {
                let (key, value) = entry.unwrap();
                (String::from_utf8(key.to_vec()).unwrap(), serde_json::from_slice(&value).unwrap())
            })
            .collect();
        assert_eq!(state, q3_state, "join state, {workers} workers");
        let open_windows: HashMap<String, Value> = store
            .list("q8", "join")
            .map(|entry| {
                let (key, value) = entry.unwrap();
                (String::from_utf8(key.to_vec()).unwrap(), serde_json::from_slice(&value).unwrap())
            })
            .filter(|(key, _)| !key.starts_with('~'))
            .collect();
        assert!(open_windows.is_empty(), "every window closed and was deleted: {open_windows:?}");
    }
}
