//! Delayed messages fire: the Python SDK's `example/alarm` sends itself a message some time
//! later; it arrives after that time, once, also when the runtime stopped and started again
//! in between (the timer is durable), and a cancelled one never arrives.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{PythonFunctions, open, read_topic};
use eddy_functions::Options;
use eddy_functions::playground::invocation;
use eddy_statefun::{Module, TypedValue};

fn alarm(handle: &eddy_functions::Handle, id: &str, text: &str) {
    let value = TypedValue::string(text);
    let record = invocation(&"example/alarm".parse().unwrap(), id, &value.typename, value.value.unwrap());
    handle.produce(eddy_functions::playground::INVOCATIONS_TOPIC, 0, vec![record]).unwrap();
}

fn rings(log: &eddy_log::Log) -> Vec<String> {
    read_topic(log, "alarms").into_iter().map(|(_, value)| value).collect()
}

#[test]
fn delayed_messages_arrive_after_their_delay_across_a_restart_and_not_when_cancelled() {
    let python = PythonFunctions::start();
    let module = Module::parse(
        "module.yaml",
        &format!(
            "kind: io.statefun.endpoints.v2/http
spec:
  functions: example/*
  urlPathTemplate: http://127.0.0.1:{}/{{function.name}}
---
kind: io.statefun.playground.v1/egress
spec:
  port: {}
",
            python.port,
            std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
        ),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = || Options { commit_interval: Duration::from_millis(20), ..Options::default() };

    let (log, store) = open(dir.path());
    let running = eddy_functions::start(&module, Arc::clone(&log), Arc::clone(&store), options()).unwrap();
    let set = Instant::now();
    alarm(&running.handle(), "soon", "set 300");
    alarm(&running.handle(), "later", "set 5000");
    alarm(&running.handle(), "cancelled", "set 400");
    alarm(&running.handle(), "cancelled", "set 60000"); // replaces the 400 ms one
    while rings(&log).is_empty() {
        assert!(set.elapsed() < Duration::from_secs(20), "the 300 ms alarm never rang");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(set.elapsed() >= Duration::from_millis(300), "rang early: {:?}", set.elapsed());
    assert_eq!(rings(&log), ["ring soon"]);
    // Stop before the 5 s alarm is due; it rings in the next run.
    running.handle().shutdown();
    let summary = running.wait().unwrap();
    assert!(set.elapsed() < Duration::from_millis(5000), "the test machine is too slow to stop in time");
    assert_eq!(summary.delayed_pending, 2, "`later` and the replaced `cancelled` wait");
    drop((log, store));

    let (log, store) = open(dir.path());
    let running = eddy_functions::start(&module, Arc::clone(&log), Arc::clone(&store), options()).unwrap();
    while rings(&log).len() < 2 {
        assert!(set.elapsed() < Duration::from_secs(30), "the 5 s alarm never rang: {:?}", rings(&log));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(set.elapsed() >= Duration::from_millis(5000), "rang early: {:?}", set.elapsed());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rings(&log), ["ring soon", "ring later"], "each once; the cancelled one never");
    running.handle().shutdown();
    running.wait().unwrap();
}
