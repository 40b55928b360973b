//! `eddy state list | get`: the committed state of a dataflow's services, from the running
//! dataflow or, when none runs, from `<data-dir>/state`.

use std::{
    io::{self, BufWriter, Write},
    path::Path,
};

use anyhow::bail;
use clap::{Subcommand, ValueEnum};

use crate::target::Target;

/// The `state` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum StateCommand {
    /// Print every key of a state with its value, one `<key> <json>` line each. A windowed
    /// service's keys are `<start>/<end>/<key>`: its open windows, or, for sliding windows
    /// whose state merges, its open panes (`<pane start>/<pane end>/<key>`).
    #[command(visible_alias = "ls")]
    List {
        /// The service.
        service: String,
        /// The state.
        state: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Also list the engine's own entries, whose keys start with `~` (the event time read
        /// from each source partition, window parts waiting for their flush, the end of the
        /// last window flushed for a key kept in panes).
        #[arg(long)]
        internal: bool,
    },
    /// Print the value of one key, as JSON.
    Get {
        /// The service.
        service: String,
        /// The state.
        state: String,
        /// The key.
        key: String,
    },
}

/// How `state list` prints entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// The key's bytes, a space and the value's JSON.
    Text,
    /// One JSON object per line: `{"key":…,"value":…}`.
    Json,
}

/// Runs a `state` subcommand.
pub(crate) fn run(data_dir: &Path, command: StateCommand) -> anyhow::Result<()> {
    match command {
        StateCommand::List { service, state, format, internal } => {
            list(data_dir, &service, &state, format, internal)
        }
        StateCommand::Get { service, state, key } => get(data_dir, &service, &state, &key),
    }
}

fn list(data_dir: &Path, service: &str, state: &str, format: Format, internal: bool) -> anyhow::Result<()> {
    let entries = Target::connect(data_dir)?.state_list(service, state)?;
    let mut out = BufWriter::new(io::stdout().lock());
    for (key, value) in entries.iter().filter(|(key, _)| internal || !key.starts_with(b"~")) {
        match format {
            Format::Text => {
                out.write_all(key)?;
                out.write_all(b" ")?;
                serde_json::to_writer(&mut out, value).map_err(io::Error::from)?;
            }
            Format::Json => {
                let key = String::from_utf8_lossy(key);
                serde_json::to_writer(&mut out, &serde_json::json!({ "key": key, "value": value }))
                    .map_err(io::Error::from)?;
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn get(data_dir: &Path, service: &str, state: &str, key: &str) -> anyhow::Result<()> {
    let Some(value) = Target::connect(data_dir)?.state_get(service, state, key.as_bytes())? else {
        bail!("no key '{key}' in state '{state}' of service '{service}'");
    };
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, &value).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}
