//! A join dataflow run by `eddy run`: its pairs reach the sink topic, and
//! `eddy state list <service> join` shows each key's rows, through the running process
//! and from the store once it stopped.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::Eddy;

const DATAFLOW: &str = r#"
apiVersion: 0.5.0
meta: {name: shop}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  event: {type: object, properties: {kind: {type: u32}}}
  pair: {type: object, properties: {name: {type: string}, auction: {type: u64}}}
topics:
  events: {name: events, partitions: 1, schema: {value: {type: event}}}
  q3-out: {name: q3-out, partitions: 1, schema: {value: {type: pair}}}
services:
  q3:
    sources: [{type: topic, id: events}]
    join:
      left: {name: person, when: {cel: value.kind == 0}, key: {cel: value.id}, keep: last}
      right: {name: auction, when: {cel: value.kind == 1}, key: {cel: value.seller}}
      emit: {cel: "{'name': person.name, 'auction': auction.id}"}
    sinks: [{type: topic, id: q3-out}]
"#;

const EVENTS: &str = r#"{"kind": 0, "id": 1, "name": "ann"}
{"kind": 1, "id": 10, "seller": 1}
{"kind": 1, "id": 11, "seller": 2}
{"kind": 0, "id": 1, "name": "ann2"}
"#;

const STATE: &str = r#"1 {"left":[{"timestamp":0,"value":{"id":1,"kind":0,"name":"ann2"}}],"right":[{"timestamp":0,"value":{"id":10,"kind":1,"seller":1}}]}
2 {"left":[],"right":[{"timestamp":0,"value":{"id":11,"kind":1,"seller":2}}]}
"#;

/// `state list` output with every row's timestamp (the produce time) set to 0.
fn without_timestamps(bytes: Vec<u8>) -> String {
    let mut out = String::new();
    for line in String::from_utf8(bytes).unwrap().lines() {
        let (key, json) = line.split_once(' ').unwrap();
        let mut state: serde_json::Value = serde_json::from_str(json).unwrap();
        for side in ["left", "right"] {
            for row in state[side].as_array_mut().unwrap() {
                assert!(row["timestamp"].as_i64().unwrap() > 0, "{line}");
                row["timestamp"] = 0.into();
            }
        }
        out.push_str(&format!("{key} {state}\n"));
    }
    out
}

/// Stops `eddy run` with Ctrl-C (SIGINT), which commits its last epoch.
fn interrupt(child: &mut std::process::Child) {
    let interrupted = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(interrupted.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "eddy run ended with {status}");
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("eddy run did not stop after SIGINT");
}

#[test]
fn a_join_emits_its_pairs_and_lists_its_state() {
    let eddy = Eddy::new();
    eddy.create_topic("events", 1);
    eddy.produce("events", &[], EVENTS.as_bytes());
    let flow = eddy.scratch("shop.yaml");
    std::fs::write(&flow, DATAFLOW).unwrap();
    let mut child = eddy.command(&["run", flow.to_str().unwrap()]).stdout(Stdio::null()).spawn().unwrap();

    // Until `eddy run` serves the directory, a command would open it itself and hold its lock.
    let socket = eddy.data_dir().join("eddy.sock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "eddy run does not serve the data directory");
        thread::sleep(Duration::from_millis(5));
    }
    let expected_pairs = "{\"auction\":10,\"name\":\"ann\"}\n{\"auction\":10,\"name\":\"ann2\"}\n";
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut pairs = String::new();
    while Instant::now() < deadline {
        // Through the running process; the pairs are visible once their epoch commits.
        let output = eddy.run(&["consume", "q3-out", "-B", "-d"], b"");
        pairs = String::from_utf8_lossy(&output.stdout).into_owned();
        if pairs == expected_pairs {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let listed = eddy.run(&["state", "list", "q3", "join"], b"");
    let unknown = eddy.run(&["state", "list", "q3", "counts"], b"");
    interrupt(&mut child);
    assert_eq!(pairs, expected_pairs);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    assert_eq!(without_timestamps(listed.stdout), STATE, "through the running process");
    assert_eq!(String::from_utf8_lossy(&unknown.stderr), "error: service 'q3' has no state 'counts'\n");
    assert_eq!(without_timestamps(eddy.ok(&["state", "list", "q3", "join"])), STATE, "from the store");
}
