//! The log's contract: append, commit, read, committed end, segments, retention, truncation,
//! recovery and ownership of the directory.

#![allow(clippy::unwrap_used)]

use std::{
    fs::OpenOptions,
    io::Write,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    time::Duration,
};

use eddy_log::{Error, FsyncPolicy, Log, Options, Partition, TopicConfig};
use eddy_types::{Header, Record, RecordRef, TopicName};

fn options() -> Options {
    Options { fsync: FsyncPolicy::Never, segment_bytes: 128 << 20, index_interval_bytes: 256 }
}

fn name(s: &str) -> TopicName {
    TopicName::new(s).unwrap()
}

fn small_segments(partitions: u32) -> TopicConfig {
    TopicConfig { segment_bytes: Some(4096), ..TopicConfig::with_partitions(partitions) }
}

fn values(partition: &Partition, from: u64) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut next = from;
    loop {
        let batches = partition.read(next, 1000).unwrap();
        if batches.is_empty() {
            return out;
        }
        for batch in &batches {
            for record in batch.records().filter(|r| r.offset >= next) {
                out.push((record.offset, record.value.to_vec()));
            }
            next = batch.next_offset();
        }
    }
}

fn append_numbered(partition: &Partition, range: std::ops::Range<u64>, per_batch: usize) {
    let lines: Vec<String> = range.map(|i| format!("record-{i:06}")).collect();
    for chunk in lines.chunks(per_batch) {
        partition.append(chunk.iter().map(|l| RecordRef::new(None, l.as_bytes(), 1_000))).unwrap();
    }
}

fn segment_files(dir: &Path, topic: &str, partition: u32) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir.join("topics").join(topic).join(partition.to_string()))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
    files.sort();
    files
}

#[test]
fn appended_records_are_invisible_until_committed() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.create_topic(&name("t"), TopicConfig::default()).unwrap().partition(0).unwrap();
    assert_eq!(p.append([RecordRef::new(None, b"a", 1), RecordRef::new(None, b"b", 2)]).unwrap(), 0..2);
    assert_eq!(p.committed_end(), 0);
    assert!(p.read(0, 1 << 20).unwrap().is_empty());
    assert_eq!(p.commit().unwrap(), 2);
    assert_eq!(p.committed_end(), 2);
    assert_eq!(values(&p, 0), vec![(0, b"a".to_vec()), (1, b"b".to_vec())]);
}

#[test]
fn offsets_are_dense_across_batches_and_reads_start_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.create_topic(&name("t"), small_segments(1)).unwrap().partition(0).unwrap();
    append_numbered(&p, 0..1000, 7);
    p.commit().unwrap();
    assert!(p.stats().segments > 1, "small segments roll");
    for from in [0, 1, 6, 7, 500, 999, 1000] {
        let got = values(&p, from);
        let expected: Vec<u64> = (from..1000).collect();
        assert_eq!(got.iter().map(|(o, _)| *o).collect::<Vec<_>>(), expected, "from {from}");
        if let Some((offset, value)) = got.first() {
            assert_eq!(value, format!("record-{offset:06}").as_bytes());
        }
    }
}

#[test]
fn keys_timestamps_and_headers_survive_a_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.create_topic(&name("t"), TopicConfig::default()).unwrap().partition(0).unwrap();
    let mut record = Record::new(Some("user-1"), "payload", 1_700_000_000_123);
    record.headers.push(Header { name: "trace-id".into(), value: "abc".into() });
    let unkeyed = Record::new(None::<&str>, "x", -5);
    p.append([record.as_ref(), unkeyed.as_ref()]).unwrap();
    p.commit().unwrap();
    let batches = p.read(0, 1 << 20).unwrap();
    let records: Vec<_> = batches.iter().flat_map(|b| b.records()).collect();
    assert_eq!(records[0].key, Some(&b"user-1"[..]));
    assert_eq!(records[0].timestamp, 1_700_000_000_123);
    assert_eq!(records[0].headers().collect::<Vec<_>>(), vec![(&b"trace-id"[..], &b"abc"[..])]);
    assert_eq!(records[1].key, None);
    assert_eq!(records[1].timestamp, -5);
}

#[test]
fn reading_outside_the_stored_range_is_an_error_naming_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.create_topic(&name("t"), TopicConfig::default()).unwrap().partition(0).unwrap();
    append_numbered(&p, 0..3, 3);
    p.commit().unwrap();
    assert!(p.read(3, 100).unwrap().is_empty(), "reading at the end is empty, not an error");
    let err = p.read(4, 100).unwrap_err();
    assert!(matches!(err, Error::OffsetOutOfRange { requested: 4, start: 0, end: 3, .. }), "{err}");
}

#[test]
fn committed_data_survives_reopen_and_appends_continue_from_the_end() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), options()).unwrap();
        let p = log.create_topic(&name("t"), small_segments(2)).unwrap().partition(1).unwrap();
        append_numbered(&p, 0..500, 10);
        p.commit().unwrap();
        p.append([RecordRef::new(None, b"never committed", 0)]).unwrap();
    }
    let log = Log::open(dir.path(), options()).unwrap();
    let topic = log.topic("t").unwrap();
    assert_eq!(topic.partition_count(), 2);
    let p = topic.partition(1).unwrap();
    assert_eq!(p.committed_end(), 500);
    append_numbered(&p, 500..510, 10);
    p.commit().unwrap();
    let got = values(&p, 0);
    assert_eq!(got.len(), 510);
    assert_eq!(got[509].1, b"record-000509");
    assert_eq!(topic.partition(0).unwrap().committed_end(), 0);
}

#[test]
fn a_torn_tail_is_truncated_and_the_log_stays_writable() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), options()).unwrap();
        let p = log.create_topic(&name("t"), TopicConfig::default()).unwrap().partition(0).unwrap();
        append_numbered(&p, 0..100, 10);
        p.commit().unwrap();
    }
    let file = segment_files(dir.path(), "t", 0).pop().unwrap();
    let len = std::fs::metadata(&file).unwrap().len();
    // A crash mid-write: half a batch of garbage after the last good batch.
    OpenOptions::new().append(true).open(&file).unwrap().write_all(&[0x55; 37]).unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.topic("t").unwrap().partition(0).unwrap();
    assert_eq!(p.committed_end(), 100);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), len);
    append_numbered(&p, 100..110, 10);
    p.commit().unwrap();
    assert_eq!(values(&p, 0).len(), 110);
}

#[test]
fn corruption_inside_the_committed_region_is_an_error_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), options()).unwrap();
        let p = log.create_topic(&name("t"), TopicConfig::default()).unwrap().partition(0).unwrap();
        append_numbered(&p, 0..100, 10);
        p.commit().unwrap();
        p.sync().unwrap();
    }
    let file = segment_files(dir.path(), "t", 0).pop().unwrap();
    let f = OpenOptions::new().write(true).open(&file).unwrap();
    f.write_all_at(b"XXXX", 100).unwrap();
    let err = Log::open(dir.path(), options()).unwrap().topic("t").unwrap().partition(0).unwrap_err();
    match &err {
        Error::Corruption { file: f, offset, .. } => {
            assert_eq!(f, &file);
            assert!(*offset <= 100, "offset {offset} points at the damaged batch");
        }
        other => panic!("expected corruption, got {other}"),
    }
    let message = err.to_string();
    assert!(message.contains("00000000000000000000.log") && message.contains("byte offset"), "{message}");
}

#[test]
fn corruption_in_a_sealed_segment_is_reported_on_read() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), options()).unwrap();
        let p = log.create_topic(&name("t"), small_segments(1)).unwrap().partition(0).unwrap();
        append_numbered(&p, 0..1000, 10);
        p.commit().unwrap();
    }
    let first = segment_files(dir.path(), "t", 0).remove(0);
    OpenOptions::new().write(true).open(&first).unwrap().write_all_at(b"\xff\xff", 60).unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.topic("t").unwrap().partition(0).unwrap();
    let err = p.read(0, 1 << 20).unwrap_err();
    assert!(matches!(&err, Error::Corruption { file, offset: 0, .. } if file == &first), "{err}");
}

#[test]
fn a_second_open_of_the_same_directory_is_refused_with_the_owner_pid() {
    let dir = tempfile::tempdir().unwrap();
    let _log = Log::open(dir.path(), options()).unwrap();
    let err = Log::open(dir.path(), options()).unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&format!("data directory in use by pid {}", std::process::id())), "{message}");
}

#[test]
fn the_lock_is_released_when_the_log_closes() {
    let dir = tempfile::tempdir().unwrap();
    drop(Log::open(dir.path(), options()).unwrap());
    Log::open(dir.path(), options()).unwrap();
}

#[test]
fn topics_are_listed_described_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    log.create_topic(&name("b"), TopicConfig::with_partitions(3)).unwrap();
    log.create_topic(&name("a"), TopicConfig::default()).unwrap();
    assert!(matches!(log.create_topic(&name("a"), TopicConfig::default()), Err(Error::TopicExists(_))));
    assert!(matches!(
        log.create_topic(&name("c"), TopicConfig::with_partitions(0)),
        Err(Error::InvalidConfig(_))
    ));
    let names: Vec<String> = log.topics().iter().map(|t| t.name().to_string()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(matches!(log.topic("b").unwrap().partition(3), Err(Error::UnknownPartition { count: 3, .. })));
    log.delete_topic("b").unwrap();
    assert!(matches!(log.topic("b"), Err(Error::UnknownTopic(_))));
    assert!(matches!(log.delete_topic("b"), Err(Error::UnknownTopic(_))));
    drop(log);
    let log = Log::open(dir.path(), options()).unwrap();
    assert_eq!(log.topics().len(), 1);
    // The name is free again.
    log.create_topic(&name("b"), TopicConfig::default()).unwrap();
    assert_eq!(log.topic("b").unwrap().partition(0).unwrap().committed_end(), 0);
}

#[test]
fn retention_by_size_removes_the_oldest_whole_segments() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    let config = TopicConfig { retention_bytes: Some(10_000), ..small_segments(1) };
    let p = log.create_topic(&name("t"), config).unwrap().partition(0).unwrap();
    append_numbered(&p, 0..3000, 10);
    p.commit().unwrap();
    let before = p.stats();
    let outcome = p.enforce_retention(2_000).unwrap();
    let after = p.stats();
    assert!(outcome.segments_removed > 0);
    assert!(after.size_bytes <= 10_000 + 4096 + 1024, "{after:?}");
    assert_eq!(after.end_offset, before.end_offset);
    assert!(after.start_offset > 0);
    let got = values(&p, after.start_offset);
    assert_eq!(got.len() as u64, 3000 - after.start_offset);
    assert!(matches!(p.read(0, 100), Err(Error::OffsetOutOfRange { .. })));
}

#[test]
fn retention_by_age_removes_expired_segments_including_an_expired_active_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    let config = TopicConfig { retention_time: Some(Duration::from_secs(60)), ..small_segments(1) };
    let p = log.create_topic(&name("t"), config).unwrap().partition(0).unwrap();
    let old: Vec<String> = (0..500).map(|i| format!("old-{i}")).collect();
    for chunk in old.chunks(10) {
        p.append(chunk.iter().map(|v| RecordRef::new(None, v.as_bytes(), 1_000))).unwrap();
    }
    p.commit().unwrap();
    let now = 1_000 + 30_000;
    assert_eq!(p.enforce_retention(now).unwrap().segments_removed, 0, "nothing has expired yet");
    p.append([RecordRef::new(None, b"new", now)]).unwrap();
    p.commit().unwrap();
    let later = 1_000 + 61_000;
    let outcome = p.enforce_retention(later).unwrap();
    assert!(outcome.segments_removed > 0);
    assert_eq!(values(&p, p.start_offset()), vec![(500, b"new".to_vec())]);
    // Everything expired: the active segment is sealed and removed too.
    p.enforce_retention(now + 61_000).unwrap();
    assert_eq!(p.start_offset(), 501);
    assert_eq!(p.committed_end(), 501);
    append_numbered(&p, 501..502, 1);
    p.commit().unwrap();
    assert_eq!(values(&p, 501).len(), 1);
}

#[test]
fn truncate_rolls_back_to_any_offset_even_inside_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), options()).unwrap();
        let p = log.create_topic(&name("t"), small_segments(1)).unwrap().partition(0).unwrap();
        append_numbered(&p, 0..1000, 10);
        p.commit().unwrap();
        p.truncate(995).unwrap();
        assert_eq!(p.committed_end(), 995);
        p.truncate(123).unwrap();
        assert_eq!(p.committed_end(), 123);
        let got = values(&p, 0);
        assert_eq!(got.len(), 123);
        assert_eq!(got[122].1, b"record-000122");
        append_numbered(&p, 123..130, 3);
        p.commit().unwrap();
    }
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.topic("t").unwrap().partition(0).unwrap();
    let got = values(&p, 0);
    assert_eq!(got.iter().map(|(o, _)| *o).collect::<Vec<_>>(), (0..130).collect::<Vec<_>>());
    assert_eq!(got[129].1, b"record-000129");
}

#[test]
fn a_follower_wakes_up_when_data_is_committed() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.create_topic(&name("t"), TopicConfig::default()).unwrap().partition(0).unwrap();
    assert!(!p.wait_for(0, Duration::from_millis(10)));
    let writer = std::sync::Arc::clone(&p);
    let handle = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        writer.append([RecordRef::new(None, b"x", 0)]).unwrap();
        writer.commit().unwrap();
    });
    assert!(p.wait_for(0, Duration::from_secs(10)));
    handle.join().unwrap();
}

#[test]
fn every_fsync_policy_commits_the_same_data() {
    for fsync in
        [FsyncPolicy::EveryCommit, FsyncPolicy::Interval(Duration::from_millis(1)), FsyncPolicy::Never]
    {
        let dir = tempfile::tempdir().unwrap();
        {
            let log = Log::open(dir.path(), Options { fsync, ..options() }).unwrap();
            let p = log.create_topic(&name("t"), small_segments(1)).unwrap().partition(0).unwrap();
            for i in 0..50 {
                append_numbered(&p, i * 10..(i + 1) * 10, 10);
                p.commit().unwrap();
            }
        }
        let log = Log::open(dir.path(), options()).unwrap();
        assert_eq!(values(&log.topic("t").unwrap().partition(0).unwrap(), 0).len(), 500, "{fsync:?}");
    }
}

#[test]
fn oversized_batches_are_refused_and_leave_the_partition_usable() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.create_topic(&name("t"), TopicConfig::default()).unwrap().partition(0).unwrap();
    let big = vec![7u8; eddy_log::MAX_BATCH_BYTES];
    assert!(matches!(p.append([RecordRef::new(None, &big, 0)]), Err(Error::BatchTooLarge { .. })));
    append_numbered(&p, 0..3, 3);
    p.commit().unwrap();
    assert_eq!(values(&p, 0).len(), 3);
}

#[test]
fn a_data_directory_that_is_a_file_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = Log::open(&file, options()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

#[test]
fn flushed_records_stay_invisible_until_published() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.create_topic(&name("t"), TopicConfig::default()).unwrap().partition(0).unwrap();
    append_numbered(&p, 0..10, 4);
    assert_eq!(p.flush().unwrap(), 10);
    assert_eq!(p.committed_end(), 0);
    assert!(values(&p, 0).is_empty());
    append_numbered(&p, 10..15, 5);
    assert_eq!(p.flush().unwrap(), 15);
    p.publish_to(10);
    assert_eq!(p.committed_end(), 10);
    assert_eq!(values(&p, 0).len(), 10);
    p.publish_to(5);
    assert_eq!(p.committed_end(), 10, "the committed end never moves back");
    p.publish_to(99);
    assert_eq!(p.committed_end(), 15, "publishing is clamped to what was written");
}

#[test]
fn written_records_are_on_disk_but_invisible_until_flushed_and_published() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), options()).unwrap();
        let p = log.create_topic(&name("t"), small_segments(1)).unwrap().partition(0).unwrap();
        append_numbered(&p, 0..10, 5);
        p.commit().unwrap();
        let lines: Vec<String> = (10..300).map(|i| format!("record-{i:06}")).collect();
        for (i, chunk) in lines.chunks(7).enumerate() {
            let start = 10 + i * 7;
            let offsets = p.write(chunk.iter().map(|l| RecordRef::new(None, l.as_bytes(), 1_000))).unwrap();
            assert_eq!(offsets, start as u64..(start + chunk.len()) as u64);
        }
        assert!(segment_files(dir.path(), "t", 0).len() > 1, "writes roll full segments");
        assert_eq!(p.committed_end(), 10);
        assert_eq!(values(&p, 0).len(), 10);
        assert_eq!(p.flush().unwrap(), 300);
        p.publish_to(300);
        let got = values(&p, 0);
        assert_eq!(got.len(), 300);
        assert_eq!(got[299].1, b"record-000299".to_vec());
        append_numbered(&p, 300..320, 20);
        p.write(std::iter::empty()).unwrap();
        assert_eq!(p.flush().unwrap(), 320, "a write writes what was appended before it");
    }
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.topic("t").unwrap().partition(0).unwrap();
    assert_eq!(p.committed_end(), 320);
    p.truncate(150).unwrap();
    assert_eq!(values(&p, 0).len(), 150);
}

#[test]
fn truncate_drops_flushed_records_that_were_never_published() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.create_topic(&name("t"), small_segments(1)).unwrap().partition(0).unwrap();
    append_numbered(&p, 0..300, 7);
    p.commit().unwrap();
    append_numbered(&p, 300..600, 7);
    assert_eq!(p.flush().unwrap(), 600);
    p.truncate(450).unwrap();
    assert_eq!(p.committed_end(), 300);
    p.publish_to(600);
    assert_eq!(p.committed_end(), 450);
    let got = values(&p, 0);
    assert_eq!(got.len(), 450);
    assert_eq!(got.last().unwrap().1, b"record-000449".to_vec());
    append_numbered(&p, 450..460, 10);
    assert_eq!(p.commit().unwrap(), 460);
    drop(p);
    drop(log);
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.topic("t").unwrap().partition(0).unwrap();
    assert_eq!(p.committed_end(), 460);
    assert_eq!(values(&p, 0).last().unwrap().1, b"record-000459".to_vec());
}

#[test]
fn flushed_records_survive_reopen_until_truncated() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), options()).unwrap();
        let p = log.create_topic(&name("t"), TopicConfig::default()).unwrap().partition(0).unwrap();
        append_numbered(&p, 0..20, 5);
        p.commit().unwrap();
        append_numbered(&p, 20..30, 5);
        p.flush().unwrap();
    }
    let log = Log::open(dir.path(), options()).unwrap();
    let p = log.topic("t").unwrap().partition(0).unwrap();
    assert_eq!(p.committed_end(), 30, "recovery keeps every intact batch on disk");
    p.truncate(20).unwrap();
    assert_eq!(p.committed_end(), 20);
    assert_eq!(values(&p, 0).len(), 20);
}

#[test]
fn a_read_finds_a_large_batch_that_follows_small_unindexed_ones() {
    // The sparse index points at the first of three small batches; the large batch after them
    // (not indexed: less than `index_interval_bytes` past the last entry) is bigger than any
    // read window. Reading from its first offset must return it, not nothing.
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), options()).unwrap();
    let partition =
        log.create_topic(&name("mixed"), TopicConfig::with_partitions(1)).unwrap().partition(0).unwrap();
    append_numbered(&partition, 0..1000, 1000);
    append_numbered(&partition, 1000..1003, 1);
    append_numbered(&partition, 1003..21_003, 20_000);
    partition.commit().unwrap();
    for from in [1001, 1002, 1003, 1004, 21_002] {
        let batches = partition.read(from, 1000).unwrap();
        assert!(!batches.is_empty(), "nothing read from {from}");
        assert!(batches[0].base_offset() <= from && from < batches[0].next_offset(), "from {from}");
    }
    assert_eq!(values(&partition, 0).len(), 21_003);
}
