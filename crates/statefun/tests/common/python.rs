//! Starting the Python SDK's functions (`tests/python/functions.py`) on a free port.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// What to install when the Python side is missing.
pub const INSTALL: &str = "pip install apache-flink-statefun aiohttp";

/// The Python functions server; killed when dropped.
pub struct PythonFunctions {
    _child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

/// Fails the test, saying what to install, when python3 or the SDK is missing.
fn require_python() {
    let check = std::process::Command::new("python3").args(["-c", "import statefun, aiohttp"]).output();
    match check {
        Err(error) => panic!(
            "python3 is needed to run the Statefun SDK's functions ({error}); install Python 3, then: {INSTALL}"
        ),
        Ok(output) if !output.status.success() => panic!(
            "the Python packages of the Statefun SDK are missing ({}); install them with: {INSTALL}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Ok(_) => {}
    }
}

impl PythonFunctions {
    /// Starts `functions.py` and waits for its port.
    pub async fn start() -> Self {
        require_python();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/functions.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("the functions print their port within 30 s")
            .expect("reading the functions' output")
            .unwrap_or_else(|| panic!("{} exited before listening", script.display()));
        let port = line
            .strip_prefix("PORT ")
            .and_then(|port| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("expected `PORT <n>` from the functions, got `{line}`"));
        Self { _child: child, port }
    }
}
