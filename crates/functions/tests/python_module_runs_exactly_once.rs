//! A Statefun module whose functions are written with the Python SDK
//! (`crates/statefun/tests/python/functions.py`), run on Eddy: ingress topics in, state in
//! the store, egress topics out, checked exactly; then run again to see the state carried on.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{PythonFunctions, module_text, open, produce, read_topic};
use eddy_functions::{Options, storage};
use eddy_statefun::{Module, TypedValue};

fn until_idle() -> Options {
    Options { until_idle: true, commit_interval: std::time::Duration::from_millis(20), ..Options::default() }
}

fn string(text: &str) -> Vec<u8> {
    TypedValue::string(text).value.unwrap().to_vec()
}

#[test]
fn the_greeter_counts_visits_per_user_exactly_once_across_runs() {
    let python = PythonFunctions::start();
    let module = Module::parse("module.yaml", &module_text(python.port)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let users = ["ann", "bob", "cid", "dee", "eve"];
    // Visits per user: ann 1, bob 2, cid 3, ... (interleaved).
    let mut visits = Vec::new();
    for round in 0..users.len() {
        for (index, user) in users.iter().enumerate() {
            if round <= index {
                visits.push((*user, string(&user.to_uppercase())));
            }
        }
    }
    let expected = |runs: usize| {
        let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (index, user) in users.iter().enumerate() {
            let count = (index + 1) * runs;
            expected.insert(
                (*user).to_owned(),
                (1..=count).map(|n| format!("Hello {}, visit number {n}", user.to_uppercase())).collect(),
            );
        }
        expected
    };
    for run in 1..=2 {
        let (log, store) = open(dir.path());
        produce(&log, "visits", 3, &visits);
        let summary = eddy_functions::start(&module, Arc::clone(&log), Arc::clone(&store), until_idle())
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(summary.records_read, visits.len() as u64, "run {run}");
        assert_eq!(summary.egress_records, visits.len() as u64, "run {run}");
        let mut greetings: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in read_topic(&log, "greetings") {
            greetings.entry(key).or_default().push(value);
        }
        assert_eq!(greetings, expected(run), "run {run}: every greeting once, in order per user");
        for (index, user) in users.iter().enumerate() {
            let seen = store.get("example/greeter", "seen", user.as_bytes()).unwrap().unwrap();
            let seen = storage::decode_value(&seen).unwrap();
            assert_eq!(seen, TypedValue::int(i32::try_from((index + 1) * run).unwrap()));
        }
        // The first visit schedules a reminder (in an hour), the second cancels it: only users
        // with one visit in all have one pending.
        let pending = store.list(storage::RUNTIME_SERVICE, storage::DELAYED).count();
        assert_eq!(pending, if run == 1 { 1 } else { 0 }, "run {run}");
        assert_eq!(
            store.list(storage::RUNTIME_SERVICE, storage::INVOCATIONS).count(),
            0,
            "nothing in flight"
        );
    }
}

/// Keyed record values.
type Records = Vec<(&'static str, Vec<u8>)>;

fn json(value: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&value).unwrap()
}

#[test]
fn a_cart_and_an_inventory_message_each_other_through_the_runtime() {
    let python = PythonFunctions::start();
    let module = Module::parse("module.yaml", &module_text(python.port)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let phases: [(&str, Records); 3] = [
        (
            "restock",
            vec![
                ("apple", json(serde_json::json!({"quantity": 3}))),
                ("pear", json(serde_json::json!({"quantity": 1}))),
            ],
        ),
        (
            "add-to-cart",
            vec![
                ("ann", json(serde_json::json!({"item": "apple", "quantity": 2}))),
                ("ann", json(serde_json::json!({"item": "pear", "quantity": 1}))),
                ("ann", json(serde_json::json!({"item": "apple", "quantity": 2}))),
            ],
        ),
        ("checkout", vec![("ann", json(serde_json::json!({})))]),
    ];
    // One run per phase: topics are read independently, and each run starts from what the
    // previous one committed.
    for (topic, records) in &phases {
        let (log, store) = open(dir.path());
        produce(&log, topic, 2, records);
        eddy_functions::start(&module, log, store, until_idle()).unwrap().wait().unwrap();
    }
    let (log, store) = open(dir.path());
    // Replies from different inventory items (addresses) race each other; those of one item
    // come in the order its reservations were sent.
    let receipts = read_topic(&log, "receipts");
    let apples: Vec<&str> =
        receipts.iter().map(|(_, receipt)| receipt.as_str()).filter(|r| r.contains("apple")).collect();
    assert_eq!(apples, ["ann apple x2 IN_STOCK", "ann apple x2 OUT_OF_STOCK"]);
    let mut all = receipts.clone();
    all.sort();
    assert_eq!(
        all,
        [
            ("ann".to_owned(), "ann apple x2 IN_STOCK".to_owned()),
            ("ann".to_owned(), "ann apple x2 OUT_OF_STOCK".to_owned()),
            ("ann".to_owned(), "ann pear x1 IN_STOCK".to_owned()),
        ]
    );
    assert_eq!(read_topic(&log, "orders"), [("ann".to_owned(), "apple=2,pear=1".to_owned())]);
    let stock = |item: &str| {
        storage::decode_value(&store.get("shop/inventory", "stock", item.as_bytes()).unwrap().unwrap())
            .unwrap()
    };
    assert_eq!(stock("apple"), TypedValue::int(1));
    assert_eq!(stock("pear"), TypedValue::int(0));
    assert!(store.get("shop/cart", "basket", b"ann").unwrap().is_none(), "checkout deletes the basket");
}
