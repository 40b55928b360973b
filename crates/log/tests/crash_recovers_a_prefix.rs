//! Model-based test: random operations against a `Vec` model, then a crash that truncates
//! or corrupts the last segment file at a random byte. The reopened log must hold a prefix
//! of what was committed, or, if the damage hit bytes recorded as durable, refuse to open
//! with a corruption error naming the file.

#![allow(clippy::unwrap_used)]

use std::{fs::OpenOptions, os::unix::fs::FileExt, path::PathBuf};

use eddy_log::{Error, FsyncPolicy, Log, Options, Partition, TopicConfig};
use eddy_types::{RecordRef, TopicName};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<Vec<u8>>),
    Commit,
    Sync,
    Reopen,
    /// Truncate to this fraction (per mille) of the committed end.
    Truncate(u16),
}

#[derive(Debug, Clone)]
enum Crash {
    TruncateAt(u16),
    FlipAt(u16, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 1..6).prop_map(Op::Append),
        4 => Just(Op::Commit),
        1 => Just(Op::Sync),
        1 => Just(Op::Reopen),
        1 => (0u16..=1000).prop_map(Op::Truncate),
    ]
}

fn crash() -> impl Strategy<Value = Crash> {
    prop_oneof![
        (0u16..=1000).prop_map(Crash::TruncateAt),
        ((0u16..1000), 1u8..=255).prop_map(|(at, mask)| Crash::FlipAt(at, mask)),
    ]
}

fn options() -> Options {
    Options { fsync: FsyncPolicy::Never, segment_bytes: 1 << 20, index_interval_bytes: 128 }
}

fn open(dir: &std::path::Path) -> Result<(Log, std::sync::Arc<Partition>), Error> {
    let log = Log::open(dir, options())?;
    let topic = match log.topic("t") {
        Ok(topic) => topic,
        Err(_) => {
            let config = TopicConfig { segment_bytes: Some(2048), ..TopicConfig::default() };
            log.create_topic(&TopicName::new("t").unwrap(), config)?
        }
    };
    let partition = topic.partition(0)?;
    Ok((log, partition))
}

fn read_all(partition: &Partition) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut next = partition.start_offset();
    loop {
        let batches = partition.read(next, 512).unwrap();
        if batches.is_empty() {
            return out;
        }
        for batch in &batches {
            out.extend(batch.records().filter(|r| r.offset >= next).map(|r| r.value.to_vec()));
            next = batch.next_offset();
        }
    }
}

fn last_segment(dir: &std::path::Path) -> (PathBuf, u64) {
    let partition_dir = dir.join("topics/t/0");
    let mut files: Vec<PathBuf> = std::fs::read_dir(partition_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    let last = files.pop().unwrap();
    let base = last.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    (last, base)
}

/// Bytes of the segment starting at `base` that the checkpoint records as durable.
fn durable_bytes(dir: &std::path::Path, base: u64) -> u64 {
    let buf = std::fs::read(dir.join("topics/t/0/checkpoint")).unwrap();
    let segment_base = u64::from_le_bytes(buf[0..8].try_into().unwrap());
    let position = u64::from_le_bytes(buf[8..16].try_into().unwrap());
    if segment_base == base { position } else { 0 }
}

fn run(ops: Vec<Op>, crash: Crash) {
    let dir = tempfile::tempdir().unwrap();
    let mut committed: Vec<Vec<u8>> = Vec::new();
    let mut pending: Vec<Vec<u8>> = Vec::new();
    let (mut log, mut partition) = open(dir.path()).unwrap();
    for op in ops {
        match op {
            Op::Append(values) => {
                let range = partition.append(values.iter().map(|v| RecordRef::new(None, v, 7))).unwrap();
                assert_eq!(range.start, (committed.len() + pending.len()) as u64);
                pending.extend(values);
            }
            Op::Commit => {
                let end = partition.commit().unwrap();
                committed.append(&mut pending);
                assert_eq!(end, committed.len() as u64);
            }
            Op::Sync => partition.sync().unwrap(),
            Op::Reopen => {
                drop(partition);
                drop(log);
                (log, partition) = open(dir.path()).unwrap();
                pending.clear();
            }
            Op::Truncate(per_mille) => {
                let to = committed.len() * usize::from(per_mille) / 1000;
                partition.truncate(to as u64).unwrap();
                committed.truncate(to);
                pending.clear();
            }
        }
        assert_eq!(partition.committed_end(), committed.len() as u64);
    }
    assert_eq!(read_all(&partition), committed, "before the crash");

    // Crash: the process dies (nothing more is synced), then the disk shows damage.
    std::mem::forget(partition);
    std::mem::forget(log);
    let (file, base) = last_segment(dir.path());
    let durable = durable_bytes(dir.path(), base);
    let len = std::fs::metadata(&file).unwrap().len();
    let damage_at = match crash {
        Crash::TruncateAt(per_mille) => {
            let at = len * u64::from(per_mille) / 1000;
            OpenOptions::new().write(true).open(&file).unwrap().set_len(at).unwrap();
            (at < len).then_some(at)
        }
        Crash::FlipAt(per_mille, mask) if len > 0 => {
            let at = len * u64::from(per_mille) / 1000;
            let f = OpenOptions::new().read(true).write(true).open(&file).unwrap();
            let mut byte = [0u8];
            f.read_exact_at(&mut byte, at).unwrap();
            f.write_all_at(&[byte[0] ^ mask], at).unwrap();
            Some(at)
        }
        Crash::FlipAt(..) => None,
    };

    // The crashed process's lock died with it; a new process reopens.
    std::fs::remove_file(dir.path().join("LOCK")).unwrap();
    match (open(dir.path()), damage_at) {
        (Err(Error::Corruption { file: bad, offset, .. }), Some(at)) => {
            assert!(
                at < durable,
                "damage at {at} is past the durable {durable} bytes: must recover, not fail"
            );
            assert_eq!(bad, file);
            assert!(offset <= at, "reported offset {offset} is after the damage at {at}");
        }
        (Err(other), _) => panic!("unexpected error {other} (damage {damage_at:?}, durable {durable})"),
        (Ok((_log, partition)), damage) => {
            if let Some(at) = damage {
                assert!(at >= durable, "damage at {at} inside the durable {durable} bytes went unnoticed");
            }
            let recovered = read_all(&partition);
            assert!(recovered.len() <= committed.len());
            assert_eq!(recovered[..], committed[..recovered.len()], "recovered log is not a prefix");
            assert!(recovered.len() as u64 >= base.min(committed.len() as u64), "sealed segments lost");
            if damage.is_none() {
                assert_eq!(recovered.len(), committed.len(), "undamaged log lost records");
            }
            // Still writable after recovery.
            partition.append([RecordRef::new(None, b"after", 0)]).unwrap();
            partition.commit().unwrap();
            assert_eq!(read_all(&partition).last().map(Vec::as_slice), Some(&b"after"[..]));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn reopened_log_is_a_prefix_of_what_was_committed(ops in prop::collection::vec(op(), 1..60), crash in crash()) {
        run(ops, crash);
    }
}
