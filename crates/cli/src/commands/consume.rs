//! `eddy consume`: print a topic's records, optionally following new ones.
//!
//! Each partition is read from its start offset in turn, one read per partition per
//! round, so records of one partition come out in offset order. With
//! `--disable-continuous` the command ends once every partition reached the committed end
//! it had when the command started; otherwise it waits for more.

use std::{
    io::{self, BufWriter, Write},
    path::Path,
    sync::Arc,
    time::Duration,
};

use clap::{Args, ValueEnum};
use eddy_log::{Partition, StoredRecord};
use eddy_types::{Offset, PartitionId};

use super::{open_log, topic_name};

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

/// Bytes asked for per read.
const READ_BYTES: usize = 1 << 20;
/// How long one idle round waits for new records, spread over the partitions.
const IDLE_WAIT: Duration = Duration::from_millis(200);

/// Where reading a partition stands.
struct Cursor {
    partition: Arc<Partition>,
    /// The next offset to print.
    next: Offset,
    /// With `--disable-continuous`: the committed end when the command started.
    stop: Option<Offset>,
}

impl Cursor {
    fn finished(&self) -> bool {
        self.stop.is_some_and(|stop| self.next >= stop)
    }
}

/// Runs `eddy consume`.
pub(crate) fn run(data_dir: &Path, args: &ConsumeArgs) -> anyhow::Result<()> {
    topic_name(&args.topic)?;
    let log = open_log(data_dir)?;
    let topic = log.topic(&args.topic)?;
    let partitions = match args.partition {
        Some(id) => vec![topic.partition(id)?],
        None => topic.partitions()?,
    };
    let mut cursors = Vec::with_capacity(partitions.len());
    for partition in partitions {
        let next = start_offset(&partition, topic.name().as_str(), args)?;
        let stop = args.disable_continuous.then(|| partition.committed_end());
        cursors.push(Cursor { partition, next, stop });
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(256 << 10, stdout.lock());
    let printer = Printer { format: args.format, key_value: args.key_value };
    loop {
        let mut progressed = false;
        for cursor in cursors.iter_mut().filter(|c| !c.finished()) {
            progressed |= read_once(cursor, &printer, &mut out)?;
        }
        if cursors.iter().all(Cursor::finished) {
            break;
        }
        if !progressed {
            // Every partition is at its end.
            if args.disable_continuous {
                break;
            }
            out.flush()?;
            let wait = (IDLE_WAIT / cursors.len().max(1) as u32).max(Duration::from_millis(1));
            for cursor in &cursors {
                if cursor.partition.wait_for(cursor.next, wait) {
                    break;
                }
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Where a partition is read from, per the command line.
fn start_offset(partition: &Partition, topic: &str, args: &ConsumeArgs) -> anyhow::Result<Offset> {
    let start = partition.start_offset();
    let end = partition.committed_end();
    Ok(if args.from_beginning {
        start
    } else if let Some(offset) = args.offset {
        if offset < start || offset > end {
            return Err(eddy_log::Error::OffsetOutOfRange {
                topic: topic.to_owned(),
                partition: partition.id(),
                requested: offset,
                start,
                end,
            }
            .into());
        }
        offset
    } else if let Some(tail) = args.tail {
        end.saturating_sub(tail).max(start)
    } else {
        end
    })
}

/// Reads and prints one batch's worth of records of a partition; returns whether there
/// were any.
fn read_once(cursor: &mut Cursor, printer: &Printer, out: &mut impl Write) -> anyhow::Result<bool> {
    let batches = cursor.partition.read(cursor.next, READ_BYTES)?;
    let Some(last) = batches.last() else { return Ok(false) };
    let limit = cursor.stop.unwrap_or(Offset::MAX);
    let id = cursor.partition.id();
    for batch in &batches {
        for record in batch.records() {
            if record.offset < cursor.next {
                continue;
            }
            if record.offset >= limit {
                break;
            }
            printer.print(id, &record, out)?;
        }
    }
    cursor.next = last.next_offset().min(limit).max(cursor.next);
    Ok(true)
}

/// Writes records in the chosen format.
struct Printer {
    format: Format,
    key_value: bool,
}

impl Printer {
    fn print(
        &self,
        partition: PartitionId,
        record: &StoredRecord<'_>,
        out: &mut impl Write,
    ) -> io::Result<()> {
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
                    "{{\"partition\":{partition},\"offset\":{},\"timestamp\":{},\"key\":",
                    record.offset, record.timestamp
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
        let record = batches[0].records().next().unwrap();
        let mut out = Vec::new();
        Printer { format, key_value }.print(0, &record, &mut out).unwrap();
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
