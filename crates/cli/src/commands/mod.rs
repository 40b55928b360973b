//! The command handlers, one per file, and what they share: opening the log.

pub(crate) mod app;
pub(crate) mod bench;
pub(crate) mod build;
pub(crate) mod consume;
pub(crate) mod invoke;
pub(crate) mod metrics;
pub(crate) mod produce;
pub(crate) mod run;
pub(crate) mod state;
pub(crate) mod topic;

use std::path::Path;

use anyhow::Context;
use eddy_log::{Log, Options};
use eddy_types::TopicName;

use crate::cli::{Cli, Command};

/// Runs the command given on the command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    let data_dir = cli.data_dir.as_path();
    match cli.command {
        Command::Topic(command) => topic::run(data_dir, command),
        Command::Produce(args) => produce::run(data_dir, &args),
        Command::Consume(args) => consume::run(data_dir, &args),
        Command::Build(args) => build::run(data_dir, &args),
        Command::Run(args) => run::run(data_dir, &args),
        Command::State(command) => state::run(data_dir, command),
        Command::Invoke(args) => invoke::run(data_dir, &args),
        Command::Bench(command) => bench::run(command),
    }
}

/// Opens the log of the data directory, taking exclusive ownership of it for the life of
/// the returned value.
pub(crate) fn open_log(data_dir: &Path) -> anyhow::Result<Log> {
    Log::open(data_dir.join("log"), Options::default())
        .with_context(|| format!("cannot use data directory '{}'", data_dir.display()))
}

/// Validates a topic name given on the command line, so a bad one is reported with the
/// rule it breaks rather than as an unknown topic.
pub(crate) fn topic_name(name: &str) -> anyhow::Result<TopicName> {
    Ok(TopicName::new(name)?)
}
