//! The serving process is a real `eddy run` of a small dataflow that counts visits per
//! user: a separate process holding the data directory's lock, so nothing works unless it
//! goes through the socket.

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    io::{BufRead, BufReader},
    os::unix::net::UnixStream,
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use common::{Eddy, VISITS_DATAFLOW, lines};
use serde_json::json;

/// The serving process; killed when dropped.
struct Server {
    child: Child,
}

impl Server {
    fn start(eddy: &Eddy) -> Server {
        let flow = eddy.scratch("visits.yaml");
        std::fs::write(&flow, VISITS_DATAFLOW).unwrap();
        let child = eddy.command(&["run", flow.to_str().unwrap()]).stdout(Stdio::null()).spawn().unwrap();
        let socket = eddy.data_dir().join("eddy.sock");
        wait_until("the server to listen", || UnixStream::connect(&socket).is_ok());
        let locked = eddy_log::Log::open(eddy.data_dir().join("log"), Default::default()).unwrap_err();
        assert!(locked.to_string().contains(&format!("in use by pid {}", child.id())), "{locked}");
        Server { child }
    }

    /// Kills the process without letting it clean up, as a crash would.
    fn crash(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    /// Stops the process with Ctrl-C (SIGINT), which commits its last epoch; kills it if it
    /// does not stop.
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return; // crashed on purpose
        }
        let interrupted = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        assert!(interrupted.is_ok_and(|status| status.success()), "cannot send SIGINT");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

/// 10,000 distinct lines, some empty, some not ASCII, some with escapes JSON would need.
fn awkward_input() -> Vec<u8> {
    let lines: Vec<String> = (0..10_000)
        .map(|i| match i % 100 {
            0 if i > 0 => String::new(),
            7 => format!("windows line {i}\r"),
            13 => format!("{i}: héllo wörld ✓ 日本語 🦀"),
            21 => format!("{{\"quote\":\"\\\"{i}\\\"\",\"tab\":\"\t\"}}"),
            _ => format!("line {i}"),
        })
        .collect();
    (lines.join("\n") + "\n").into_bytes()
}

#[test]
fn produce_and_consume_go_through_the_process_byte_for_byte() {
    let eddy = Eddy::new();
    let server = Server::start(&eddy);
    eddy.create_topic("events", 1);
    let input = awkward_input();
    eddy.produce("events", &[], &input);
    assert!(eddy.consume_all("events", &[]) == input, "consumed output differs from the input");

    // Keyed records spread over partitions by key, each key's records in order.
    eddy.create_topic("users", 3);
    let keyed: String = (0..3000).map(|i| format!("user-{}:{i}\n", i % 7)).collect();
    eddy.produce("users", &["--key-separator", ":"], keyed.as_bytes());
    let mut all = Vec::new();
    for partition in ["0", "1", "2"] {
        let output = text(eddy.consume_all("users", &["-p", partition, "-k"]));
        for key in 0..7 {
            let values: Vec<u32> = output
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("[user-{key}] ")))
                .map(|v| v.parse().unwrap())
                .collect();
            assert!(values.is_sorted(), "user-{key} out of order in partition {partition}");
        }
        all.extend(output.lines().map(str::to_owned));
    }
    assert_eq!(all.len(), 3000);

    let json = text(eddy.ok(&["consume", "events", "--offset", "13", "-p", "0", "-d", "--format", "json"]));
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["offset"], 13);
    assert_eq!(first["value"], "13: héllo wörld ✓ 日本語 🦀");
    assert_eq!(lines(&eddy.ok(&["consume", "events", "-T", "2", "-d"])), [&b"line 9998"[..], b"line 9999"]);
    drop(server);
    assert!(!eddy.data_dir().join("eddy.sock").exists(), "a process that stops removes its socket");
    assert_eq!(eddy.consume_all("events", &[]), input, "the same records without the process");
}

#[test]
fn a_following_consumer_shows_a_record_produced_after_it_started() {
    let eddy = Eddy::new();
    let _server = Server::start(&eddy);
    eddy.create_topic("live", 2);
    eddy.produce("live", &[], b"before\n");
    let mut consumer = eddy
        .command(&["consume", "live", "-B"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = consumer.stdout.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(20)).unwrap(), "before");
    eddy.produce("live", &[], b"after\n");
    assert_eq!(rx.recv_timeout(Duration::from_secs(20)).unwrap(), "after");
    consumer.kill().unwrap();
    consumer.wait().unwrap();
    // The server goes on serving after the consumer left.
    assert_eq!(lines(&eddy.consume_all("live", &[])).len(), 2);
}

#[test]
fn topic_commands_go_through_the_process() {
    let eddy = Eddy::new();
    let _server = Server::start(&eddy);
    let topics: Vec<String> = text(eddy.ok(&["topic", "list"]))
        .lines()
        .skip(1)
        .map(|row| row.split_whitespace().next().unwrap().to_owned())
        .collect();
    assert_eq!(topics, ["visits", "visits.dead-letter"], "the running dataflow's topics");
    eddy.ok(&["topic", "create", "orders", "--partitions", "3", "--retention-time", "7d"]);
    eddy.produce("orders", &["--partition", "1"], b"one\ntwo\n");
    let list = text(eddy.ok(&["topic", "list"]));
    let row: Vec<&str> = list.lines().find(|l| l.starts_with("orders")).unwrap().split_whitespace().collect();
    assert_eq!(row[..4], ["orders", "3", "7days", "-"]);

    let describe = text(eddy.ok(&["topic", "describe", "orders"]));
    assert!(describe.contains("retention-time:   7days"), "{describe}");
    assert!(describe.contains("segment-size:     128MiB (default)"), "{describe}");
    let table: Vec<Vec<&str>> = describe
        .lines()
        .skip_while(|l| !l.starts_with("PARTITION"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(table[2][..4], ["1", "0", "2", "2"]);

    assert_eq!(text(eddy.ok(&["topic", "delete", "orders"])), "topic \"orders\" deleted\n");
    assert!(!text(eddy.ok(&["topic", "list"])).contains("orders"));
}

#[test]
fn state_commands_read_the_state_of_the_running_dataflow() {
    let eddy = Eddy::new();
    let _server = Server::start(&eddy);
    let visits: String = ["alice", "bob", "alice", "bob", "bob", "alice", "bob", "bob"]
        .iter()
        .map(|user| format!("{{\"user\":\"{user}\"}}\n"))
        .collect();
    eddy.produce("visits", &[], visits.as_bytes());
    let list = || text(eddy.ok(&["state", "list", "counter", "counts"]));
    wait_until("the visits to be counted", || list() == "alice {\"count\":3}\nbob {\"count\":5}\n");
    assert_eq!(text(eddy.ok(&["state", "get", "counter", "counts", "alice"])), "{\"count\":3}\n");
    let json = text(eddy.ok(&["state", "list", "counter", "counts", "--format", "json"]));
    let rows: Vec<serde_json::Value> = json.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows[1], json!({"key": "bob", "value": {"count": 5}}));

    let stderr = eddy.fails(&["state", "get", "counter", "counts", "carol"]);
    assert_eq!(stderr, "error: no key 'carol' in state 'counts' of service 'counter'\n");
    let stderr = eddy.fails(&["state", "list", "counter", "sums"]);
    assert_eq!(stderr, "error: service 'counter' has no state 'sums'\n");

    // A visit produced while the dataflow runs updates the state it serves.
    eddy.produce("visits", &[], b"{\"user\":\"carol\"}\n");
    wait_until("carol's visit to be counted", || list().contains("carol {\"count\":1}"));
}

#[test]
fn errors_through_the_process_read_as_they_do_without_it() {
    let eddy = Eddy::new();
    eddy.create_topic("real", 1);
    eddy.create_topic("partial", 1);
    let failing: [(&[&str], &[u8]); 8] = [
        (&["topic", "describe", "ghost"], b""),
        (&["topic", "delete", "ghost"], b""),
        (&["produce", "ghost"], b""),
        (&["consume", "ghost", "-B", "-d"], b""),
        (&["topic", "create", "real"], b""),
        (&["produce", "real", "--partition", "4"], b""),
        (&["consume", "real", "--offset", "9", "-d"], b""),
        (&["produce", "partial", "--key-separator", ":"], b"a:1\nb:2\nno separator\n"),
    ];
    let stderr_of_all = || -> Vec<String> {
        failing.iter().map(|(args, input)| eddy.fails_with_input(args, input)).collect()
    };
    let direct = stderr_of_all();
    let server = Server::start(&eddy);
    assert_eq!(stderr_of_all(), direct);
    drop(server);
    assert_eq!(direct[0], "error: unknown topic 'ghost'; `eddy topic list` shows the existing topics\n");
    assert_eq!(direct[5], "error: topic 'real' has no partition 4; it has partitions 0..1\n");
    assert!(direct[7].contains("(the 2 lines before it were produced)"), "{}", direct[7]);
    // The lines before the bad one were produced, once without and once through the process.
    assert_eq!(lines(&eddy.consume_all("partial", &[])), [&b"1"[..], b"2", b"1", b"2"]);
}

#[test]
fn a_crashed_process_leaves_a_socket_file_that_is_ignored() {
    let eddy = Eddy::new();
    let server = Server::start(&eddy);
    eddy.create_topic("kept", 1);
    eddy.produce("kept", &[], b"survives\n");
    server.crash();
    assert!(eddy.data_dir().join("eddy.sock").exists(), "a killed process cannot remove its socket");
    // Now the command opens the data directory itself.
    assert!(text(eddy.ok(&["topic", "list"])).contains("kept"));
    assert_eq!(eddy.consume_all("kept", &[]), b"survives\n");
    // A new process replaces the stale socket.
    let _server = Server::start(&eddy);
    assert_eq!(eddy.consume_all("kept", &[]), b"survives\n");
}
