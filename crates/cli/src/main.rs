//! `eddy`: the command line of Eddy. Today it manages the topics of the embedded event log
//! and produces and consumes their records.
//!
//! Every command first tries `<data-dir>/eddy.sock`: when a process (`eddy run`) holds the
//! data directory, the command goes through it; otherwise it opens the log in
//! `<data-dir>/log` (or the state in `<data-dir>/state`) itself, does its work and exits. Errors are
//! printed as `error: <message>` on stderr with exit status 1; a closed stdout (as with
//! `eddy consume ... | head`) ends a command quietly with status 0.

mod cli;
mod commands;
mod lines;
mod report;
mod table;
mod target;

use std::{io::IsTerminal, process::ExitCode};

use clap::Parser;

use crate::cli::Cli;

/// mimalloc rather than the system allocator: records in flight are small JSON values, built
/// and dropped by the million, and mimalloc's thread-local free lists make that about twice as
/// cheap as glibc's `malloc` (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and version go to stdout with status 0; usage errors are errors like any other.
            let failed = error.use_stderr();
            let _ = error.print();
            return if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS };
        }
    };
    init_tracing();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report::exit_code(&error),
    }
}

/// Logs to stderr, at the level given by `RUST_LOG` (default `warn`, so that the log's
/// recovery warnings show).
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .with_target(false)
        .init();
}
