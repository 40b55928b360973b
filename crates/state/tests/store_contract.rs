//! The store's contract, one behaviour per test: commit and reopen, prefix isolation,
//! last-write-wins within a batch, increasing epochs, size limits, the directory lock.

#![allow(clippy::unwrap_used)]

use std::{path::Path, process::Command, sync::Arc};

use eddy_state::{CommitBatch, Error, StateStore};

fn entries(store: &StateStore, service: &str, state: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    store.list(service, state).map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect()
}

fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

#[test]
fn the_store_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<StateStore>();
    assert_send_sync::<Arc<StateStore>>();
}

#[test]
fn an_empty_store_has_epoch_zero_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(&dir.path().join("state")).unwrap();
    assert_eq!(store.epoch().unwrap(), 0);
    assert_eq!(store.get("svc", "st", b"k").unwrap(), None);
    assert!(entries(&store, "svc", "st").is_empty());
    assert!(store.states().unwrap().is_empty());
    assert_eq!(store.source_offset("svc", "t", 0).unwrap(), None);
    assert!(store.sink_ends().unwrap().is_empty());
}

#[test]
fn commit_then_reopen_sees_state_offsets_sink_ends_and_epoch() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = StateStore::open(dir.path()).unwrap();
        let mut batch = CommitBatch::new(1);
        batch.put_state("wc", "counts", b"apple", b"1");
        batch.put_state("wc", "counts", b"pear", b"2");
        batch.put_state("wc", "seen", b"apple", b"true");
        batch.set_source_offset("wc", "words", 0, 10);
        batch.set_source_offset("wc", "words", 1, 20);
        batch.set_sink_end("totals", 0, 3);
        store.commit(batch).unwrap();

        let mut batch = CommitBatch::new(2);
        batch.put_state("wc", "counts", b"apple", b"5");
        batch.delete_state("wc", "seen", b"apple");
        batch.set_source_offset("wc", "words", 0, 15);
        batch.set_sink_end("totals", 1, 4);
        store.commit(batch).unwrap();
    }
    let store = StateStore::open(dir.path()).unwrap();
    assert_eq!(store.epoch().unwrap(), 2);
    assert_eq!(store.get("wc", "counts", b"apple").unwrap().unwrap(), b"5");
    assert_eq!(store.get("wc", "seen", b"apple").unwrap(), None);
    assert_eq!(
        entries(&store, "wc", "counts"),
        [(b"apple".to_vec(), b"5".to_vec()), (b"pear".to_vec(), b"2".to_vec())]
    );
    assert_eq!(store.states().unwrap(), pairs(&[("wc", "counts")]));
    assert_eq!(store.source_offset("wc", "words", 0).unwrap(), Some(15));
    assert_eq!(store.source_offset("wc", "words", 1).unwrap(), Some(20));
    assert_eq!(store.source_offset("wc", "words", 2).unwrap(), None);
    assert_eq!(store.source_offset("other", "words", 0).unwrap(), None);
    assert_eq!(store.sink_ends().unwrap(), [("totals".to_owned(), 0, 3), ("totals".to_owned(), 1, 4)]);
}

#[test]
fn reads_see_a_commit_as_soon_as_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let mut batch = CommitBatch::new(1);
    batch.put_state("s", "t", b"k", b"v");
    assert_eq!(store.get("s", "t", b"k").unwrap(), None, "nothing is visible before commit");
    store.commit(batch).unwrap();
    assert_eq!(store.get("s", "t", b"k").unwrap().unwrap(), b"v");
    assert_eq!(store.epoch().unwrap(), 1);
}

#[test]
fn states_whose_names_share_a_prefix_do_not_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let mut batch = CommitBatch::new(1);
    batch.put_state("a", "bc", b"k1", b"a/bc");
    batch.put_state("ab", "c", b"k1", b"ab/c");
    batch.put_state("ab", "c", b"k2", b"ab/c");
    batch.put_state("a", "b", b"ck1", b"a/b");
    batch.put_state("a", "", b"bc", b"a/");
    store.commit(batch).unwrap();
    assert_eq!(entries(&store, "a", "bc"), [(b"k1".to_vec(), b"a/bc".to_vec())]);
    assert_eq!(entries(&store, "ab", "c").len(), 2);
    assert_eq!(entries(&store, "a", "b"), [(b"ck1".to_vec(), b"a/b".to_vec())]);
    assert_eq!(entries(&store, "a", ""), [(b"bc".to_vec(), b"a/".to_vec())]);
    assert!(entries(&store, "a", "bcd").is_empty());
    assert!(entries(&store, "", "abc").is_empty());
    assert_eq!(store.get("a", "bc", b"k2").unwrap(), None);
    assert_eq!(store.get("ab", "c", b"k1").unwrap().unwrap(), b"ab/c");
    assert_eq!(store.states().unwrap(), pairs(&[("a", ""), ("a", "b"), ("a", "bc"), ("ab", "c")]));
}

#[test]
fn states_lists_only_states_that_still_hold_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let mut batch = CommitBatch::new(1);
    for i in 0..1000u32 {
        batch.put_state("svc", "big", &i.to_be_bytes(), b"x");
    }
    batch.put_state("svc", "small", b"only", b"x");
    batch.put_state("other", "\u{e9}t\u{e9}", &[0xff; 3], b"x");
    store.commit(batch).unwrap();
    assert_eq!(
        store.states().unwrap(),
        pairs(&[("other", "\u{e9}t\u{e9}"), ("svc", "big"), ("svc", "small")])
    );

    let mut batch = CommitBatch::new(2);
    batch.delete_state("svc", "small", b"only");
    store.commit(batch).unwrap();
    assert_eq!(store.states().unwrap(), pairs(&[("other", "\u{e9}t\u{e9}"), ("svc", "big")]));
}

#[test]
fn within_a_batch_the_last_write_of_a_key_wins_also_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = StateStore::open(dir.path()).unwrap();
        let mut batch = CommitBatch::new(1);
        batch.put_state("s", "t", b"put-then-delete", b"1");
        batch.delete_state("s", "t", b"put-then-delete");
        batch.delete_state("s", "t", b"delete-then-put");
        batch.put_state("s", "t", b"delete-then-put", b"2");
        batch.put_state("s", "t", b"put-twice", b"first");
        batch.put_state("s", "t", b"put-twice", b"second");
        batch.set_source_offset("s", "in", 0, 1);
        batch.set_source_offset("s", "in", 0, 2);
        store.commit(batch).unwrap();
        assert_eq!(store.get("s", "t", b"put-then-delete").unwrap(), None);
        assert_eq!(store.get("s", "t", b"delete-then-put").unwrap().unwrap(), b"2");
        assert_eq!(store.get("s", "t", b"put-twice").unwrap().unwrap(), b"second");
        assert_eq!(store.source_offset("s", "in", 0).unwrap(), Some(2));
    }
    let store = StateStore::open(dir.path()).unwrap();
    assert_eq!(store.get("s", "t", b"put-then-delete").unwrap(), None);
    assert_eq!(store.get("s", "t", b"delete-then-put").unwrap().unwrap(), b"2");
    assert_eq!(store.get("s", "t", b"put-twice").unwrap().unwrap(), b"second");
    assert_eq!(store.source_offset("s", "in", 0).unwrap(), Some(2));
}

#[test]
fn empty_keys_and_values_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let mut batch = CommitBatch::new(1);
    batch.put_state("", "", b"", b"");
    store.commit(batch).unwrap();
    assert_eq!(store.get("", "", b"").unwrap().unwrap(), b"");
    assert_eq!(entries(&store, "", ""), [(vec![], vec![])]);
    assert_eq!(store.states().unwrap(), pairs(&[("", "")]));
}

#[test]
fn an_empty_batch_still_commits_its_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    store.commit(CommitBatch::new(7)).unwrap();
    assert_eq!(store.epoch().unwrap(), 7);
}

#[test]
fn a_batch_whose_epoch_is_not_after_the_last_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = StateStore::open(dir.path()).unwrap();
        store.commit(CommitBatch::new(3)).unwrap();
    }
    let store = StateStore::open(dir.path()).unwrap();
    for epoch in [0, 2, 3] {
        let mut batch = CommitBatch::new(epoch);
        batch.put_state("s", "t", b"k", b"v");
        match store.commit(batch) {
            Err(Error::EpochNotAfter { epoch: e, last: 3 }) => assert_eq!(e, epoch),
            other => panic!("expected EpochNotAfter, got {other:?}"),
        }
    }
    assert_eq!(store.get("s", "t", b"k").unwrap(), None);
    store.commit(CommitBatch::new(4)).unwrap();
    assert_eq!(store.epoch().unwrap(), 4);
}

#[test]
fn a_batch_with_an_overlong_key_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let mut batch = CommitBatch::new(1);
    batch.put_state("s", "t", b"fine", b"v");
    batch.put_state("s", "t", &vec![0; 65_532], b"v");
    let err = store.commit(batch).unwrap_err();
    assert!(matches!(err, Error::KeyTooLong { len: 65_532, limit: 65_531, .. }), "{err:?}");
    assert!(err.to_string().contains("state 't' of service 's'"), "{err}");
    assert_eq!(store.get("s", "t", b"fine").unwrap(), None);
    assert_eq!(store.epoch().unwrap(), 0);
    // The longest allowed key is fine, and reading an overlong one finds nothing.
    let mut batch = CommitBatch::new(1);
    batch.put_state("s", "t", &vec![0; 65_531], b"v");
    store.commit(batch).unwrap();
    assert_eq!(store.get("s", "t", &vec![0; 65_531]).unwrap().unwrap(), b"v");
    assert_eq!(store.get("s", "t", &vec![0; 65_532]).unwrap(), None);
    assert_eq!(store.source_offset(&"s".repeat(70_000), "t", 0).unwrap(), None);
}

#[test]
fn keys_longer_than_the_stack_buffer_are_found_too() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let mut batch = CommitBatch::new(1);
    for len in [59, 60, 61, 200] {
        batch.put_state("s", "t", &vec![b'k'; len], len.to_string().as_bytes());
    }
    store.commit(batch).unwrap();
    for len in [59, 60, 61, 200] {
        assert_eq!(store.get("s", "t", &vec![b'k'; len]).unwrap().unwrap(), len.to_string().as_bytes());
    }
    assert_eq!(store.get("s", "t", &[b'k'; 62]).unwrap(), None);
}

#[test]
fn deleting_from_a_state_that_was_never_written_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let mut batch = CommitBatch::new(1);
    batch.delete_state("never", "written", b"k");
    store.commit(batch).unwrap();
    assert!(store.states().unwrap().is_empty());
    assert_eq!(store.get("never", "written", b"k").unwrap(), None);
}

#[test]
fn a_state_emptied_and_filled_again_keeps_working_across_reopens() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = StateStore::open(dir.path()).unwrap();
        let mut batch = CommitBatch::new(1);
        batch.put_state("s", "first", b"k", b"1");
        batch.put_state("s", "second", b"k", b"2");
        store.commit(batch).unwrap();
        let mut batch = CommitBatch::new(2);
        batch.delete_state("s", "first", b"k");
        store.commit(batch).unwrap();
        assert_eq!(store.states().unwrap(), pairs(&[("s", "second")]));
    }
    let store = StateStore::open(dir.path()).unwrap();
    assert_eq!(store.states().unwrap(), pairs(&[("s", "second")]));
    let mut batch = CommitBatch::new(3);
    batch.put_state("s", "first", b"k", b"3");
    batch.put_state("s", "third", b"k", b"4");
    store.commit(batch).unwrap();
    drop(store);
    let store = StateStore::open(dir.path()).unwrap();
    assert_eq!(store.states().unwrap(), pairs(&[("s", "first"), ("s", "second"), ("s", "third")]));
    assert_eq!(store.get("s", "first", b"k").unwrap().unwrap(), b"3");
    assert_eq!(store.get("s", "second", b"k").unwrap().unwrap(), b"2");
    assert_eq!(store.get("s", "third", b"k").unwrap().unwrap(), b"4");
}

#[test]
fn list_can_run_backwards() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    let mut batch = CommitBatch::new(1);
    for key in [b"a", b"b", b"c"] {
        batch.put_state("s", "t", key, key);
    }
    store.commit(batch).unwrap();
    let keys: Vec<Vec<u8>> = store.list("s", "t").rev().map(|e| e.unwrap().0.to_vec()).collect();
    assert_eq!(keys, [b"c".to_vec(), b"b".to_vec(), b"a".to_vec()]);
}

#[test]
fn a_second_open_in_the_same_process_is_refused_as_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let store = StateStore::open(&path).unwrap();
    // Both for a fresh directory and for one with committed data.
    for round in 0..2 {
        let err = StateStore::open(&path).unwrap_err();
        assert!(matches!(&err, Error::InUse { path: p } if *p == path), "round {round}: {err:?}");
        let message = err.to_string();
        assert!(message.contains("in use") && message.contains(&*path.to_string_lossy()), "{message}");
        store.commit(CommitBatch::new(round + 1)).unwrap();
    }
    drop(store);
    let store = StateStore::open(&path).unwrap();
    assert_eq!(store.epoch().unwrap(), 2);
}

/// Child side of the next test: opens the directory in `EDDY_STATE_TEST_OPEN` and prints
/// the outcome. Does nothing in a normal test run.
#[test]
fn child_process_opens_the_store_named_in_its_environment() {
    let Some(dir) = std::env::var_os("EDDY_STATE_TEST_OPEN") else { return };
    match StateStore::open(Path::new(&dir)) {
        Ok(_) => println!("OUTCOME opened"),
        Err(Error::InUse { .. }) => println!("OUTCOME in-use"),
        Err(other) => println!("OUTCOME error {other}"),
    }
}

#[test]
fn a_second_open_from_another_process_is_refused_as_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path()).unwrap();
    store.commit(CommitBatch::new(1)).unwrap();
    let open_in_child = || {
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_process_opens_the_store_named_in_its_environment", "--nocapture"])
            .env("EDDY_STATE_TEST_OPEN", dir.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        stdout.lines().find_map(|l| l.strip_prefix("OUTCOME ")).unwrap().to_owned()
    };
    assert_eq!(open_in_child(), "in-use");
    drop(store);
    assert_eq!(open_in_child(), "opened");
}
