//! The values that cross the component boundary, mirroring `eddy:dataflow/types` and
//! `eddy:dataflow/batch` in `wit/dataflow.wit` field for field (wasmtime checks names and
//! types when it binds them).

use wasmtime::component::{ComponentType, Lift, Lower};

/// One record handed to an operator: `eddy:dataflow/types.record`.
#[derive(Debug, Clone, PartialEq, Eq, ComponentType, Lift, Lower)]
#[component(record)]
pub struct Record {
    /// The key's raw bytes; `None` when the record has no key.
    pub key: Option<Vec<u8>>,
    /// The value: a JSON document, UTF-8.
    pub value: Vec<u8>,
    /// Event time, milliseconds since the Unix epoch.
    pub timestamp: i64,
}

impl Record {
    /// A record with `value` (JSON bytes) at `timestamp`, without a key.
    pub fn new(value: impl Into<Vec<u8>>, timestamp: i64) -> Self {
        Record { key: None, value: value.into(), timestamp }
    }

    /// The same record with `key`.
    #[must_use]
    pub fn with_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }
}

/// The bounds of a window being flushed: `eddy:dataflow/types.window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ComponentType, Lift, Lower)]
#[component(record)]
pub struct Window {
    /// Inclusive start, milliseconds since the Unix epoch.
    pub start: i64,
    /// Exclusive end, milliseconds since the Unix epoch.
    pub end: i64,
}

/// A key and its state, as a scan returns it: `eddy:dataflow/types.entry`.
#[derive(Debug, Clone, PartialEq, Eq, ComponentType, Lift, Lower)]
#[component(record)]
pub struct Entry {
    /// The key's raw bytes.
    pub key: Vec<u8>,
    /// The state: a JSON document, UTF-8.
    pub value: Vec<u8>,
}

/// A run of bytes of a batch buffer: `eddy:dataflow/batch.span`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ComponentType, Lift, Lower)]
#[component(record)]
pub(crate) struct Span {
    pub(crate) offset: u32,
    pub(crate) len: u32,
}

/// One record of a batch: `eddy:dataflow/batch.batch-record`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ComponentType, Lower)]
#[component(record)]
pub(crate) struct BatchRecord {
    pub(crate) key: Option<Span>,
    pub(crate) value: Span,
    pub(crate) timestamp: i64,
}

/// The records of one batch call: `eddy:dataflow/batch.record-batch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, ComponentType, Lower)]
#[component(record)]
pub(crate) struct RecordBatch {
    pub(crate) bytes: Vec<u8>,
    pub(crate) records: Vec<BatchRecord>,
}

/// What a batch export returns, but for `flat-map`: `eddy:dataflow/batch.<operator>-output`,
/// whose results' `ok` is `T` (`bool`, `span`, `option<span>`, `s64` or nothing).
#[derive(Debug, Clone, PartialEq, Eq, ComponentType, Lift)]
#[component(record)]
pub(crate) struct BatchOutput<T> {
    pub(crate) bytes: Vec<u8>,
    pub(crate) results: Vec<Result<T, Span>>,
}

/// What `flat-map-batch` returns: `eddy:dataflow/batch.flat-map-output`.
#[derive(Debug, Clone, PartialEq, Eq, ComponentType, Lift)]
#[component(record)]
pub(crate) struct FlatMapOutput {
    pub(crate) bytes: Vec<u8>,
    pub(crate) values: Vec<Span>,
    pub(crate) results: Vec<Result<Span, Span>>,
}
