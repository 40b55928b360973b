//! `eddy topic create | list | describe | delete`.

use std::{
    io::{self, Write},
    path::Path,
    time::Duration,
};

use clap::{Args, Subcommand};
use eddy_log::{Options, TopicConfig};
use eddy_types::ByteSize;

use super::topic_name;
use crate::{table::Table, target::Target};

/// The `topic` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum TopicCommand {
    /// Create a topic.
    Create(CreateArgs),
    /// List topics with their settings and size on disk.
    #[command(visible_alias = "ls")]
    List,
    /// Show a topic's settings and its partitions' offsets and sizes.
    Describe {
        /// The topic.
        name: String,
    },
    /// Delete a topic and all its records.
    Delete {
        /// The topic.
        name: String,
    },
}

/// Arguments of `eddy topic create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Name: 1 to 249 letters, digits, '.', '_' or '-', not starting with '.'.
    name: String,
    /// Number of partitions.
    #[arg(short, long, default_value_t = 1, value_name = "N")]
    partitions: u32,
    /// Remove whole segments whose newest record is older than this (e.g. 7d, 12h).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    retention_time: Option<Duration>,
    /// Remove the oldest segments while a partition is larger than this (e.g. 1GiB).
    #[arg(long, value_name = "SIZE")]
    retention_bytes: Option<ByteSize>,
    /// Start a new segment file once the active one reaches this size (default 128MiB).
    #[arg(long, value_name = "SIZE")]
    segment_size: Option<ByteSize>,
}

/// Runs a `topic` subcommand.
pub(crate) fn run(data_dir: &Path, command: TopicCommand) -> anyhow::Result<()> {
    match command {
        TopicCommand::Create(args) => create(data_dir, &args),
        TopicCommand::List => list(data_dir),
        TopicCommand::Describe { name } => describe(data_dir, &name),
        TopicCommand::Delete { name } => delete(data_dir, &name),
    }
}

fn create(data_dir: &Path, args: &CreateArgs) -> anyhow::Result<()> {
    let name = topic_name(&args.name)?;
    let config = TopicConfig {
        partitions: args.partitions,
        retention_time: args.retention_time,
        retention_bytes: args.retention_bytes.map(|b| b.0),
        segment_bytes: args.segment_size.map(|b| b.0),
    };
    Target::connect(data_dir)?.create_topic(&name, config)?;
    writeln!(io::stdout().lock(), "topic \"{name}\" created")?;
    Ok(())
}

fn list(data_dir: &Path) -> anyhow::Result<()> {
    let topics = Target::connect(data_dir)?.topics()?;
    let mut out = io::stdout().lock();
    if topics.is_empty() {
        writeln!(out, "No topics found")?;
        return Ok(());
    }
    let mut table = Table::new(&["NAME", "PARTITIONS", "RETENTION-TIME", "RETENTION-BYTES", "SIZE"]);
    for topic in &topics {
        table.row(vec![
            topic.name.clone(),
            topic.config.partitions.to_string(),
            retention_time(topic.config.retention_time),
            retention_bytes(topic.config.retention_bytes),
            ByteSize(topic.size_bytes).to_string(),
        ]);
    }
    table.write(&mut out)?;
    Ok(())
}

fn describe(data_dir: &Path, name: &str) -> anyhow::Result<()> {
    topic_name(name)?;
    let topic = Target::connect(data_dir)?.describe_topic(name)?;
    let config = &topic.config;
    let segment_size = match config.segment_bytes {
        Some(bytes) => ByteSize(bytes).to_string(),
        None => format!("{} (default)", ByteSize(Options::default().segment_bytes)),
    };
    let mut table = Table::new(&["PARTITION", "START", "END", "RECORDS", "SIZE", "SEGMENTS"]);
    for partition in &topic.partitions {
        table.row(vec![
            partition.id.to_string(),
            partition.start_offset.to_string(),
            partition.end_offset.to_string(),
            (partition.end_offset - partition.start_offset).to_string(),
            ByteSize(partition.size_bytes).to_string(),
            partition.segments.to_string(),
        ]);
    }
    let mut out = io::stdout().lock();
    writeln!(out, "name:             {}", topic.name)?;
    writeln!(out, "partitions:       {}", config.partitions)?;
    writeln!(out, "retention-time:   {}", retention_time(config.retention_time))?;
    writeln!(out, "retention-bytes:  {}", retention_bytes(config.retention_bytes))?;
    writeln!(out, "segment-size:     {segment_size}")?;
    writeln!(out)?;
    table.write(&mut out)?;
    Ok(())
}

fn delete(data_dir: &Path, name: &str) -> anyhow::Result<()> {
    topic_name(name)?;
    Target::connect(data_dir)?.delete_topic(name)?;
    writeln!(io::stdout().lock(), "topic \"{name}\" deleted")?;
    Ok(())
}

fn retention_time(time: Option<Duration>) -> String {
    time.map_or_else(|| "-".to_owned(), |t| humantime::format_duration(t).to_string())
}

fn retention_bytes(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".to_owned(), |b| ByteSize(b).to_string())
}
