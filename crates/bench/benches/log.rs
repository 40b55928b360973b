//! Append and read throughput of the embedded log, with 100-byte values.
//!
//! `cargo bench -p eddy-bench --bench log`

#![allow(missing_docs)]

use eddy_bench as _;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use eddy_log::{FsyncPolicy, Log, Options, TopicConfig};
use eddy_types::{RecordRef, TopicName};

const VALUE_LEN: usize = 100;
const BATCH: usize = 4096;

fn values() -> Vec<Vec<u8>> {
    (0..BATCH).map(|i| format!("{i:0>width$}", width = VALUE_LEN).into_bytes()).collect()
}

fn append(c: &mut Criterion) {
    let values = values();
    let mut group = c.benchmark_group("log/append");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.measurement_time(Duration::from_secs(5));
    for (label, fsync) in [
        ("fsync-10ms", FsyncPolicy::Interval(Duration::from_millis(10))),
        ("fsync-every-commit", FsyncPolicy::EveryCommit),
        ("no-fsync", FsyncPolicy::Never),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = Log::open(dir.path(), Options { fsync, ..Options::default() }).expect("open");
        let topic =
            log.create_topic(&TopicName::new("bench").expect("name"), TopicConfig::default()).expect("topic");
        let partition = topic.partition(0).expect("partition");
        // One batch of 4096 records of 100 bytes per commit, as a producer or an epoch would.
        group.bench_function(format!("{label}/batch-{BATCH}x{VALUE_LEN}B"), |b| {
            b.iter(|| {
                partition
                    .append(values.iter().map(|v| RecordRef::new(None, v, 1_700_000_000_000)))
                    .expect("append");
                partition.commit().expect("commit")
            })
        });
    }
    group.finish();
}

fn read(c: &mut Criterion) {
    const RECORDS: u64 = 1_000_000;
    let values = values();
    let dir = tempfile::tempdir().expect("temp dir");
    let log = Log::open(dir.path(), Options::default()).expect("open");
    let topic =
        log.create_topic(&TopicName::new("bench").expect("name"), TopicConfig::default()).expect("topic");
    let partition = topic.partition(0).expect("partition");
    while partition.committed_end() < RECORDS {
        partition.append(values.iter().map(|v| RecordRef::new(None, v, 1_700_000_000_000))).expect("append");
        partition.commit().expect("commit");
    }
    partition.truncate(RECORDS).expect("truncate");
    let mut group = c.benchmark_group("log/read");
    group.throughput(Throughput::Elements(RECORDS));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function(format!("{RECORDS}x{VALUE_LEN}B/1MiB-reads"), |b| {
        b.iter_batched(
            || (),
            |()| {
                let mut next = 0;
                let mut bytes = 0usize;
                while next < RECORDS {
                    for batch in partition.read(next, 1 << 20).expect("read") {
                        for record in batch.records() {
                            bytes += record.value.len();
                        }
                        next = batch.next_offset();
                    }
                }
                bytes
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, append, read);
criterion_main!(benches);
