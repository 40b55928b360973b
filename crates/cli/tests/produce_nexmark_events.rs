//! `eddy produce --nexmark N` writes N generated Nexmark events, and `eddy consume` gives
//! back exactly what the generator makes for that seed, timestamped with the event time,
//! directly and through a running process.

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    os::unix::net::UnixStream,
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use common::{Eddy, VISITS_DATAFLOW, lines};
use eddy_nexmark::{Config, Event, EventKind, Generator};
use serde_json::Value;

/// A consumed record: where it was stored and what it holds.
struct Consumed {
    partition: u64,
    offset: u64,
    timestamp: i64,
    value: String,
}

/// Every record of `topic`, from `eddy consume -B -d --format json`.
fn consume(eddy: &Eddy, topic: &str) -> Vec<Consumed> {
    let output = eddy.consume_all(topic, &["--format", "json"]);
    lines(&output)
        .into_iter()
        .map(|line| {
            let record: Value = serde_json::from_slice(line).unwrap();
            assert!(record["key"].is_null(), "Nexmark records are unkeyed: {record}");
            Consumed {
                partition: record["partition"].as_u64().unwrap(),
                offset: record["offset"].as_u64().unwrap(),
                timestamp: record["timestamp"].as_i64().unwrap(),
                value: record["value"].as_str().unwrap().to_owned(),
            }
        })
        .collect()
}

/// The generator `eddy produce --nexmark` used: the seed given, and the base time it took
/// (the first event's time).
fn generator_of(records: &[Consumed], seed: u64) -> Generator {
    let base_time = records.iter().map(|r| r.timestamp).min().unwrap();
    Generator::new(Config { seed, base_time, ..Config::default() })
}

/// Checks that `records` are events `0..count` of `generator`, event `n` at
/// `locate(n)` = (partition, offset), each record timestamped with its event's time.
fn assert_events(
    records: &[Consumed],
    generator: &Generator,
    count: u64,
    locate: impl Fn(u64) -> (u64, u64),
) {
    assert_eq!(records.len() as u64, count);
    let mut by_place: Vec<&Consumed> = records.iter().collect();
    by_place.sort_by_key(|r| (r.partition, r.offset));
    let mut expected: Vec<(u64, u64, u64)> = (0..count).map(|n| (locate(n).0, locate(n).1, n)).collect();
    expected.sort_unstable();
    let mut event = Event::new();
    let mut kinds = [0u64; 3];
    for (record, &(partition, offset, number)) in by_place.iter().zip(&expected) {
        assert_eq!((record.partition, record.offset), (partition, offset), "event {number} is misplaced");
        generator.generate(number, &mut event);
        assert_eq!(record.value.as_bytes(), event.to_json().as_slice(), "event {number} differs");
        assert_eq!(record.timestamp, event.date_time(), "event {number}'s record timestamp");
        let value: Value = serde_json::from_str(&record.value).unwrap();
        assert_eq!(value["event_type"].as_u64().unwrap(), event.kind() as u64);
        kinds[event.kind() as usize] += 1;
    }
    assert_eq!(kinds, [count / 50, count / 50 * 3, count / 50 * 46], "persons, auctions, bids");
}

#[test]
fn ten_thousand_events_come_back_round_robin_as_the_generator_makes_them() {
    let eddy = Eddy::new();
    eddy.create_topic("nexmark", 3);
    eddy.produce("nexmark", &["--nexmark", "10000", "--seed", "7"], b"");
    let records = consume(&eddy, "nexmark");
    let generator = generator_of(&records, 7);
    // Event n went to partition n mod 3, in order: offset n / 3.
    assert_events(&records, &generator, 10_000, |n| (n % 3, n / 3));
    assert_eq!(generator.timestamp(9_999) - generator.timestamp(0), 999, "10,000 events/s of event time");
    assert_eq!(generator.kind(0), EventKind::Person);
}

#[test]
fn the_same_seed_gives_the_same_events_and_a_fixed_partition_takes_them_all() {
    let eddy = Eddy::new();
    for topic in ["a", "b"] {
        eddy.create_topic(topic, 2);
        eddy.produce(topic, &["--nexmark", "1000", "--seed", "3", "--partition", "1"], b"");
        let records = consume(&eddy, topic);
        assert_events(&records, &generator_of(&records, 3), 1_000, |n| (1, n));
    }

    eddy.create_topic("c", 1);
    eddy.produce("c", &["--nexmark", "1000", "--seed", "4"], b"");
    let c = consume(&eddy, "c");
    assert_events(&c, &generator_of(&c, 4), 1_000, |n| (0, n));
    // Seed 3 at the same base time makes other events.
    let seed_3: Vec<Vec<u8>> = generator_of(&c, 3).events(0..1_000).map(|e| e.to_json()).collect();
    let same =
        c.iter().zip(&seed_3).filter(|(record, other)| record.value.as_bytes() == other.as_slice()).count();
    assert!(same < 10, "{same} of 1000 events are the same under another seed");
}

#[test]
fn the_summary_counts_events_and_line_input_options_do_not_mix_with_nexmark() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 1);
    let output = eddy.run(&["produce", "t", "--nexmark", "120", "-v"], b"");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("produced 120 records") && stderr.contains("1 partition(s) of \"t\""),
        "{stderr}"
    );
    assert_eq!(lines(&eddy.consume_all("t", &[])).len(), 120);

    for (args, complaint) in [
        (&["produce", "t", "--nexmark", "10", "--key-separator", ":"][..], "cannot be used with"),
        (&["produce", "t", "--nexmark", "10", "--file", "input.txt"], "cannot be used with"),
        (&["produce", "t", "--seed", "1"], "--nexmark <N>"),
        (&["produce", "t", "--nexmark", "lots"], "invalid value 'lots'"),
    ] {
        let stderr = eddy.fails(args);
        assert!(stderr.contains(complaint), "{args:?}: {stderr}");
    }
    let stderr = eddy.fails(&["produce", "missing", "--nexmark", "10"]);
    assert!(stderr.contains("missing"), "{stderr}");
    assert_eq!(lines(&eddy.consume_all("t", &[])).len(), 120, "nothing more was written");
}

#[test]
fn events_go_through_a_running_process_that_holds_the_data_directory() {
    let eddy = Eddy::new();
    let flow = eddy.scratch("idle.yaml");
    std::fs::write(&flow, VISITS_DATAFLOW).unwrap();
    let mut server = eddy.command(&["run", flow.to_str().unwrap()]).stdout(Stdio::null()).spawn().unwrap();
    let socket = eddy.data_dir().join("eddy.sock");
    let deadline = Instant::now() + Duration::from_secs(20);
    while UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "the process never listened");
        thread::sleep(Duration::from_millis(5));
    }

    eddy.create_topic("nexmark", 2);
    eddy.produce("nexmark", &["--nexmark", "10000", "--seed", "11"], b"");
    let records = consume(&eddy, "nexmark");

    let stopped = Command::new("kill").args(["-INT", &server.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            server.kill().unwrap();
            server.wait().unwrap();
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }

    assert_events(&records, &generator_of(&records, 11), 10_000, |n| (n % 2, n / 2));
}
