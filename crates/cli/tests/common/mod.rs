//! Helpers shared by the integration tests: running `eddy` against a temporary data
//! directory and checking how it ends.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
};

use tempfile::TempDir;

/// A small dataflow for tests that need a running `eddy run`: visits per user, in keyed
/// state.
pub(crate) const VISITS_DATAFLOW: &str = r#"
apiVersion: 0.5.0
meta: {name: visits}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  visit: {type: object, properties: {user: {type: string}}}
topics:
  visits: {name: visits, partitions: 2, schema: {value: {type: visit}}}
services:
  counter:
    sources: [{type: topic, id: visits}]
    states:
      counts:
        type: keyed-state
        properties: {key: {type: string}, value: {type: arrow-row, properties: {count: {type: u64}}}}
    partition:
      assign-key: {cel: value.user}
      update-state: {cel: "{'count': state.count + 1}"}
"#;

/// The `eddy` binary under test.
pub(crate) fn eddy_bin() -> &'static Path {
    assert_cmd::cargo::cargo_bin!("eddy")
}

/// A data directory in a temporary directory, removed at the end of the test.
pub(crate) struct Eddy {
    dir: TempDir,
}

impl Eddy {
    pub(crate) fn new() -> Self {
        Eddy { dir: tempfile::tempdir().expect("temporary directory") }
    }

    /// The data directory passed with `--data-dir`.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The first segment file of a partition.
    pub(crate) fn first_segment(&self, topic: &str, partition: u32) -> PathBuf {
        self.data_dir()
            .join("log/topics")
            .join(topic)
            .join(partition.to_string())
            .join("00000000000000000000.log")
    }

    /// A file path inside the temporary directory (outside the data directory).
    pub(crate) fn scratch(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `eddy --data-dir <data> <args>` as a std command, for spawning.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(eddy_bin());
        command
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("EDDY_DATA_DIR");
        command
    }

    /// Runs `eddy <args>` with `stdin` as input.
    pub(crate) fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        assert_cmd::Command::from_std(self.command(args)).write_stdin(stdin).output().expect("eddy runs")
    }

    /// Runs `eddy <args>`, expects success and returns its stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> Vec<u8> {
        self.ok_with_input(args, b"")
    }

    /// Runs `eddy <args>` with `stdin` as input, expects success and returns its stdout.
    pub(crate) fn ok_with_input(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let output = self.run(args, stdin);
        assert!(
            output.status.success(),
            "eddy {args:?} failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        assert_no_panic(&output);
        output.stdout
    }

    /// Runs `eddy <args>`, expects it to fail cleanly (status 1, `error: ...`, no panic)
    /// and returns its stderr.
    pub(crate) fn fails(&self, args: &[&str]) -> String {
        self.fails_with_input(args, b"")
    }

    /// Like [`fails`](Self::fails), with `stdin` as input.
    pub(crate) fn fails_with_input(&self, args: &[&str], stdin: &[u8]) -> String {
        let output = self.run(args, stdin);
        expect_clean_failure(args, &output)
    }

    /// Creates `topic` with `partitions` partitions.
    pub(crate) fn create_topic(&self, topic: &str, partitions: u32) {
        let stdout = self.ok(&["topic", "create", topic, "--partitions", &partitions.to_string()]);
        assert_eq!(String::from_utf8_lossy(&stdout), format!("topic \"{topic}\" created\n"));
    }

    /// Produces `input` to `topic` (plus extra arguments) and expects silence on success.
    pub(crate) fn produce(&self, topic: &str, extra: &[&str], input: &[u8]) {
        let mut args = vec!["produce", topic];
        args.extend_from_slice(extra);
        let stdout = self.ok_with_input(&args, input);
        assert!(stdout.is_empty(), "produce printed {:?}", String::from_utf8_lossy(&stdout));
    }

    /// `eddy consume <topic> -B -d <extra>`: everything stored, then exit.
    pub(crate) fn consume_all(&self, topic: &str, extra: &[&str]) -> Vec<u8> {
        let mut args = vec!["consume", topic, "-B", "-d"];
        args.extend_from_slice(extra);
        self.ok(&args)
    }
}

/// Checks that a failed run ended the way every failure should, and returns its stderr.
pub(crate) fn expect_clean_failure(args: &[&str], output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "eddy {args:?} should fail with status 1; stderr: {stderr}");
    assert!(stderr.contains("error: "), "eddy {args:?}: no 'error: ' in stderr: {stderr}");
    assert_no_panic(output);
    stderr
}

/// Fails the test if the process panicked.
pub(crate) fn assert_no_panic(output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "eddy panicked: {stderr}");
}

/// Splits consumer output into records: one per `\n`-terminated line.
pub(crate) fn lines(output: &[u8]) -> Vec<&[u8]> {
    match output.strip_suffix(b"\n") {
        Some(body) => body.split(|&b| b == b'\n').collect(),
        None => {
            assert!(output.is_empty(), "consumer output does not end with a newline");
            Vec::new()
        }
    }
}

/// The Python SDK's functions (`crates/statefun/tests/python/functions.py`) on a free port,
/// killed when dropped.
pub(crate) struct PythonFunctions {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub(crate) port: u16,
}

impl PythonFunctions {
    /// Starts the functions on a free port.
    pub(crate) fn start() -> Self {
        Self::start_on(0)
    }

    /// Stops the functions and starts them again on the same port, as an endpoint restarted
    /// by its operators.
    pub(crate) fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        *self = Self::start_on(self.port);
    }

    /// Starts the functions on `port` (0: a free one).
    fn start_on(port: u16) -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../statefun/tests/python/functions.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with `pip install apache-flink-statefun aiohttp`");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("the functions' stdout is piped");
        BufReader::new(stdout).read_line(&mut line).expect("the functions print their port");
        let port = line.trim().strip_prefix("PORT ").and_then(|port| port.parse().ok());
        let port = port.unwrap_or_else(|| panic!("expected `PORT <n>` from the functions, got `{line}`"));
        Self { child, port }
    }
}

impl Drop for PythonFunctions {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
