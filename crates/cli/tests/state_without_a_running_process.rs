//! `eddy state get | list` with no process serving the data directory read the state
//! store that the last `eddy run` left in `<data-dir>/state`.

#![allow(clippy::unwrap_used)]

mod common;

use common::Eddy;
use eddy_state::{CommitBatch, StateStore};

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

/// Commits `entries` of state `counts` of service `counter`, as a dataflow run would.
fn commit_state(eddy: &Eddy, entries: &[(&str, &str)]) {
    let store = StateStore::open(&eddy.data_dir().join("state")).unwrap();
    let mut batch = CommitBatch::new(1);
    for (key, value) in entries {
        batch.put_state("counter", "counts", key.as_bytes(), value.as_bytes());
    }
    store.commit(batch).unwrap();
}

#[test]
fn state_is_read_from_the_store_the_last_run_left() {
    let eddy = Eddy::new();
    commit_state(
        &eddy,
        &[("bob", r#"{"count": 5}"#), ("alice", "3"), ("key with spaces", "null"), ("~event-time/0/0", "7")],
    );
    assert_eq!(text(eddy.ok(&["state", "get", "counter", "counts", "bob"])), "{\"count\":5}\n");
    assert_eq!(text(eddy.ok(&["state", "get", "counter", "counts", "key with spaces"])), "null\n");
    assert_eq!(
        text(eddy.ok(&["state", "list", "counter", "counts"])),
        "alice 3\nbob {\"count\":5}\nkey with spaces null\n"
    );
    assert_eq!(
        text(eddy.ok(&["state", "list", "counter", "counts", "--internal"])),
        "alice 3\nbob {\"count\":5}\nkey with spaces null\n~event-time/0/0 7\n",
        "the engine's own entries only when asked for"
    );
    let json = text(eddy.ok(&["state", "ls", "counter", "counts", "--format", "json"]));
    assert_eq!(json.lines().next().unwrap(), r#"{"key":"alice","value":3}"#);

    let stderr = eddy.fails(&["state", "get", "counter", "counts", "carol"]);
    assert_eq!(stderr, "error: no key 'carol' in state 'counts' of service 'counter'\n");
    let stderr = eddy.fails(&["state", "list", "counter", "sums"]);
    assert_eq!(stderr, "error: service 'counter' has no state 'sums'\n");
    let stderr = eddy.fails(&["state", "get", "ghost", "counts", "bob"]);
    assert_eq!(stderr, "error: service 'ghost' has no state 'counts'\n");
}

#[test]
fn without_a_state_store_the_commands_say_to_run_a_dataflow_first() {
    let eddy = Eddy::new();
    for args in [&["state", "list", "counter", "counts"][..], &["state", "get", "counter", "counts", "k"]] {
        let stderr = eddy.fails(args);
        assert_eq!(
            stderr,
            format!(
                "error: no state in {}: run a dataflow with `eddy run` first\n",
                eddy.data_dir().display()
            )
        );
    }
    assert!(!eddy.data_dir().join("state").exists(), "asking must not create a store");
}

#[test]
fn a_value_that_is_not_json_is_reported() {
    let eddy = Eddy::new();
    commit_state(&eddy, &[("raw", "not json")]);
    let stderr = eddy.fails(&["state", "get", "counter", "counts", "raw"]);
    assert!(stderr.contains("a value in state 'counts' of service 'counter' is not JSON"), "{stderr}");
}
