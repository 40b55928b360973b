//! Reading a topic for a consumer: where each partition starts, reading round by round,
//! waiting for new records. The server runs it for a remote consumer, the CLI runs it on
//! a log it opened itself: one reader, two callers.
//!
//! Each partition is read in turn, one read per partition per round, so records of one
//! partition come out in offset order. Without `follow` the reader ends once every
//! partition reached the committed end it had when the reader was opened.

use std::{sync::Arc, time::Duration};

use eddy_log::{Log, Partition, StoredRecord};
use eddy_types::{Offset, PartitionId, Timestamp};
use serde::{Deserialize, Serialize};

use super::{Error, Result, frame};

/// Bytes asked for per read.
const READ_BYTES: usize = 1 << 20;
/// How long one idle round waits for new records, spread over the partitions.
const IDLE_WAIT: Duration = Duration::from_millis(200);

/// What a consumer asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConsumeRequest {
    /// The topic.
    pub topic: String,
    /// Only this partition; all when `None`.
    pub partition: Option<PartitionId>,
    /// Where every partition read starts.
    pub from: StartAt,
    /// Keep waiting for new records at the end (otherwise stop at the committed end the
    /// partitions had when reading started).
    pub follow: bool,
}

/// Where a consumer starts in each partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartAt {
    /// The oldest stored record.
    Beginning,
    /// The committed end: only records committed from now on.
    End,
    /// This absolute offset (an error if it is not stored).
    Offset(Offset),
    /// This many records before the end (or the oldest stored record).
    Tail(u64),
}

/// What one [`LogReader::poll`] (or [`Consumer::poll`](super::Consumer::poll)) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// It handed out records.
    Records,
    /// Nothing new (yet): every partition is at its end. Returned at once the first time,
    /// then after waiting up to about 200 ms for new records.
    CaughtUp,
    /// Nothing more will come.
    End,
}

/// A consumed record, read from the log or from the socket.
#[derive(Debug, Clone, Copy)]
pub struct ConsumedRecord<'a> {
    /// The partition it is in.
    pub partition: PartitionId,
    /// Its offset in the partition.
    pub offset: Offset,
    /// Event time, milliseconds since the Unix epoch.
    pub timestamp: Timestamp,
    /// Key, if it has one.
    pub key: Option<&'a [u8]>,
    /// Value.
    pub value: &'a [u8],
    headers: Headers<'a>,
}

/// A record's headers, as stored or as received.
#[derive(Debug, Clone, Copy)]
enum Headers<'a> {
    Stored(StoredRecord<'a>),
    /// `count` pairs of length-prefixed name and value, as on the wire.
    Wire {
        bytes: &'a [u8],
        count: u32,
    },
}

impl<'a> ConsumedRecord<'a> {
    /// A record of `partition` as the log stores it.
    pub fn stored(partition: PartitionId, record: StoredRecord<'a>) -> Self {
        ConsumedRecord {
            partition,
            offset: record.offset,
            timestamp: record.timestamp,
            key: record.key,
            value: record.value,
            headers: Headers::Stored(record),
        }
    }

    /// A record received in a records frame; `headers` holds `count` encoded pairs.
    pub(crate) fn wire(
        partition: PartitionId,
        offset: Offset,
        timestamp: Timestamp,
        key: Option<&'a [u8]>,
        value: &'a [u8],
        headers: (&'a [u8], u32),
    ) -> Self {
        let (bytes, count) = headers;
        ConsumedRecord { partition, offset, timestamp, key, value, headers: Headers::Wire { bytes, count } }
    }

    /// Whether the record has headers (cheaper than asking for them).
    pub fn has_headers(&self) -> bool {
        match self.headers {
            Headers::Stored(record) => record.headers().next().is_some(),
            Headers::Wire { count, .. } => count > 0,
        }
    }

    /// The record's headers as `(name, value)` pairs.
    pub fn headers(&self) -> Vec<(&'a [u8], &'a [u8])> {
        match self.headers {
            Headers::Stored(record) => record.headers().collect(),
            Headers::Wire { bytes, count } => {
                let mut input = frame::Input::new(bytes);
                (0..count)
                    .map_while(|_| Some((input.bytes("header").ok()?, input.bytes("header").ok()?)))
                    .collect()
            }
        }
    }

    /// Appends the header count and the headers in wire format.
    pub(crate) fn put_headers(&self, out: &mut Vec<u8>) {
        match self.headers {
            Headers::Stored(record) => {
                let count_at = out.len();
                frame::put_u32(out, 0);
                let mut count = 0u32;
                for (name, value) in record.headers() {
                    frame::put_bytes(out, name);
                    frame::put_bytes(out, value);
                    count += 1;
                }
                out[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
            }
            Headers::Wire { bytes, count } => {
                frame::put_u32(out, count);
                out.extend_from_slice(bytes);
            }
        }
    }
}

/// Where reading a partition stands.
#[derive(Debug)]
struct Cursor {
    partition: Arc<Partition>,
    /// The next offset to hand out.
    next: Offset,
    /// Without `follow`: the committed end when reading started.
    stop: Option<Offset>,
}

impl Cursor {
    fn finished(&self) -> bool {
        self.stop.is_some_and(|stop| self.next >= stop)
    }
}

/// Reads a topic of a log for one consumer.
#[derive(Debug)]
pub struct LogReader {
    cursors: Vec<Cursor>,
    follow: bool,
    /// The last poll said [`Poll::CaughtUp`] and nothing was read since.
    caught_up: bool,
}

impl LogReader {
    /// Positions a reader as `request` says.
    ///
    /// # Errors
    /// An unknown topic or partition, an offset that is not stored, errors of recovery.
    pub fn open(log: &Log, request: &ConsumeRequest) -> Result<LogReader> {
        let topic = log.topic(&request.topic)?;
        let partitions = match request.partition {
            Some(id) => vec![topic.partition(id)?],
            None => topic.partitions()?,
        };
        let mut cursors = Vec::with_capacity(partitions.len());
        for partition in partitions {
            let next = start_offset(&partition, topic.name().as_str(), request.from)?;
            let stop = (!request.follow).then(|| partition.committed_end());
            cursors.push(Cursor { partition, next, stop });
        }
        Ok(LogReader { cursors, follow: request.follow, caught_up: false })
    }

    /// Reads one round (about a megabyte per partition) and hands every record to `each`.
    /// While following and caught up, waits for new records first (up to about 200 ms).
    ///
    /// # Errors
    /// Errors of reading the log; the first error `each` returns.
    pub fn poll<E: From<Error>>(
        &mut self,
        mut each: impl FnMut(&ConsumedRecord<'_>) -> Result<(), E>,
    ) -> Result<Poll, E> {
        loop {
            if self.cursors.iter().all(Cursor::finished) {
                return Ok(Poll::End);
            }
            let mut progressed = false;
            for cursor in self.cursors.iter_mut().filter(|c| !c.finished()) {
                progressed |= read_once(cursor, &mut each)?;
            }
            if progressed {
                self.caught_up = false;
                return Ok(Poll::Records);
            }
            if !self.follow {
                return Ok(Poll::End);
            }
            if !self.caught_up {
                self.caught_up = true;
                return Ok(Poll::CaughtUp);
            }
            if !self.wait() {
                return Ok(Poll::CaughtUp);
            }
        }
    }

    /// Waits until some partition has records past its cursor; false on timeout.
    fn wait(&self) -> bool {
        let wait = (IDLE_WAIT / self.cursors.len().max(1) as u32).max(Duration::from_millis(1));
        self.cursors.iter().any(|cursor| cursor.partition.wait_for(cursor.next, wait))
    }
}

/// Where a partition is read from.
fn start_offset(partition: &Partition, topic: &str, from: StartAt) -> Result<Offset> {
    let start = partition.start_offset();
    let end = partition.committed_end();
    Ok(match from {
        StartAt::Beginning => start,
        StartAt::End => end,
        StartAt::Tail(n) => end.saturating_sub(n).max(start),
        StartAt::Offset(offset) => {
            if offset < start || offset > end {
                return Err(Error::Log(eddy_log::Error::OffsetOutOfRange {
                    topic: topic.to_owned(),
                    partition: partition.id(),
                    requested: offset,
                    start,
                    end,
                }));
            }
            offset
        }
    })
}

/// Reads one batch's worth of records of a partition and hands them out; returns whether
/// there were any.
fn read_once<E: From<Error>>(
    cursor: &mut Cursor,
    each: &mut impl FnMut(&ConsumedRecord<'_>) -> Result<(), E>,
) -> Result<bool, E> {
    let batches = cursor.partition.read(cursor.next, READ_BYTES).map_err(Error::Log)?;
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
            each(&ConsumedRecord::stored(id, record))?;
        }
    }
    cursor.next = last.next_offset().min(limit).max(cursor.next);
    Ok(true)
}
