//! Model-based test: random puts, deletes, offsets, commits and reopens against `BTreeMap`
//! models. Names are picked from sets that share prefixes (`a`/`ab`, `bc`/`c`, empty), so a
//! leak between states shows. A reopen drops the batch being built, as a crash would.

#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, path::Path};

use eddy_state::{CommitBatch, StateStore};
use proptest::prelude::*;

const SERVICES: [&str; 3] = ["a", "ab", ""];
const STATES: [&str; 3] = ["bc", "c", ""];
const TOPICS: [&str; 2] = ["t", "tt"];

#[derive(Debug, Clone)]
enum Op {
    Put { service: usize, state: usize, key: Vec<u8>, value: Vec<u8> },
    Delete { service: usize, state: usize, key: Vec<u8> },
    SetSource { service: usize, topic: usize, partition: u32, next: u64 },
    SetSink { topic: usize, partition: u32, end: u64 },
    Commit,
    Reopen,
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    // A tiny alphabet (with 0x00 and 0xff) so keys collide and share prefixes.
    prop::collection::vec(prop::sample::select(vec![0u8, b'b', b'c', 0xff]), 0..4)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..3usize, 0..3usize, key(), prop::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(service, state, key, value)| Op::Put { service, state, key, value }),
        4 => (0..3usize, 0..3usize, key()).prop_map(|(service, state, key)| Op::Delete { service, state, key }),
        2 => (0..3usize, 0..2usize, 0..3u32, any::<u64>())
            .prop_map(|(service, topic, partition, next)| Op::SetSource { service, topic, partition, next }),
        2 => (0..2usize, 0..3u32, any::<u64>()).prop_map(|(topic, partition, end)| Op::SetSink { topic, partition, end }),
        3 => Just(Op::Commit),
        1 => Just(Op::Reopen),
    ]
}

#[derive(Default, Clone)]
struct Model {
    state: BTreeMap<(String, String, Vec<u8>), Vec<u8>>,
    sources: BTreeMap<(String, String, u32), u64>,
    sinks: BTreeMap<(String, u32), u64>,
    epoch: u64,
}

impl Model {
    fn apply(&mut self, op: &Op) {
        match op {
            Op::Put { service, state, key, value } => {
                self.state
                    .insert((SERVICES[*service].into(), STATES[*state].into(), key.clone()), value.clone());
            }
            Op::Delete { service, state, key } => {
                self.state.remove(&(SERVICES[*service].into(), STATES[*state].into(), key.clone()));
            }
            Op::SetSource { service, topic, partition, next } => {
                self.sources.insert((SERVICES[*service].into(), TOPICS[*topic].into(), *partition), *next);
            }
            Op::SetSink { topic, partition, end } => {
                self.sinks.insert((TOPICS[*topic].into(), *partition), *end);
            }
            Op::Commit | Op::Reopen => {}
        }
    }
}

fn record(batch: &mut CommitBatch, op: &Op) {
    match op {
        Op::Put { service, state, key, value } => {
            batch.put_state(SERVICES[*service], STATES[*state], key, value)
        }
        Op::Delete { service, state, key } => batch.delete_state(SERVICES[*service], STATES[*state], key),
        Op::SetSource { service, topic, partition, next } => {
            batch.set_source_offset(SERVICES[*service], TOPICS[*topic], *partition, *next);
        }
        Op::SetSink { topic, partition, end } => batch.set_sink_end(TOPICS[*topic], *partition, *end),
        Op::Commit | Op::Reopen => {}
    }
}

fn check(store: &StateStore, model: &Model) {
    assert_eq!(store.epoch().unwrap(), model.epoch);
    let mut states = Vec::new();
    for service in SERVICES {
        for state in STATES {
            let expected: Vec<(Vec<u8>, Vec<u8>)> = model
                .state
                .iter()
                .filter(|((s, t, _), _)| s == service && t == state)
                .map(|((_, _, k), v)| (k.clone(), v.clone()))
                .collect();
            let listed: Vec<(Vec<u8>, Vec<u8>)> = store
                .list(service, state)
                .map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap())
                .collect();
            assert_eq!(listed, expected, "list of {service:?}/{state:?}");
            for (key, value) in &expected {
                assert_eq!(store.get(service, state, key).unwrap().unwrap(), *value);
            }
            if !expected.is_empty() {
                states.push((service.to_owned(), state.to_owned()));
            }
        }
    }
    states.sort();
    assert_eq!(store.states().unwrap(), states);
    for service in SERVICES {
        for topic in TOPICS {
            for partition in 0..3 {
                let expected = model.sources.get(&(service.to_owned(), topic.to_owned(), partition)).copied();
                assert_eq!(store.source_offset(service, topic, partition).unwrap(), expected);
            }
        }
    }
    let mut sinks = store.sink_ends().unwrap();
    sinks.sort();
    let expected: Vec<(String, u32, u64)> =
        model.sinks.iter().map(|((t, p), e)| (t.clone(), *p, *e)).collect();
    assert_eq!(sinks, expected);
}

fn run(dir: &Path, ops: &[Op]) {
    let mut store = StateStore::open(dir).unwrap();
    let mut committed = Model::default();
    let mut pending = committed.clone();
    let mut batch = CommitBatch::new(1);
    for op in ops {
        match op {
            Op::Commit => {
                let next = batch.epoch() + 1;
                store.commit(std::mem::replace(&mut batch, CommitBatch::new(next))).unwrap();
                pending.epoch = next - 1;
                committed = pending.clone();
                check(&store, &committed);
            }
            Op::Reopen => {
                drop(store);
                store = StateStore::open(dir).unwrap();
                pending = committed.clone();
                batch = CommitBatch::new(committed.epoch + 1);
                check(&store, &committed);
            }
            op => {
                record(&mut batch, op);
                pending.apply(op);
            }
        }
    }
    drop(store);
    check(&StateStore::open(dir).unwrap(), &committed);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_store_matches_a_btreemap_model_across_commits_and_reopens(ops in prop::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &ops);
    }
}
