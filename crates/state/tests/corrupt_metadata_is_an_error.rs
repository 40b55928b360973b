//! Damaged entries (written behind the store's back with fjall itself, following the layout
//! in the crate docs) are reported as errors that say what is wrong, never a panic.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use eddy_state::{CommitBatch, Error, StateStore};
use fjall::{Database, KeyspaceCreateOptions, PersistMode};

/// Commits a healthy store, then writes `key = value` into keyspace `keyspace` with fjall.
fn tamper(dir: &Path, keyspace: &str, key: &[u8], value: &[u8]) {
    {
        let store = StateStore::open(dir).unwrap();
        let mut batch = CommitBatch::new(1);
        batch.put_state("svc", "st", b"k", b"v");
        batch.set_source_offset("svc", "in", 0, 5);
        batch.set_sink_end("out", 0, 9);
        store.commit(batch).unwrap();
    }
    let db = Database::builder(dir).open().unwrap();
    let keyspace = db.keyspace(keyspace, KeyspaceCreateOptions::default).unwrap();
    keyspace.insert(key, value).unwrap();
    db.persist(PersistMode::SyncAll).unwrap();
}

fn expect_corrupt<T: std::fmt::Debug>(result: eddy_state::Result<T>, what: &str) -> String {
    match result {
        Err(err @ Error::Corrupt { .. }) => {
            let Error::Corrupt { what: w, .. } = &err else { unreachable!() };
            assert!(w.contains(what), "{err}");
            err.to_string()
        }
        other => panic!("expected a corrupt {what}, got {other:?}"),
    }
}

#[test]
fn an_epoch_of_the_wrong_length_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    tamper(dir.path(), "meta", b"E", b"\x00\x01\x02");
    let store = StateStore::open(dir.path()).unwrap();
    let message = expect_corrupt(store.epoch(), "epoch");
    assert!(message.contains("expected 8 bytes, found 3"), "{message}");
    assert!(message.contains(&*dir.path().to_string_lossy()), "{message}");
    // A commit needs the last epoch, so it refuses too, and state is still readable.
    expect_corrupt(store.commit(CommitBatch::new(2)), "epoch");
    assert_eq!(store.get("svc", "st", b"k").unwrap().unwrap(), b"v");
}

#[test]
fn a_source_offset_of_the_wrong_length_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    tamper(dir.path(), "meta", b"O\x00\x03svc\x00\x02in\x00\x00\x00\x00", b"123456789");
    let store = StateStore::open(dir.path()).unwrap();
    let message = expect_corrupt(store.source_offset("svc", "in", 0), "source offset");
    assert!(message.contains("service 'svc'") && message.contains("'in' partition 0"), "{message}");
}

#[test]
fn a_sink_end_of_the_wrong_length_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    tamper(dir.path(), "meta", b"S\x00\x03out\x00\x00\x00\x00", b"");
    let store = StateStore::open(dir.path()).unwrap();
    expect_corrupt(store.sink_ends(), "sink end of topic 'out' partition 0");
}

#[test]
fn a_malformed_sink_end_key_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    tamper(dir.path(), "meta", b"S\x00\x09out", &1u64.to_be_bytes());
    let store = StateStore::open(dir.path()).unwrap();
    expect_corrupt(store.sink_ends(), "sink end key");
}

#[test]
fn a_sink_topic_name_that_is_not_utf8_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    tamper(dir.path(), "meta", b"S\x00\x01\xff\x00\x00\x00\x00", &1u64.to_be_bytes());
    let store = StateStore::open(dir.path()).unwrap();
    expect_corrupt(store.sink_ends(), "sink topic name");
}

#[test]
fn a_state_id_of_the_wrong_length_fails_the_open() {
    let dir = tempfile::tempdir().unwrap();
    tamper(dir.path(), "meta", b"N\x00\x03svc\x00\x02st", b"\x00\x01");
    let message = expect_corrupt(StateStore::open(dir.path()), "id of state 'st' of service 'svc'");
    assert!(message.contains("expected 4 bytes, found 2"), "{message}");
}

#[test]
fn a_state_id_used_twice_fails_the_open() {
    let dir = tempfile::tempdir().unwrap();
    // The healthy commit gave svc/st id 1.
    tamper(dir.path(), "meta", b"N\x00\x03svc\x00\x05other", &1u32.to_be_bytes());
    expect_corrupt(StateStore::open(dir.path()), "id of state");
}

#[test]
fn a_malformed_state_name_key_fails_the_open() {
    let dir = tempfile::tempdir().unwrap();
    tamper(dir.path(), "meta", b"N\x00\x07ab", &2u32.to_be_bytes());
    expect_corrupt(StateStore::open(dir.path()), "state name key");
}

#[test]
fn a_state_name_that_is_not_utf8_fails_the_open() {
    let dir = tempfile::tempdir().unwrap();
    tamper(dir.path(), "meta", b"N\x00\x01s\x00\x01\xfe", &2u32.to_be_bytes());
    expect_corrupt(StateStore::open(dir.path()), "state name");
}

#[test]
fn a_state_key_of_no_registered_state_is_invisible() {
    let dir = tempfile::tempdir().unwrap();
    tamper(dir.path(), "state", b"\x00\x00\x00\x09k", b"stray");
    let store = StateStore::open(dir.path()).unwrap();
    assert_eq!(store.states().unwrap(), [("svc".to_owned(), "st".to_owned())]);
    assert_eq!(store.get("svc", "st", b"k").unwrap().unwrap(), b"v");
}

#[test]
fn a_format_version_of_the_wrong_length_fails_the_open() {
    let dir = tempfile::tempdir().unwrap();
    tamper(dir.path(), "meta", b"V", b"\x01");
    expect_corrupt(StateStore::open(dir.path()), "format version");
}

#[test]
fn an_unknown_format_version_fails_the_open() {
    let dir = tempfile::tempdir().unwrap();
    tamper(dir.path(), "meta", b"V", &2u32.to_be_bytes());
    match StateStore::open(dir.path()) {
        Err(err @ Error::UnsupportedFormat { found: 2, supported: 1, .. }) => {
            assert!(err.to_string().contains("format version 2"), "{err}");
        }
        other => panic!("expected UnsupportedFormat, got {other:?}"),
    }
}

#[test]
fn a_directory_that_is_not_a_store_is_a_storage_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("version"), b"not a fjall version marker").unwrap();
    match StateStore::open(dir.path()) {
        Err(err @ Error::Storage { .. }) => {
            assert!(err.to_string().contains(&*dir.path().to_string_lossy()), "{err}");
        }
        other => panic!("expected a storage error, got {other:?}"),
    }
}
