//! Native functions (Rust, in process) under the runtime: an ingress topic's records go to a
//! `forwarder` that messages a `counter` of the same id, which counts in its state and
//! reports each count through the playground egress. Counts and reports are exact, and
//! carry on across a second run.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{open, produce, read_topic};
use eddy_functions::Options;
use eddy_functions::native::{Context, Function, NativeFunctions};
use eddy_statefun::state_spec::{Expiration, StateSpec};
use eddy_statefun::{Address, Module, TypedValue};

struct Forwarder;

impl Function for Forwarder {
    fn states(&self) -> Vec<StateSpec> {
        Vec::new()
    }

    fn invoke(&self, context: &mut Context<'_>, message: TypedValue) -> Result<(), String> {
        let counter = Address::new("example/counter".parse().unwrap(), context.address().id.clone()).unwrap();
        context.send(&counter, message);
        Ok(())
    }
}

struct Counter;

impl Function for Counter {
    fn states(&self) -> Vec<StateSpec> {
        let typename = "io.statefun.types/long".to_owned();
        vec![StateSpec { name: "count".to_owned(), typename, expiration: Expiration::Never }]
    }

    fn invoke(&self, context: &mut Context<'_>, message: TypedValue) -> Result<(), String> {
        if context.caller().map(|caller| caller.function_type.to_string()) != Some("example/forwarder".into())
        {
            return Err(format!("a message not from the forwarder: {:?}", context.caller()));
        }
        let count = context.get("count").map(TypedValue::as_long).transpose().map_err(|e| e.to_string())?;
        let count = count.unwrap_or(0) + 1;
        context.set("count", TypedValue::long(count));
        let text = message.as_string().map_err(|error| error.to_string())?;
        let report = serde_json::json!({"topic": "counts", "payload": format!("{text} {count}")});
        let report = TypedValue::json("io.statefun.playground/EgressRecord", &report).unwrap();
        context.egress(&"io.statefun.playground/egress".parse().unwrap(), report);
        Ok(())
    }
}

/// Records of the topic `hits` go to `example/forwarder`; reports go out through the
/// playground egress, on a free port.
fn hits_module() -> Module {
    common::ingress_to_playground_egress(
        "example/hits",
        "hits",
        "io.statefun.types/string",
        "example/forwarder",
    )
}

#[test]
fn native_functions_count_exactly_across_runs() {
    let module = hits_module();
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..10).map(|i| format!("id{i}")).collect();
    let hits: Vec<(&str, Vec<u8>)> = (0..1000)
        .map(|i| (ids[i % 10].as_str(), TypedValue::string(&format!("hit{i}")).value.unwrap().to_vec()))
        .collect();
    let options =
        Options { until_idle: true, commit_interval: Duration::from_millis(20), ..Options::default() };
    for run in 1..=2u64 {
        let (log, store) = open(dir.path());
        produce(&log, "hits", 3, &hits);
        let functions = NativeFunctions::new()
            .with("example/forwarder".parse().unwrap(), Forwarder)
            .with("example/counter".parse().unwrap(), Counter);
        // The second run reads its ingress a few messages at a time: reading pauses while
        // three are queued for functions, and nothing is lost or repeated.
        let options = if run == 2 { Options { max_queued: 3, ..options.clone() } } else { options.clone() };
        let summary =
            eddy_functions::start_with(&module, Arc::clone(&log), Arc::clone(&store), options, |_| {
                Arc::new(functions)
            })
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(summary.records_read, 1000, "run {run}");
        assert_eq!(summary.egress_records, 1000, "run {run}");
        // Per id, the reports count up from 1 with no gap and no repeat.
        let mut per_id: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (_, report) in read_topic(&log, "counts") {
            let (hit, count) = report.rsplit_once(' ').unwrap();
            let hit: usize = hit.strip_prefix("hit").unwrap().parse().unwrap();
            per_id.entry(ids[hit % 10].clone()).or_default().push(count.parse().unwrap());
        }
        assert_eq!(per_id.len(), 10);
        for (id, counts) in &per_id {
            assert_eq!(*counts, (1..=100 * run).collect::<Vec<_>>(), "{id}, run {run}");
        }
        let stored = store.get("example/counter", "count", b"id3").unwrap().unwrap();
        let stored: serde_json::Value = serde_json::from_slice(&stored).unwrap();
        assert_eq!(stored["value"], 100 * run, "run {run}");
    }
}

/// Sends every message on to the type its text names, served or not.
struct Router;

impl Function for Router {
    fn states(&self) -> Vec<StateSpec> {
        Vec::new()
    }

    fn invoke(&self, context: &mut Context<'_>, message: TypedValue) -> Result<(), String> {
        let text = message.as_string().map_err(|error| error.to_string())?;
        let target = Address::new(text.parse().map_err(|e| format!("{e}"))?, context.address().id.clone())
            .map_err(|e| e.to_string())?;
        context.send(&target, TypedValue::string(&text));
        Ok(())
    }
}

/// Counts the messages it gets.
struct Tally;

impl Function for Tally {
    fn states(&self) -> Vec<StateSpec> {
        let typename = "io.statefun.types/long".to_owned();
        vec![StateSpec { name: "seen".to_owned(), typename, expiration: Expiration::Never }]
    }

    fn invoke(&self, context: &mut Context<'_>, _message: TypedValue) -> Result<(), String> {
        let seen = context.get("seen").map(TypedValue::as_long).transpose().map_err(|e| e.to_string())?;
        context.set("seen", TypedValue::long(seen.unwrap_or(0) + 1));
        Ok(())
    }
}

#[test]
fn messages_to_types_nothing_serves_go_to_the_dead_letter_topic_and_the_rest_goes_on() {
    let module = Module::parse(
        "module.yaml",
        "kind: io.statefun.kafka.v1/ingress
spec:
  id: example/routes
  startupPosition:
    type: earliest
  topics:
    - topic: routes
      valueType: io.statefun.types/string
      targets: [example/router]
",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (log, store) = open(dir.path());
    // Every third message names a type no function serves.
    let routes: Vec<(&str, Vec<u8>)> = (0..30)
        .map(|i| {
            let target = if i % 3 == 0 { "example/nowhere" } else { "example/tally" };
            ("a", TypedValue::string(target).value.unwrap().to_vec())
        })
        .collect();
    produce(&log, "routes", 1, &routes);
    let functions = NativeFunctions::new()
        .with("example/router".parse().unwrap(), Router)
        .with("example/tally".parse().unwrap(), Tally);
    let options =
        Options { until_idle: true, commit_interval: Duration::from_millis(20), ..Options::default() };
    let summary = eddy_functions::start_with(&module, Arc::clone(&log), Arc::clone(&store), options, |_| {
        Arc::new(functions)
    })
    .unwrap()
    .wait()
    .unwrap();
    assert_eq!(summary.dead_letters, 10);
    let stored: serde_json::Value =
        serde_json::from_slice(&store.get("example/tally", "seen", b"a").unwrap().unwrap()).unwrap();
    assert_eq!(stored["value"], 20);
    let letters = read_topic(&log, eddy_functions::DEAD_LETTER_TOPIC);
    assert_eq!(letters.len(), 10);
    for (key, letter) in letters {
        assert_eq!(key, "a");
        let letter: serde_json::Value = serde_json::from_str(&letter).unwrap();
        assert_eq!(letter["target"], "example/nowhere/a");
        assert_eq!(letter["caller"], "example/router/a");
        assert_eq!(letter["reason"], "no function of the module serves `example/nowhere`");
        assert_eq!(
            letter["message"],
            serde_json::json!({"typename": "io.statefun.types/string", "value": "example/nowhere"})
        );
    }
}

#[test]
fn metrics_count_what_a_running_module_did() {
    let module = hits_module();
    let dir = tempfile::tempdir().unwrap();
    let (log, store) = open(dir.path());
    let hits: Vec<(&str, Vec<u8>)> = (0..100)
        .map(|i| (["a", "b"][i % 2], TypedValue::string(&format!("hit{i}")).value.unwrap().to_vec()))
        .collect();
    produce(&log, "hits", 1, &hits);
    let options = Options { commit_interval: Duration::from_millis(20), ..Options::default() };
    let functions = NativeFunctions::new()
        .with("example/forwarder".parse().unwrap(), Forwarder)
        .with("example/counter".parse().unwrap(), Counter);
    let running = eddy_functions::start_with(&module, log, store, options, |_| Arc::new(functions)).unwrap();
    let metrics = Arc::clone(running.handle().metrics());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = metrics.render();
        if text.contains("eddy_functions_messages_total{function_type=\"example/counter\"} 100") {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "the counts never reached 100:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    for line in [
        "eddy_functions_ingress_records_total 100",
        "eddy_functions_egress_records_total 100",
        "eddy_functions_messages_total{function_type=\"example/forwarder\"} 100",
        "eddy_functions_queued_messages 0",
        "# EOF",
    ] {
        assert!(text.lines().any(|got| got == line), "no `{line}` in:\n{text}");
    }
    assert!(!text.contains("eddy_functions_remote_calls"), "no remote endpoint, no remote metrics:\n{text}");
    running.handle().shutdown();
    running.wait().unwrap();
}
