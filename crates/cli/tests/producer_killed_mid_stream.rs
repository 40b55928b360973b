//! A producer killed with SIGKILL leaves a clean prefix of its input, and the data
//! directory belongs to one process at a time.

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    io::Write,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use common::{Eddy, expect_clean_failure, lines};

const LINES: usize = 200_000;
const LINES_PER_WRITE: usize = 250;

fn line(i: usize) -> String {
    format!("record number {i:07}")
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_producer_killed_mid_stream_leaves_a_prefix_of_its_input() {
    let eddy = Eddy::new();
    eddy.create_topic("numbers", 1);
    let mut producer = eddy
        .command(&["produce", "numbers"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = producer.stdin.take().unwrap();
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let written = Arc::clone(&written);
        thread::spawn(move || {
            for start in (0..LINES).step_by(LINES_PER_WRITE) {
                let chunk: String = (start..start + LINES_PER_WRITE).map(|i| line(i) + "\n").collect();
                if stdin.write_all(chunk.as_bytes()).and_then(|()| stdin.flush()).is_err() {
                    return; // The producer is gone.
                }
                written.store(start + LINES_PER_WRITE, Ordering::SeqCst);
                thread::sleep(Duration::from_micros(500));
            }
        })
    };
    wait_until("the producer to take 50,000 lines", Duration::from_secs(60), || {
        written.load(Ordering::SeqCst) >= 50_000
    });
    // Let it commit some of what it read (the segment file grows on commit), while more
    // keeps coming.
    let segment = eddy.first_segment("numbers", 0);
    wait_until("the producer to commit", Duration::from_secs(60), || {
        std::fs::metadata(&segment).is_ok_and(|m| m.len() > 0)
    });
    thread::sleep(Duration::from_millis(50));
    producer.kill().unwrap();
    producer.wait().unwrap();
    writer.join().unwrap();
    let sent = written.load(Ordering::SeqCst);
    assert!(sent < LINES, "the producer was killed after its input ended; nothing was tested");

    let output = eddy.consume_all("numbers", &[]);
    let records = lines(&output);
    assert!(!records.is_empty(), "nothing survived the kill");
    assert!(records.len() <= sent + LINES_PER_WRITE, "more records than lines sent");
    for (i, record) in records.iter().enumerate() {
        assert_eq!(*record, line(i).as_bytes(), "record {i} is not line {i}");
    }
}

#[test]
fn a_second_process_is_refused_while_the_first_holds_the_data_directory() {
    let eddy = Eddy::new();
    eddy.create_topic("t", 1);
    // A following consumer keeps the log open until killed.
    let mut consumer =
        eddy.command(&["consume", "t"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = consumer.id().to_string();
    let lock_file = eddy.data_dir().join("log/LOCK");
    wait_until("the consumer to take the lock", Duration::from_secs(30), || {
        std::fs::read_to_string(&lock_file).is_ok_and(|holder| holder.trim() == pid)
    });

    let args = ["produce", "t"];
    let output = eddy.run(&args, b"refused\n");
    let stderr = expect_clean_failure(&args, &output);
    assert!(stderr.contains(&format!("data directory in use by pid {pid}")), "{stderr}");
    let stderr = eddy.fails(&["topic", "list"]);
    assert!(stderr.contains(&format!("data directory in use by pid {pid}")), "{stderr}");

    consumer.kill().unwrap();
    consumer.wait().unwrap();
    // The lock dies with its holder.
    eddy.produce("t", &[], b"accepted\n");
    assert_eq!(eddy.consume_all("t", &[]), b"accepted\n");
}
