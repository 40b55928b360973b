//! Records: the unit of data in topics and dataflows.

use bytes::Bytes;

use crate::Timestamp;

/// A named header attached to a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name.
    pub name: String,
    /// Header value, opaque bytes.
    pub value: Bytes,
}

/// An owned record: optional key, value, event time and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Partitioning key; `None` for unkeyed records.
    pub key: Option<Bytes>,
    /// Payload.
    pub value: Bytes,
    /// Event time in milliseconds since the Unix epoch.
    pub timestamp: Timestamp,
    /// Headers, in insertion order.
    pub headers: Vec<Header>,
}

impl Record {
    /// A record without headers.
    pub fn new(key: Option<impl Into<Bytes>>, value: impl Into<Bytes>, timestamp: Timestamp) -> Self {
        Record { key: key.map(Into::into), value: value.into(), timestamp, headers: Vec::new() }
    }

    /// Borrows this record, for appending without copying.
    pub fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            key: self.key.as_deref(),
            value: &self.value,
            timestamp: self.timestamp,
            headers: &self.headers,
        }
    }
}

/// A borrowed record, the input of appends: nothing is copied until it is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Partitioning key; `None` for unkeyed records.
    pub key: Option<&'a [u8]>,
    /// Payload.
    pub value: &'a [u8],
    /// Event time in milliseconds since the Unix epoch.
    pub timestamp: Timestamp,
    /// Headers, in insertion order.
    pub headers: &'a [Header],
}

impl<'a> RecordRef<'a> {
    /// A record without headers.
    pub fn new(key: Option<&'a [u8]>, value: &'a [u8], timestamp: Timestamp) -> Self {
        RecordRef { key, value, timestamp, headers: &[] }
    }
}
