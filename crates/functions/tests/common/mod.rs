//! What the tests share: the Python SDK's functions on a free port, a data directory, and
//! reading topics back.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use eddy_log::{Log, Options as LogOptions, TopicConfig};
use eddy_state::StateStore;
use eddy_statefun::Module;
use eddy_types::{Record, TopicName};

/// What to install when the Python side is missing.
pub const INSTALL: &str = "pip install apache-flink-statefun aiohttp";

/// `crates/statefun/tests/python/functions.py`, served; killed when dropped.
pub struct PythonFunctions {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl PythonFunctions {
    pub fn start() -> Self {
        let check = Command::new("python3").args(["-c", "import statefun, aiohttp"]).output();
        match check {
            Err(error) => {
                panic!("python3 is needed for the Statefun SDK's functions ({error}); then: {INSTALL}")
            }
            Ok(output) if !output.status.success() => panic!(
                "the Statefun SDK is missing ({}); install it with: {INSTALL}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Ok(_) => {}
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../statefun/tests/python/functions.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("expected `PORT <n>` from {}, got `{line}`", script.display()));
        Self { child, port }
    }
}

impl Drop for PythonFunctions {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The module of the tests: the greeter and the shop, their ingress topics and egresses.
pub fn module_text(port: u16) -> String {
    format!(
        r"kind: io.statefun.endpoints.v2/http
spec:
  functions: example/*
  urlPathTemplate: http://127.0.0.1:{port}/{{function.name}}
  maxNumBatchRequests: 50
---
kind: io.statefun.endpoints.v2/http
spec:
  functions: shop/*
  urlPathTemplate: http://127.0.0.1:{port}/shop-{{function.name}}
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: example/visits
  startupPosition:
    type: earliest
  topics:
    - topic: visits
      valueType: io.statefun.types/string
      targets: [example/greeter]
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: shop/requests
  startupPosition:
    type: earliest
  topics:
    - topic: restock
      valueType: shop/Restock
      targets: [shop/inventory]
    - topic: add-to-cart
      valueType: shop/AddToCart
      targets: [shop/cart]
    - topic: checkout
      valueType: shop/Checkout
      targets: [shop/cart]
---
kind: io.statefun.kafka.v1/egress
spec:
  id: example/greetings
---
kind: io.statefun.kafka.v1/egress
spec:
  id: shop/receipts
"
    )
}

/// A module whose Kafka ingress `id` sends the records of `topic` (values of `value_type`) to
/// `target`, with the playground egress on a free port (its records go to the topics they name).
pub fn ingress_to_playground_egress(id: &str, topic: &str, value_type: &str, target: &str) -> Module {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let text = format!(
        "kind: io.statefun.kafka.v1/ingress
spec:
  id: {id}
  startupPosition:
    type: earliest
  topics:
    - topic: {topic}
      valueType: {value_type}
      targets: [{target}]
---
kind: io.statefun.playground.v1/egress
spec:
  port: {port}
"
    );
    Module::parse("module.yaml", &text).unwrap()
}

/// The log and the state store of a data directory.
pub fn open(dir: &Path) -> (Arc<Log>, Arc<StateStore>) {
    let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
    let store = StateStore::open(&dir.join("state")).unwrap();
    (Arc::new(log), Arc::new(store))
}

/// Appends keyed records to `topic` (created with `partitions` if missing) and commits them.
pub fn produce(log: &Log, topic: &str, partitions: u32, records: &[(&str, Vec<u8>)]) {
    let handle = match log.topic(topic) {
        Ok(handle) => handle,
        Err(_) => log
            .create_topic(&TopicName::new(topic).unwrap(), TopicConfig::with_partitions(partitions))
            .unwrap(),
    };
    for (key, value) in records {
        let partition = eddy_types::partition_for_key(key.as_bytes(), handle.partition_count());
        let p = handle.partition(partition).unwrap();
        p.append([Record::new(Some(key.as_bytes().to_vec()), value.clone(), 0).as_ref()]).unwrap();
        p.commit().unwrap();
    }
}

/// Every committed record of `topic` as (key, value) text, partition by partition.
pub fn read_topic(log: &Log, topic: &str) -> Vec<(String, String)> {
    let Ok(handle) = log.topic(topic) else { return Vec::new() };
    let mut records = Vec::new();
    for partition in handle.partitions().unwrap() {
        let mut next = partition.start_offset();
        while next < partition.committed_end() {
            for batch in partition.read(next, 1 << 20).unwrap() {
                for record in batch.records() {
                    if record.offset >= next {
                        let key = String::from_utf8(record.key.unwrap_or_default().to_vec()).unwrap();
                        records.push((key, String::from_utf8(record.value.to_vec()).unwrap()));
                        next = record.offset + 1;
                    }
                }
            }
        }
    }
    records
}
