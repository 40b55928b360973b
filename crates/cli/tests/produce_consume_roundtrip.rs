//! Records go in with `eddy produce` and come back out of `eddy consume` unchanged.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use common::{Eddy, lines};

/// 100,000 distinct lines, some empty, some ending in '\r', some not ASCII.
fn awkward_lines(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| match i % 1000 {
            0 if i > 0 => Vec::new(),
            7 => format!("windows line {i}\r").into_bytes(),
            13 => format!("{i}: héllo wörld ✓ 日本語 🦀").into_bytes(),
            21 => format!("\t tabs and spaces {i} \t").into_bytes(),
            _ => format!("line {i}").into_bytes(),
        })
        .collect()
}

/// Whether `part` is a subsequence of `whole`, in order.
fn is_subsequence(part: &[&[u8]], whole: &[Vec<u8>]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|p| rest.any(|w| w.as_slice() == *p))
}

#[test]
fn unkeyed_lines_round_trip_byte_for_byte_across_three_partitions() {
    let eddy = Eddy::new();
    eddy.create_topic("events", 3);
    let input = awkward_lines(100_000);
    // No newline after the last line: it is a record all the same.
    eddy.produce("events", &[], &input.join(&b'\n'));

    let mut all: Vec<Vec<u8>> = Vec::new();
    for partition in ["0", "1", "2"] {
        let output = eddy.consume_all("events", &["-p", partition]);
        let records = lines(&output);
        assert!(!records.is_empty(), "partition {partition} got nothing");
        assert!(is_subsequence(&records, &input), "partition {partition} is out of order");
        all.extend(records.into_iter().map(<[u8]>::to_vec));
    }
    let mut expected = input;
    expected.sort();
    all.sort();
    assert_eq!(all.len(), expected.len());
    assert!(all == expected, "the partitions together do not hold exactly the input");
}

#[test]
fn every_line_is_a_record_including_empty_ones_and_an_unterminated_last_one() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 1);
    eddy.produce("t", &[], b"a\n\n\nb\r\nc");
    eddy.produce("t", &[], b"d\n");
    eddy.produce("t", &[], b"");
    eddy.produce("t", &[], b"\n");
    assert_eq!(eddy.consume_all("t", &[]), b"a\n\n\nb\r\nc\nd\n\n");
}

#[test]
fn records_with_the_same_key_stay_in_one_partition_in_order() {
    let eddy = Eddy::new();
    eddy.create_topic("users", 3);
    let keys: Vec<String> = (0..12).map(|k| format!("user-{k}")).collect();
    let mut input = String::new();
    for seq in 0..200 {
        for key in &keys {
            // The value holds the separator too: only the first one splits.
            input.push_str(&format!("{key}:{seq}:{key}\n"));
        }
    }
    eddy.produce("users", &["--key-separator", ":"], input.as_bytes());

    let mut seen: HashMap<String, (u32, Vec<u32>)> = HashMap::new();
    for partition in 0..3u32 {
        let output =
            String::from_utf8(eddy.consume_all("users", &["-k", "-p", &partition.to_string()])).unwrap();
        for line in output.lines() {
            let (key, value) = line.strip_prefix('[').and_then(|l| l.split_once("] ")).unwrap();
            let (seq, echoed_key) = value.split_once(':').unwrap();
            assert_eq!(echoed_key, key, "{line}");
            let entry = seen.entry(key.to_owned()).or_insert((partition, Vec::new()));
            assert_eq!(entry.0, partition, "key {key} is in two partitions");
            entry.1.push(seq.parse().unwrap());
        }
    }
    assert_eq!(seen.len(), keys.len());
    for key in &keys {
        let (partition, seqs) = &seen[key];
        assert_eq!(*partition, eddy_types::partition_for_key(key.as_bytes(), 3), "{key}");
        assert_eq!(*seqs, (0..200).collect::<Vec<u32>>(), "{key} out of order");
    }
    let used: std::collections::HashSet<u32> = seen.values().map(|(p, _)| *p).collect();
    assert!(used.len() > 1, "12 keys all hashed to one partition");
}

#[test]
fn key_value_output_shows_null_for_records_without_a_key() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 1);
    eddy.produce("t", &[], b"plain\n");
    eddy.produce("t", &["--key-separator", "=>"], b"k=>v\n=>empty key\n");
    assert_eq!(eddy.consume_all("t", &["-k"]), b"[null] plain\n[k] v\n[] empty key\n");
}

#[test]
fn json_output_has_one_object_per_record_with_all_fields() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 2);
    eddy.produce("t", &["--key-separator", ":"], "a:1\nb:\"quoted\"\nc:ü\n".as_bytes());
    eddy.produce("t", &["--partition", "1"], b"unkeyed\n");
    let before = eddy_types::now_millis();
    let output = String::from_utf8(eddy.consume_all("t", &["--format", "json"])).unwrap();
    let mut records: Vec<serde_json::Value> =
        output.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 4);
    for record in &records {
        let object = record.as_object().unwrap();
        let mut fields: Vec<&str> = object.keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["key", "offset", "partition", "timestamp", "value"]);
        let timestamp = record["timestamp"].as_i64().unwrap();
        assert!(timestamp > 0 && timestamp <= before, "{record}");
        assert!(record["partition"].as_u64().unwrap() < 2);
    }
    records.sort_by_key(|r| r["value"].as_str().unwrap().to_owned());
    let pairs: Vec<(serde_json::Value, &str)> =
        records.iter().map(|r| (r["key"].clone(), r["value"].as_str().unwrap())).collect();
    assert_eq!(
        pairs,
        [
            (serde_json::json!("b"), "\"quoted\""),
            (serde_json::json!("a"), "1"),
            (serde_json::Value::Null, "unkeyed"),
            (serde_json::json!("c"), "ü"),
        ]
    );
}

#[test]
fn tail_prints_the_last_records() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 1);
    let input: String = (0..20).map(|i| format!("r{i}\n")).collect();
    eddy.produce("t", &[], input.as_bytes());
    assert_eq!(eddy.ok(&["consume", "t", "-T", "5", "-d"]), b"r15\nr16\nr17\nr18\nr19\n");
    // Asking for more than there is starts at the beginning.
    assert_eq!(eddy.ok(&["consume", "t", "-T", "500", "-d"]), input.as_bytes());
    // Without a start flag, only new records: none before the command exits.
    assert_eq!(eddy.ok(&["consume", "t", "-d"]), b"");
}

#[test]
fn an_absolute_offset_starts_there_and_one_out_of_range_fails() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 1);
    let input: String = (0..10).map(|i| format!("r{i}\n")).collect();
    eddy.produce("t", &[], input.as_bytes());
    assert_eq!(eddy.ok(&["consume", "t", "--offset", "7", "-d"]), b"r7\nr8\nr9\n");
    assert_eq!(eddy.ok(&["consume", "t", "--offset", "10", "-d"]), b"");
    let stderr = eddy.fails(&["consume", "t", "--offset", "11", "-d"]);
    assert!(
        stderr.contains("offset 11 is not available in 't' partition 0: it holds offsets 0..10"),
        "{stderr}"
    );
}

#[test]
fn records_can_come_from_a_file() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 2);
    let file = eddy.scratch("input.txt");
    let input: String = (0..5000).map(|i| format!("from file {i}\n")).collect();
    std::fs::write(&file, &input).unwrap();
    let output = eddy.run(&["produce", "t", "--file", file.to_str().unwrap(), "-v"], b"ignored stdin\n");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary = String::from_utf8_lossy(&output.stderr);
    assert!(summary.contains("produced 5000 records"), "{summary}");
    assert!(summary.contains("to 2 partition(s)"), "{summary}");

    let mut all: Vec<String> = (0..2)
        .flat_map(|p| {
            String::from_utf8(eddy.consume_all("t", &["-p", &p.to_string()]))
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut expected: Vec<String> = input.lines().map(str::to_owned).collect();
    all.sort();
    expected.sort();
    assert_eq!(all, expected);
}

#[test]
fn a_forced_partition_receives_every_record() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 4);
    eddy.produce("t", &["--partition", "2", "--key-separator", ":"], b"a:1\nb:2\nc:3\n");
    eddy.produce("t", &["--partition", "2"], b"x\ny\n");
    assert_eq!(eddy.consume_all("t", &["-p", "2"]), b"1\n2\n3\nx\ny\n");
    for p in ["0", "1", "3"] {
        assert_eq!(eddy.consume_all("t", &["-p", p]), b"");
    }
}

#[test]
fn reading_all_partitions_keeps_each_partitions_order() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 3);
    let input: String = (0..3000).map(|i| format!("{i}\n")).collect();
    eddy.produce("t", &[], input.as_bytes());
    let output = eddy.consume_all("t", &["--format", "json"]);
    let mut last: HashMap<u64, u64> = HashMap::new();
    let mut count = 0;
    for line in String::from_utf8(output).unwrap().lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let partition = record["partition"].as_u64().unwrap();
        let offset = record["offset"].as_u64().unwrap();
        if let Some(previous) = last.insert(partition, offset) {
            assert_eq!(offset, previous + 1, "partition {partition} skipped or repeated");
        } else {
            assert_eq!(offset, 0);
        }
        count += 1;
    }
    assert_eq!(count, 3000);
}
