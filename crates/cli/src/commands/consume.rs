//! `eddy consume`: print a topic's records, optionally following new ones.
//!
//! Reading is `eddy_server::local::LogReader`'s, here or in the process serving the data
//! directory: each partition is read from its start offset in turn, so records of one
//! partition come out in offset order. With `--disable-continuous` the command ends once
//! every partition reached the committed end it had when the command started; otherwise
//! it waits for more, flushing its output whenever it has caught up.

use std::{
    io::{self, BufWriter, Write},
    path::Path,
};

use clap::{Args, ValueEnum};
use eddy_server::local::{ConsumeRequest, ConsumedRecord, Poll, StartAt};
use eddy_types::{Offset, PartitionId};

use super::topic_name;
use crate::target::Target;

/// Arguments of `eddy consume`.
#[derive(Debug, Args)]
pub(crate) struct ConsumeArgs {
    /// The topic to read.
    topic: String,
    /// Start at the oldest stored record (default: only records produced from now on).
    #[arg(short = 'B', long, visible_alias = "beginning", conflicts_with_all = ["offset", "tail"])]
    from_beginning: bool,
    /// Start at this absolute offset (in every partition read).
    #[arg(long, value_name = "OFFSET", conflicts_with = "tail")]
    offset: Option<Offset>,
    /// Start N records before the end of each partition.
    #[arg(short = 'T', long, value_name = "N")]
    tail: Option<u64>,
    /// Read only this partition (default: all).
    #[arg(short, long, value_name = "N")]
    partition: Option<PartitionId>,
    /// Stop at the end of the records present when the command started, instead of
    /// waiting for more.
    #[arg(short, long)]
    disable_continuous: bool,
    /// Print keys too, as `[key] value` (`[null]` for records without a key).
    #[arg(short, long)]
    key_value: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// How records are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The value's raw bytes and a newline (with `-k`, the key first).
    Text,
    /// One JSON object per line: partition, offset, timestamp, key, value.
    Json,
}

/// Runs `eddy consume`.
pub(crate) fn run(data_dir: &Path, args: &ConsumeArgs) -> anyhow::Result<()> {
    topic_name(&args.topic)?;
    let from = if args.from_beginning {
        StartAt::Beginning
    } else if let Some(offset) = args.offset {
        StartAt::Offset(offset)
    } else if let Some(tail) = args.tail {
        StartAt::Tail(tail)
    } else {
        StartAt::End
    };
    let request = ConsumeRequest {
        topic: args.topic.clone(),
        partition: args.partition,
        from,
        follow: !args.disable_continuous,
    };
    let mut target = Target::connect(data_dir)?;
    let mut records = target.consume(&request)?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(256 << 10, stdout.lock());
    let printer = Printer { format: args.format, key_value: args.key_value };
    loop {
        match records.poll(|record| Ok(printer.print(record, &mut out)?))? {
            Poll::Records => {}
            Poll::CaughtUp => out.flush()?,
            Poll::End => break,
        }
    }
    out.flush()?;
    Ok(())
}

/// Writes records in the chosen format.
struct Printer {
    format: Format,
    key_value: bool,
}

impl Printer {
    fn print(&self, record: &ConsumedRecord<'_>, out: &mut impl Write) -> io::Result<()> {
        match self.format {
            Format::Text => {
                if self.key_value {
                    match record.key {
                        Some(key) => {
                            out.write_all(b"[")?;
                            out.write_all(key)?;
                            out.write_all(b"] ")?;
                        }
                        None => out.write_all(b"[null] ")?,
                    }
                }
                out.write_all(record.value)?;
                out.write_all(b"\n")
            }
            Format::Json => {
                write!(
                    out,
                    "{{\"partition\":{},\"offset\":{},\"timestamp\":{},\"key\":",
                    record.partition, record.offset, record.timestamp
                )?;
                match record.key {
                    Some(key) => json_string(out, key)?,
                    None => out.write_all(b"null")?,
                }
                out.write_all(b",\"value\":")?;
                json_string(out, record.value)?;
                out.write_all(b"}\n")
            }
        }
    }
}

/// Writes `bytes` as a JSON string, replacing invalid UTF-8 with U+FFFD.
fn json_string(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &*String::from_utf8_lossy(bytes)).map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use eddy_log::{Log, Options, TopicConfig};
    use eddy_types::{RecordRef, TopicName};

    use super::*;

    fn printed(format: Format, key_value: bool, key: Option<&[u8]>, value: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), Options::default()).unwrap();
        let topic = log.create_topic(&TopicName::new("t").unwrap(), TopicConfig::default()).unwrap();
        let partition = topic.partition(0).unwrap();
        partition.append([RecordRef::new(key, value, 42)]).unwrap();
        partition.commit().unwrap();
        let batches = partition.read(0, 1 << 20).unwrap();
        let record = ConsumedRecord::stored(0, batches[0].records().next().unwrap());
        let mut out = Vec::new();
        Printer { format, key_value }.print(&record, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }
    #[test]
    fn text_prints_the_value_and_optionally_the_key() {
        assert_eq!(printed(Format::Text, false, Some(b"k"), b"v"), "v\n");
        assert_eq!(printed(Format::Text, true, Some(b"k"), b"v"), "[k] v\n");
        assert_eq!(printed(Format::Text, true, None, b"v"), "[null] v\n");
    }

    #[test]
    fn json_escapes_and_replaces_invalid_utf8() {
        assert_eq!(
            printed(Format::Json, false, None, b"a\"b\xff"),
            "{\"partition\":0,\"offset\":0,\"timestamp\":42,\"key\":null,\"value\":\"a\\\"b\u{fffd}\"}\n"
        );
    }
}
