//! Serves a data directory to `eddy` commands in other terminals, with the test backend
//! (a plain log, and a demo state), until stdin closes or Enter is pressed:
//!
//! ```sh
//! cargo run --release -p eddy-server --features test-util --example serve_log -- /tmp/data
//! eddy --data-dir /tmp/data topic list       # in another terminal: goes through the socket
//! ```

use std::{io::Read, path::PathBuf, sync::Arc};

use anyhow::Context;
use eddy_server::local::{self, testing::LogBackend};

fn main() -> anyhow::Result<()> {
    let data_dir = PathBuf::from(std::env::args_os().nth(1).context("usage: serve_log <data-dir>")?);
    let backend = Arc::new(LogBackend::open(&data_dir)?);
    backend.put_state("demo", "counts", b"hello", serde_json::json!(1));
    let server = local::serve(&data_dir, backend)?;
    eprintln!("serving {} (pid {}); press Enter to stop", server.path().display(), std::process::id());
    let _ = std::io::stdin().read(&mut [0u8; 1]);
    server.shutdown()?;
    Ok(())
}
