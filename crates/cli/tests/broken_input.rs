//! Bad data directories, damaged segment files and malformed input end with a clear
//! error (or, for a torn tail, a warning), never a panic.

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    fs::OpenOptions,
    io::{Read, Write},
    os::unix::fs::FileExt,
    process::Stdio,
};

use common::{Eddy, assert_no_panic, eddy_bin, lines};

fn numbered(count: usize) -> String {
    (0..count).map(|i| format!("record {i}\n")).collect()
}

#[test]
fn a_data_dir_that_is_a_regular_file_is_reported_without_panicking() {
    let eddy = Eddy::new();
    let file = eddy.scratch("not-a-dir");
    std::fs::write(&file, b"just a file").unwrap();
    for args in [&["topic", "list"][..], &["topic", "create", "t"], &["consume", "t", "-B", "-d"]] {
        let output =
            assert_cmd::Command::new(eddy_bin()).arg("--data-dir").arg(&file).args(args).output().unwrap();
        let stderr = common::expect_clean_failure(args, &output);
        assert!(stderr.contains(&format!("cannot use data directory '{}'", file.display())), "{stderr}");
        assert!(stderr.contains("Not a directory"), "{stderr}");
    }
}

#[test]
fn the_data_dir_can_come_from_the_environment() {
    let eddy = Eddy::new();
    let output = assert_cmd::Command::new(eddy_bin())
        .env("EDDY_DATA_DIR", eddy.data_dir())
        .args(["topic", "create", "from-env"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&eddy.ok(&["topic", "list"])).contains("from-env"));
}

#[test]
fn corruption_inside_committed_data_is_reported_with_file_and_byte_offset() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 1);
    eddy.produce("t", &[], numbered(1000).as_bytes());
    let segment = eddy.first_segment("t", 0);
    let file = OpenOptions::new().read(true).write(true).open(&segment).unwrap();
    let middle = file.metadata().unwrap().len() / 2;
    let mut bytes = [0u8; 16];
    file.read_exact_at(&mut bytes, middle).unwrap();
    for b in &mut bytes {
        *b ^= 0xff;
    }
    file.write_all_at(&bytes, middle).unwrap();
    drop(file);

    let stderr = eddy.fails(&["consume", "t", "-B", "-d"]);
    assert!(stderr.contains(&segment.display().to_string()), "{stderr}");
    assert!(stderr.contains("byte offset"), "{stderr}");
    // Every command that opens the partition says the same.
    let stderr = eddy.fails(&["topic", "describe", "t"]);
    assert!(stderr.contains("byte offset"), "{stderr}");
}

#[test]
fn a_torn_tail_is_cut_with_a_warning_and_everything_before_it_is_kept() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 1);
    let input = numbered(1000);
    eddy.produce("t", &[], input.as_bytes());
    let mut file = OpenOptions::new().append(true).open(eddy.first_segment("t", 0)).unwrap();
    file.write_all(b"garbage left by a crash").unwrap();
    drop(file);

    let output = eddy.run(&["consume", "t", "-B", "-d"], b"");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_no_panic(&output);
    assert_eq!(output.stdout, input.as_bytes());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("truncating"), "no warning about the cut: {stderr}");
    // The cut is done once; appending goes on after it.
    eddy.produce("t", &[], b"after\n");
    let output = eddy.run(&["consume", "t", "-T", "1", "-d"], b"");
    assert_eq!(output.stdout, b"after\n");
    assert!(output.stderr.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn a_line_without_the_key_separator_is_reported_by_number() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 1);
    let stderr =
        eddy.fails_with_input(&["produce", "t", "--key-separator", ":"], b"a:1\nb:2\nno separator\nc:3\n");
    assert!(stderr.contains("line 3 has no key separator \":\""), "{stderr}");
    assert!(stderr.contains("the 2 lines before it were produced"), "{stderr}");
    assert_eq!(eddy.consume_all("t", &["-k"]), b"[a] 1\n[b] 2\n");
}

#[test]
fn an_unknown_partition_is_rejected() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 1);
    let stderr = eddy.fails_with_input(&["produce", "t", "--partition", "9"], b"x\n");
    assert!(stderr.contains("topic 't' has no partition 9; it has partitions 0..1"), "{stderr}");
    let stderr = eddy.fails(&["consume", "t", "-p", "9", "-d"]);
    assert!(stderr.contains("has no partition 9"), "{stderr}");
    assert_eq!(eddy.consume_all("t", &[]), b"");
}

#[test]
fn a_missing_input_file_is_reported() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 1);
    let missing = eddy.scratch("missing.txt");
    let stderr = eddy.fails(&["produce", "t", "--file", missing.to_str().unwrap()]);
    assert!(stderr.contains(&format!("cannot read '{}'", missing.display())), "{stderr}");
}

#[test]
fn usage_errors_fail_with_status_1() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 1);
    for args in [
        &["topic", "create", "x", "--partitions", "many"][..],
        &["consume", "t", "-B", "--offset", "3"],
        &["consume", "t", "--format", "xml"],
        &["produce", "t", "--key-separator", ""],
        &["run", "flow.yaml", "--state-cache-keys", "0"],
        &["run", "flow.yaml", "--state-cache-keys", "lots"],
        &["frobnicate"],
    ] {
        let output = eddy.run(args, b"");
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert_no_panic(&output);
    }
}

#[test]
fn a_consumer_whose_reader_goes_away_exits_quietly() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 2);
    eddy.produce("t", &[], numbered(200_000).as_bytes());
    let mut consumer = eddy
        .command(&["consume", "t", "-B", "-d"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = consumer.stdout.take().unwrap();
    let mut first = [0u8; 10];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"record 0\nr");
    drop(stdout); // Like `| head -c 10`.
    let output = consumer.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", output.status);
    assert!(output.stderr.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
    // The data is untouched.
    assert_eq!(lines(&eddy.consume_all("t", &["-p", "1"])).len(), 100_000);
}
