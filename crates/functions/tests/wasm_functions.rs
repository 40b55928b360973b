//! Functions as WebAssembly components (`io.eddy.endpoints.v1/wasm`) under the runtime: a
//! greeter counting per id and egressing greetings, and a pair of function types in one
//! component messaging each other, with delayed messages and a cancellation, count exactly
//! once across runs and a stop in the middle. A component that traps, loops or refuses
//! stops the runtime with a clear error, as a failing remote function does; one of another
//! world does not start.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{open, produce, read_topic};
use eddy_functions::{Error, Options};
use eddy_statefun::{Module, TypedValue};

fn module(text: &str) -> Module {
    let text = text
        .replace("{greeter}", &eddy_test_guests::component("fn-greeter").display().to_string())
        .replace("{pair}", &eddy_test_guests::component("fn-pair").display().to_string())
        .replace("{faulty}", &eddy_test_guests::component("fn-faulty").display().to_string())
        .replace("{map}", &eddy_test_guests::component("map").display().to_string());
    Module::parse("module.yaml", &text).unwrap()
}

const GREETER_AND_PAIR: &str = "kind: io.eddy.endpoints.v1/wasm
spec:
  functions: example/greeter
  component: {greeter}
---
kind: io.eddy.endpoints.v1/wasm
spec:
  functions: pair/*
  component: {pair}
  maxNumBatchRequests: 7
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: example/names
  startupPosition:
    type: earliest
  topics:
    - topic: names
      valueType: io.statefun.types/string
      targets: [example/greeter]
    - topic: bounces
      valueType: io.statefun.types/string
      targets: [pair/ping]
---
kind: io.statefun.kafka.v1/egress
spec:
  id: example/greets
---
kind: io.statefun.kafka.v1/egress
spec:
  id: pair/out
";

fn options(until_idle: bool) -> Options {
    Options {
        until_idle,
        commit_interval: Duration::from_millis(20),
        wasm: eddy_wasm::Options { fuel_per_call: 20_000_000, memory_limit: 16 << 20, ..Default::default() },
        ..Options::default()
    }
}

fn string(text: &str) -> Vec<u8> {
    TypedValue::string(text).value.unwrap().to_vec()
}

/// `rounds` greetings for each of 10 ids, and a bounce of 3 for each of 5 ids.
fn produce_round(dir: &Path, round: usize) {
    let (log, _store) = open(dir);
    let names: Vec<(String, Vec<u8>)> =
        (0..100).map(|i| (format!("user{}", i % 10), string(&format!("user{}", i % 10)))).collect();
    let names: Vec<(&str, Vec<u8>)> =
        names.iter().map(|(key, value)| (key.as_str(), value.clone())).collect();
    produce(&log, "names", 3, &names);
    let bounces: Vec<(String, Vec<u8>)> = (0..5).map(|i| (format!("r{round}-p{i}"), string("3"))).collect();
    let bounces: Vec<(&str, Vec<u8>)> =
        bounces.iter().map(|(key, value)| (key.as_str(), value.clone())).collect();
    produce(&log, "bounces", 2, &bounces);
}

fn stored_long(store: &eddy_state::StateStore, service: &str, state: &str, id: &str) -> i64 {
    let stored = store.get(service, state, id.as_bytes()).unwrap();
    let stored = stored.unwrap_or_else(|| panic!("no state `{state}` of {service}/{id}"));
    let stored: serde_json::Value = serde_json::from_slice(&stored).unwrap();
    stored["value"].as_i64().unwrap_or_else(|| panic!("{service}/{id} `{state}`: {stored}"))
}

fn check(dir: &Path, rounds: usize) {
    let (log, store) = open(dir);
    let mut greetings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, greeting) in read_topic(&log, "greetings") {
        greetings.entry(key).or_default().push(greeting);
    }
    assert_eq!(greetings.len(), 10);
    for (id, got) in &greetings {
        let expected: Vec<String> = (1..=10 * rounds).map(|n| format!("Hello {id}, #{n}")).collect();
        assert_eq!(got, &expected, "{id} after {rounds} rounds");
        assert_eq!(stored_long(&store, "example/greeter", "seen", id), 10 * rounds as i64);
    }
    let mut pairs = read_topic(&log, "pairs");
    pairs.sort();
    let mut expected: Vec<(String, String)> = (1..=rounds)
        .flat_map(|round| (0..5).map(move |i| format!("r{round}-p{i}")))
        .map(|id| (id.clone(), format!("{id} total=6")))
        .collect();
    expected.sort();
    assert_eq!(pairs, expected, "after {rounds} rounds");
    for (id, _) in &expected {
        assert_eq!(stored_long(&store, "pair/pong", "total", id), 6, "{id}");
        assert_eq!(stored_long(&store, "pair/ping", "bounces", id), 3, "{id}");
    }
}

#[test]
fn wasm_functions_count_and_message_each_other_exactly_once_across_runs() {
    let module = module(GREETER_AND_PAIR);
    let dir = tempfile::tempdir().unwrap();
    produce_round(dir.path(), 1);
    let (log, store) = open(dir.path());
    let summary = eddy_functions::start(&module, log, store, options(true)).unwrap().wait().unwrap();
    assert_eq!(summary.records_read, 105);
    // 100 greetings; per pair: ping, pong ×4, ping ×3 more, the delayed `done`.
    assert_eq!(summary.messages, 100 + 5 * 9);
    check(dir.path(), 1);

    // A run stopped at once, in the middle of its input, then one to the end.
    produce_round(dir.path(), 2);
    let (log, store) = open(dir.path());
    let running = eddy_functions::start(&module, log, store, options(false)).unwrap();
    running.handle().shutdown();
    running.wait().unwrap();
    let (log, store) = open(dir.path());
    eddy_functions::start(&module, log, store, options(true)).unwrap().wait().unwrap();
    check(dir.path(), 2);
}

const FAULTY: &str = "kind: io.eddy.endpoints.v1/wasm
spec:
  functions: example/faulty
  component: {faulty}
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: example/in
  startupPosition:
    type: earliest
  topics:
    - topic: in
      valueType: io.statefun.types/string
      targets: [example/faulty]
";

/// Runs the faulty function over `x`, then `message`, for one id; the run's error.
fn fail_with(message: &str) -> String {
    let module = module(FAULTY);
    let dir = tempfile::tempdir().unwrap();
    let (log, store) = open(dir.path());
    produce(&log, "in", 1, &[("a", string("x")), ("a", string(message))]);
    let error = eddy_functions::start(&module, log, store, options(true)).unwrap().wait().unwrap_err();
    let Error::Call { address, reason } = &error else { panic!("not a failed call: {error:?}") };
    assert_eq!(address.to_string(), "example/faulty/a");
    assert!(reason.contains("fn_faulty.wasm"), "names the component: {reason}");
    // The data directory stays usable: a second run sends the failed batch again.
    let (log, store) = open(dir.path());
    let again = eddy_functions::start(&module, log, store, options(true)).unwrap().wait().unwrap_err();
    assert_eq!(again.to_string(), error.to_string());
    error.to_string()
}

#[test]
fn a_trapping_component_stops_the_run_with_the_reason() {
    let error = fail_with("trap");
    assert!(error.contains("the component trapped"), "{error}");
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let error = fail_with("spin");
    assert!(error.contains("ran out of fuel"), "{error}");
}

#[test]
fn an_err_is_reported_as_the_component_said_it() {
    let error = fail_with("refuse");
    assert!(error.contains("refused on purpose"), "{error}");
}

#[test]
fn a_component_of_another_world_does_not_start() {
    let module = module(&FAULTY.replace("{faulty}", "{map}"));
    let dir = tempfile::tempdir().unwrap();
    let (log, store) = open(dir.path());
    let error = eddy_functions::start(&module, log, store, options(true)).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, Error::Wasm { .. }), "{error:?}");
    assert!(message.contains("guest_map.wasm"), "{message}");
    assert!(message.contains("is not a stateful function"), "{message}");
}
