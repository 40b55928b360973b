//! What the restart tests share: opening a data directory, engine options with a short
//! commit interval, running until new output commits and stopping, and reading a topic's
//! values back in a comparable order.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_engine::{Options, RunSummary};
use eddy_log::{Log, Options as LogOptions};
use eddy_state::StateStore;
use serde_json::Value;

pub(crate) fn open(dir: &Path) -> (Arc<Log>, Arc<StateStore>) {
    let log = Arc::new(Log::open(dir.join("log"), LogOptions::default()).unwrap());
    let store = Arc::new(StateStore::open(&dir.join("state")).unwrap());
    (log, store)
}

/// `workers` workers, epochs every 5 ms.
pub(crate) fn options(workers: usize, until_idle: bool) -> Options {
    Options { workers, until_idle, commit_interval: Some(Duration::from_millis(5)), ..Options::default() }
}

/// Runs `plan` until new output is visible in `outputs` (or briefly, when there is none to
/// come), then stops, committing one last epoch.
pub(crate) fn run_and_stop(
    dir: &Path,
    plan: &eddy_dataflow::Plan,
    workers: usize,
    outputs: &[&str],
) -> RunSummary {
    let (log, store) = open(dir);
    let before = written(&log, outputs);
    let running = eddy_engine::start(plan, Arc::clone(&log), store, &options(workers, false)).unwrap();
    let deadline = Instant::now() + Duration::from_millis(300);
    while written(&log, outputs) == before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    running.handle().shutdown();
    running.wait().unwrap()
}

/// How many records `topics` hold, committed.
fn written(log: &Log, topics: &[&str]) -> u64 {
    topics
        .iter()
        .filter_map(|name| log.topic(name).ok())
        .flat_map(|topic| topic.partitions().unwrap())
        .map(|partition| partition.committed_end())
        .sum()
}

/// JSON values as text, sorted: outputs compared without their order.
pub(crate) fn sorted(values: Vec<Value>) -> Vec<String> {
    let mut strings: Vec<String> = values.iter().map(Value::to_string).collect();
    strings.sort();
    strings
}

/// Every value of `topic`, [`sorted`].
pub(crate) fn values(dir: &Path, topic: &str) -> Vec<String> {
    let log = Log::open(dir.join("log"), LogOptions::default()).unwrap();
    let mut out = Vec::new();
    for partition in log.topic(topic).unwrap().partitions().unwrap() {
        for batch in partition.read(0, usize::MAX).unwrap() {
            for record in batch.records() {
                out.push(serde_json::from_slice::<Value>(record.value).unwrap());
            }
        }
    }
    sorted(out)
}
