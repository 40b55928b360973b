//! The messages: JSON requests and replies, and the binary records and entries frames
//! (layouts in the [module docs](super)).

use std::io::{self, Write};

use eddy_log::TopicConfig;
use eddy_types::{Offset, PartitionId, RecordRef, Timestamp};
use serde::{Deserialize, Serialize};

use super::{
    ConsumeRequest, ConsumedRecord, TopicDescription, TopicInfo,
    frame::{self, FrameBuf, Input, Kind, Malformed},
};

/// Key length that means "no key".
const NO_KEY: u32 = u32::MAX;
/// The fewest bytes a record takes in a records frame: timestamp and three lengths.
const MIN_RECORD_BYTES: usize = 8 + 4 + 4 + 4;
/// The fewest bytes an entry takes in an entries frame: two lengths.
const MIN_ENTRY_BYTES: usize = 4 + 4;

/// A client's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub(crate) enum Request {
    /// The first message of every connection.
    Hello {
        version: u32,
    },
    CreateTopic {
        name: String,
        config: TopicConfig,
    },
    ListTopics,
    DescribeTopic {
        name: String,
    },
    DeleteTopic {
        name: String,
    },
    /// Starts a produce stream: records frames follow, then [`Request::End`].
    Produce {
        topic: String,
        partition: Option<PartitionId>,
    },
    /// Ends a produce stream.
    End,
    Consume(ConsumeRequest),
    StateGet {
        service: String,
        state: String,
        key: Vec<u8>,
    },
    StateList {
        service: String,
        state: String,
    },
}

/// The server's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "kebab-case")]
pub(crate) enum Reply {
    Hello {
        version: u32,
        pid: u32,
    },
    /// The request is carried out.
    Done,
    Topics {
        topics: Vec<TopicInfo>,
    },
    Topic {
        topic: TopicDescription,
    },
    /// The produce stream is open; the topic has this many partitions.
    ProduceReady {
        partitions: u32,
    },
    /// A records frame of the produce stream is durable and visible at these offsets.
    Ack {
        partition: PartitionId,
        start: Offset,
        end: Offset,
    },
    /// The consumer has caught up (sent again while it waits).
    Idle,
    /// The consume or state-list stream is over.
    End,
    Value {
        value: serde_json::Value,
    },
    NoValue,
    /// The request failed; `message` is what to show.
    Error {
        message: String,
    },
}

/// Reads a JSON frame's body as `T`.
pub(crate) fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("unreadable message: {e}"))
}

/// A records frame being filled, for one partition from one offset on.
#[derive(Debug)]
pub(crate) struct RecordsFrame {
    frame: FrameBuf,
    partition: PartitionId,
    next_offset: Offset,
    count: u32,
    count_at: usize,
}

impl RecordsFrame {
    /// An empty frame; [`start`](Self::start) it before pushing records.
    pub(crate) fn new() -> RecordsFrame {
        let mut frame = RecordsFrame {
            frame: FrameBuf::new(Kind::Records),
            partition: 0,
            next_offset: 0,
            count: 0,
            count_at: 0,
        };
        frame.start(0, 0);
        frame
    }

    /// Empties the frame and starts it for records of `partition` from `base_offset`.
    pub(crate) fn start(&mut self, partition: PartitionId, base_offset: Offset) {
        self.frame.restart(Kind::Records);
        let body = self.frame.body();
        frame::put_u32(body, partition);
        frame::put_u64(body, base_offset);
        self.count_at = body.len();
        frame::put_u32(body, 0);
        self.partition = partition;
        self.next_offset = base_offset;
        self.count = 0;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Records in the frame.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    pub(crate) fn body_len(&self) -> usize {
        self.frame.body_len()
    }

    /// Whether `record` can follow the records already in the frame.
    pub(crate) fn continues(&self, record: &ConsumedRecord<'_>) -> bool {
        record.partition == self.partition && record.offset == self.next_offset
    }

    fn put_head(&mut self, timestamp: Timestamp, key: Option<&[u8]>, value: &[u8]) {
        let body = self.frame.body();
        frame::put_u64(body, timestamp as u64);
        match key {
            Some(key) => frame::put_bytes(body, key),
            None => frame::put_u32(body, NO_KEY),
        }
        frame::put_bytes(body, value);
        self.count += 1;
        self.next_offset += 1;
    }

    /// Adds a record to produce.
    pub(crate) fn push_ref(&mut self, record: &RecordRef<'_>) {
        self.put_head(record.timestamp, record.key, record.value);
        let body = self.frame.body();
        frame::put_u32(body, u32::try_from(record.headers.len()).unwrap_or(u32::MAX));
        for header in record.headers {
            frame::put_bytes(body, header.name.as_bytes());
            frame::put_bytes(body, &header.value);
        }
    }

    /// Adds a consumed record; it should [`continue`](Self::continues) the frame.
    pub(crate) fn push_consumed(&mut self, record: &ConsumedRecord<'_>) {
        self.put_head(record.timestamp, record.key, record.value);
        record.put_headers(self.frame.body());
    }

    /// Writes the frame.
    pub(crate) fn write_to(&mut self, out: &mut impl Write) -> io::Result<()> {
        let at = self.count_at;
        self.frame.body()[at..at + 4].copy_from_slice(&self.count.to_le_bytes());
        self.frame.write_to(out)
    }
}

/// The records of a records frame's body, checked as they are read.
#[derive(Debug)]
pub(crate) struct RecordsIter<'a> {
    input: Input<'a>,
    partition: PartitionId,
    next_offset: Offset,
    remaining: u32,
}

impl<'a> RecordsIter<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Result<RecordsIter<'a>, Malformed> {
        let mut input = Input::new(body);
        let partition = input.u32("records")?;
        let next_offset = input.u64("records")?;
        let remaining = input.u32("records")?;
        if (remaining as usize).saturating_mul(MIN_RECORD_BYTES) > input.remaining() {
            return Err(Malformed("records"));
        }
        Ok(RecordsIter { input, partition, next_offset, remaining })
    }

    /// The partition the records belong to.
    pub(crate) fn partition_id(&self) -> PartitionId {
        self.partition
    }

    /// How many records are left.
    pub(crate) fn remaining(&self) -> u32 {
        self.remaining
    }

    fn record(&mut self) -> Result<ConsumedRecord<'a>, Malformed> {
        let what = "records";
        let timestamp = self.input.u64(what)? as Timestamp;
        let key = match self.input.u32(what)? {
            NO_KEY => None,
            len => Some(self.input.take(len as usize, what)?),
        };
        let value = self.input.bytes(what)?;
        let header_count = self.input.u32(what)?;
        let start = self.input.clone();
        for _ in 0..header_count {
            self.input.bytes(what)?;
            self.input.bytes(what)?;
        }
        let headers = start.prefix(start.remaining() - self.input.remaining());
        let offset = self.next_offset;
        self.next_offset += 1;
        Ok(ConsumedRecord::wire(self.partition, offset, timestamp, key, value, (headers, header_count)))
    }
}

impl<'a> Iterator for RecordsIter<'a> {
    type Item = Result<ConsumedRecord<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            // Bytes after the last record mean the frame is not what it claims.
            return (!self.input.is_empty()).then(|| {
                self.input = Input::new(&[]);
                Err(Malformed("records"))
            });
        }
        self.remaining -= 1;
        let record = self.record();
        if record.is_err() {
            self.remaining = 0;
            self.input = Input::new(&[]);
        }
        Some(record)
    }
}

/// Writes state entries as entries frames of about `target_bytes` each.
pub(crate) fn write_entries(
    out: &mut impl Write,
    entries: &[(Vec<u8>, serde_json::Value)],
    target_bytes: usize,
) -> io::Result<()> {
    let mut frame = FrameBuf::new(Kind::Entries);
    let mut count = 0u32;
    for (i, (key, value)) in entries.iter().enumerate() {
        if count == 0 {
            frame.restart(Kind::Entries);
            frame::put_u32(frame.body(), 0);
        }
        let body = frame.body();
        frame::put_bytes(body, key);
        let len_at = body.len();
        frame::put_u32(body, 0);
        serde_json::to_writer(&mut *body, value).map_err(io::Error::from)?;
        let len = (body.len() - len_at - 4) as u32;
        body[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
        count += 1;
        if frame.body_len() >= target_bytes || i + 1 == entries.len() {
            frame.body()[5..9].copy_from_slice(&count.to_le_bytes());
            frame.write_to(out)?;
            count = 0;
        }
    }
    Ok(())
}

/// Reads an entries frame's body into `entries`.
pub(crate) fn read_entries(
    body: &[u8],
    entries: &mut Vec<(Vec<u8>, serde_json::Value)>,
) -> Result<(), Malformed> {
    let mut input = Input::new(body);
    let count = input.u32("entries")?;
    if (count as usize).saturating_mul(MIN_ENTRY_BYTES) > input.remaining() {
        return Err(Malformed("entries"));
    }
    for _ in 0..count {
        let key = input.bytes("entries")?.to_vec();
        let value = serde_json::from_slice(input.bytes("entries")?).map_err(|_| Malformed("entries"))?;
        entries.push((key, value));
    }
    if !input.is_empty() {
        return Err(Malformed("entries"));
    }
    Ok(())
}
