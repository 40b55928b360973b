//! The command line: global flags and the command tree.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::{
    bench::BenchCommand, build::BuildArgs, consume::ConsumeArgs, invoke::InvokeArgs, produce::ProduceArgs,
    run::RunArgs, state::StateCommand, topic::TopicCommand,
};

/// Eddy: event-driven stateful apps in a single binary.
#[derive(Debug, Parser)]
#[command(name = "eddy", version, propagate_version = true)]
pub(crate) struct Cli {
    /// Directory holding Eddy's data; the event log lives in its `log` subdirectory.
    #[arg(long, global = true, env = "EDDY_DATA_DIR", default_value = "./.eddy", value_name = "DIR")]
    pub(crate) data_dir: PathBuf,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create, list, describe and delete topics.
    #[command(subcommand)]
    Topic(TopicCommand),
    /// Write records to a topic, one per line of stdin or of a file.
    Produce(ProduceArgs),
    /// Read records from a topic.
    Consume(ConsumeArgs),
    /// Compile a dataflow file's inline Rust functions (`run:`) to WebAssembly components.
    Build(BuildArgs),
    /// Run a dataflow file until Ctrl-C (or until its input is drained); builds its `run:`
    /// functions first when they are stale.
    Run(RunArgs),
    /// Read the committed state of a dataflow's services.
    #[command(subcommand)]
    State(StateCommand),
    /// Send a message to a stateful function of a module (`eddy run module.yaml`).
    Invoke(InvokeArgs),
    /// Benchmarks: run a Nexmark query and report events/s, latency, memory and correctness.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
