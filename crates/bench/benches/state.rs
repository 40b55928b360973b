//! The state store: an epoch commit of 100k dirty keys (16-byte keys, 8-byte values),
//! point gets, and reopening a store whose journal holds 1M unflushed writes.
//!
//! `cargo bench -p eddy-bench --bench state`

#![allow(missing_docs)]

use eddy_bench as _;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use eddy_state::{CommitBatch, StateStore};

const KEYS: u64 = 100_000;
const SERVICE: &str = "wordcount";
const STATE: &str = "counts";

/// The 16-byte key number `i`.
fn key(i: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(b"user-id:");
    key[8..].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    key
}

/// A batch of epoch `epoch` setting every key to an 8-byte value.
fn batch(epoch: u64) -> CommitBatch {
    let mut batch = CommitBatch::with_capacity(epoch, KEYS as usize + 1, KEYS as usize * 40);
    for i in 0..KEYS {
        batch.put_state(SERVICE, STATE, &key(i), &(epoch + i).to_le_bytes());
    }
    batch.set_source_offset(SERVICE, "words", 0, epoch * KEYS);
    batch
}

fn commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("state/commit");
    group.throughput(Throughput::Elements(KEYS));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));

    group.bench_function(format!("build-batch/{KEYS}x16B-keys-8B-values"), |b| b.iter(|| batch(1)));

    let dir = tempfile::tempdir().expect("temp dir");
    let store = StateStore::open(dir.path()).expect("open");
    let mut epoch = 0;
    // Building the batch is part of the engine's commit, so it is timed too.
    group.bench_function(format!("build-and-commit/{KEYS}x16B-keys-8B-values"), |b| {
        b.iter(|| {
            epoch += 1;
            store.commit(batch(epoch)).expect("commit")
        })
    });
    group.bench_function(format!("commit-only/{KEYS}x16B-keys-8B-values"), |b| {
        b.iter_batched(
            || {
                epoch += 1;
                batch(epoch)
            },
            |batch| store.commit(batch).expect("commit"),
            BatchSize::PerIteration,
        )
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("commit-only/empty", |b| {
        b.iter(|| {
            epoch += 1;
            store.commit(CommitBatch::new(epoch)).expect("commit")
        })
    });
    group.finish();
}

fn get(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = StateStore::open(dir.path()).expect("open");
    for epoch in 1..=3 {
        store.commit(batch(epoch)).expect("commit");
    }
    let mut group = c.benchmark_group("state/get");
    group.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    group.bench_function(format!("hit/{KEYS}-keys"), |b| {
        b.iter(|| {
            i = (i + 7919) % KEYS;
            store.get(SERVICE, STATE, &key(i)).expect("get").expect("present")
        })
    });
    group.bench_function(format!("miss/{KEYS}-keys"), |b| {
        b.iter(|| {
            i = (i + 7919) % KEYS;
            store.get(SERVICE, STATE, &key(KEYS + i)).expect("get")
        })
    });
    group.throughput(Throughput::Elements(KEYS));
    group.sample_size(20);
    group.bench_function(format!("list/{KEYS}-keys"), |b| {
        b.iter(|| store.list(SERVICE, STATE).map(|e| e.expect("entry").1.len()).sum::<usize>())
    });
    group.finish();
}

fn open(c: &mut Criterion) {
    const BATCHES: u64 = 10;
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let store = StateStore::open(dir.path()).expect("open");
        for epoch in 1..=BATCHES {
            store.commit(batch(epoch)).expect("commit");
        }
    }
    let mut group = c.benchmark_group("state/open");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("empty", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("temp dir"),
            |empty| {
                drop(StateStore::open(empty.path()).expect("open"));
                empty // deleted after the timing
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function(format!("journal-of-{BATCHES}x{KEYS}-writes"), |b| {
        b.iter(|| drop(StateStore::open(dir.path()).expect("open")))
    });
    group.finish();
}

criterion_group!(benches, commit, get, open);
criterion_main!(benches);
