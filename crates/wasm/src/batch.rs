//! Batches laid out flat, as the batch worlds take them (`eddy:dataflow/batch`): a
//! [`Batch`] holds its records' keys and values in one buffer and an entry per record
//! pointing into it; what a batch export returns is checked span by span and turned into one
//! result per record.
//!
//! ```text
//!  Batch::push(key, value, timestamp) ─▶ bytes:   | key | value | value | key | value |
//!                                        records: [{key, value, timestamp}, ...]   (spans)
//!  batch export ─▶ <operator>-output { bytes, results } ─▶ unpack ─▶ Vec<Result<Output, CallError>>
//!                  a span outside `bytes`: that record fails (MalformedResult);
//!                  another number of results: every record fails (BatchLength)
//! ```
//!
//! A call lends the batch's buffers to wasmtime (behind an [`Arc`], which lowering takes by
//! value) and takes them back afterwards, so the caller clears the batch and fills it again
//! without allocating.

use std::sync::Arc;

use crate::abi::{BatchOutput, BatchRecord, FlatMapOutput, Record, RecordBatch, Span};
use crate::error::CallError;
use crate::operator::Output;

/// Records for one call of a batch export, their keys and values in one buffer (the layout
/// of `eddy:dataflow/batch.record-batch`). Fill it with [`Batch::push`] (or collect it from
/// [`Record`]s), run it with [`crate::Pool::call_batch`], then [`Batch::clear`] it to reuse
/// its buffers for the next one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    inner: RecordBatch,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// An empty batch with room for `records` records of `bytes` bytes of keys and values
    /// in all.
    pub fn with_capacity(records: usize, bytes: usize) -> Batch {
        Batch {
            inner: RecordBatch { bytes: Vec::with_capacity(bytes), records: Vec::with_capacity(records) },
        }
    }

    /// Adds a record: its key (raw bytes; `None` when it has none), its value (a JSON
    /// document, UTF-8) and its event time (milliseconds since the Unix epoch).
    pub fn push(&mut self, key: Option<&[u8]>, value: &[u8], timestamp: i64) {
        // Infallible: `Ok` is the only outcome of the closure.
        let _ = self.push_encoded(key, timestamp, |bytes| {
            bytes.extend_from_slice(value);
            Ok::<(), std::convert::Infallible>(())
        });
    }

    /// Adds a record whose value `encode` appends to the buffer it is given (a JSON encoder
    /// writing straight into the batch, say). When `encode` fails, the batch is left as it
    /// was and its error returned.
    ///
    /// # Errors
    /// The error of `encode`.
    pub fn push_encoded<E>(
        &mut self,
        key: Option<&[u8]>,
        timestamp: i64,
        encode: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let inner = &mut self.inner;
        let start = inner.bytes.len();
        let key = key.map(|key| {
            inner.bytes.extend_from_slice(key);
            span(start, inner.bytes.len())
        });
        let value_start = inner.bytes.len();
        if let Err(error) = encode(&mut inner.bytes) {
            inner.bytes.truncate(start);
            return Err(error);
        }
        let value = span(value_start, inner.bytes.len());
        inner.records.push(BatchRecord { key, value, timestamp });
        Ok(())
    }

    /// Adds `record`.
    pub fn push_record(&mut self, record: &Record) {
        self.push(record.key.as_deref(), &record.value, record.timestamp);
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.inner.records.len()
    }

    /// Whether the batch has no record.
    pub fn is_empty(&self) -> bool {
        self.inner.records.is_empty()
    }

    /// Removes every record, keeping the buffers' capacity.
    pub fn clear(&mut self) {
        self.inner.bytes.clear();
        self.inner.records.clear();
    }

    /// The bytes of every key and value.
    pub(crate) fn byte_len(&self) -> usize {
        self.inner.bytes.len()
    }

    /// Lends the batch, as the batch export takes it, to `call`; the batch is as it was
    /// afterwards.
    pub(crate) fn lend<T>(&mut self, call: impl FnOnce(Arc<RecordBatch>) -> T) -> T {
        let lent = Arc::new(std::mem::take(&mut self.inner));
        let result = call(Arc::clone(&lent));
        // `call` has dropped its handle (lowering consumes it), so this does not copy.
        self.inner = Arc::unwrap_or_clone(lent);
        result
    }

    /// The records, one by one, for a component without a batch export.
    pub(crate) fn records(&self) -> impl Iterator<Item = Record> + '_ {
        let bytes = &self.inner.bytes;
        let of = |span: Span| within(bytes, span).map(<[u8]>::to_vec).unwrap_or_default();
        self.inner.records.iter().map(move |record| Record {
            key: record.key.map(of),
            value: of(record.value),
            timestamp: record.timestamp,
        })
    }
}

impl<'a> FromIterator<&'a Record> for Batch {
    fn from_iter<I: IntoIterator<Item = &'a Record>>(records: I) -> Batch {
        let mut batch = Batch::new();
        records.into_iter().for_each(|record| batch.push_record(record));
        batch
    }
}

impl FromIterator<Record> for Batch {
    fn from_iter<I: IntoIterator<Item = Record>>(records: I) -> Batch {
        let mut batch = Batch::new();
        records.into_iter().for_each(|record| batch.push_record(&record));
        batch
    }
}

/// The span `start .. end` of the batch's buffer. A buffer past 4 GiB cannot reach a
/// component (the pool refuses it before the call), so saturating is never observed.
fn span(start: usize, end: usize) -> Span {
    let offset = u32::try_from(start).unwrap_or(u32::MAX);
    Span { offset, len: u32::try_from(end - start).unwrap_or(u32::MAX) }
}

/// Turns what a batch export returned into one result per record of a batch of `count`.
pub(crate) type Unpack<B> = fn(B, usize) -> Vec<Result<Output, CallError>>;

impl<T> BatchOutput<T> {
    /// One result per record: `ok` turns a result's `ok` into the record's [`Output`] (or
    /// says what is wrong with it), an `err` is the record's [`CallError::Returned`].
    pub(crate) fn unpack(
        self,
        count: usize,
        ok: impl Fn(T, &[u8]) -> Result<Output, String>,
    ) -> Vec<Result<Output, CallError>> {
        if self.results.len() != count {
            return vec![Err(CallError::BatchLength { expected: count, got: self.results.len() }); count];
        }
        let bytes = &self.bytes;
        self.results
            .into_iter()
            .enumerate()
            .map(|(index, result)| match result {
                Ok(value) => ok(value, bytes).map_err(|reason| CallError::MalformedResult { index, reason }),
                Err(message) => Err(returned(bytes, message, index)),
            })
            .collect()
    }
}

impl FlatMapOutput {
    /// One result per record, as [`BatchOutput::unpack`]: `ok` is a span of `values`, each a
    /// span of `bytes`.
    pub(crate) fn unpack(self, count: usize) -> Vec<Result<Output, CallError>> {
        if self.results.len() != count {
            return vec![Err(CallError::BatchLength { expected: count, got: self.results.len() }); count];
        }
        let (bytes, values) = (&self.bytes, &self.values);
        self.results
            .into_iter()
            .enumerate()
            .map(|(index, result)| match result {
                Ok(range) => flat_map_values(bytes, values, range)
                    .map(Output::Values)
                    .map_err(|reason| CallError::MalformedResult { index, reason }),
                Err(message) => Err(returned(bytes, message, index)),
            })
            .collect()
    }
}

fn flat_map_values(bytes: &[u8], values: &[Span], range: Span) -> Result<Vec<Vec<u8>>, String> {
    let spans = within(values, range).ok_or_else(|| {
        format!(
            "its values, items {} of `values`, lie outside the {} items returned",
            describe(range),
            values.len()
        )
    })?;
    spans
        .iter()
        .enumerate()
        .map(|(position, &span)| bytes_of(bytes, span, &format!("its value {position}")))
        .collect()
}

/// The bytes of `span` in `bytes`, copied; `what` names them in the error.
pub(crate) fn bytes_of(bytes: &[u8], span: Span, what: &str) -> Result<Vec<u8>, String> {
    within(bytes, span).map(<[u8]>::to_vec).ok_or_else(|| {
        format!(
            "{what}, bytes {} of the output, lies outside the {} bytes returned",
            describe(span),
            bytes.len()
        )
    })
}

/// The record's `err`: the message in `span`, or why it cannot be read.
fn returned(bytes: &[u8], span: Span, index: usize) -> CallError {
    match within(bytes, span) {
        Some(message) => CallError::Returned(String::from_utf8_lossy(message).into_owned()),
        None => CallError::MalformedResult {
            index,
            reason: format!(
                "its error message, bytes {} of the output, lies outside the {} bytes returned",
                describe(span),
                bytes.len()
            ),
        },
    }
}

/// `items[offset .. offset + len]`, if it is inside `items`.
fn within<T>(items: &[T], span: Span) -> Option<&[T]> {
    let start = usize::try_from(span.offset).ok()?;
    let end = start.checked_add(usize::try_from(span.len).ok()?)?;
    items.get(start..end)
}

fn describe(span: Span) -> String {
    format!("{}..{}", span.offset, u64::from(span.offset) + u64::from(span.len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: u32, len: u32) -> Span {
        Span { offset, len }
    }

    fn value(ok: Span, bytes: &[u8]) -> Result<Output, String> {
        bytes_of(bytes, ok, "its value").map(Output::Value)
    }

    #[test]
    fn a_batch_lays_out_keys_and_values_back_to_back() {
        let mut batch = Batch::with_capacity(2, 16);
        batch.push(Some(b"k1"), b"12", 5);
        batch.push(None, b"\"x\"", 6);
        assert_eq!(batch.len(), 2);
        assert_eq!(batch.inner.bytes, b"k112\"x\"");
        assert_eq!(
            batch.inner.records,
            vec![
                BatchRecord { key: Some(at(0, 2)), value: at(2, 2), timestamp: 5 },
                BatchRecord { key: None, value: at(4, 3), timestamp: 6 },
            ]
        );
        let records: Vec<Record> = batch.records().collect();
        assert_eq!(records, vec![Record::new("12", 5).with_key("k1"), Record::new("\"x\"", 6)]);
        batch.clear();
        assert!(batch.is_empty());
        assert!(batch.inner.bytes.is_empty());
    }

    #[test]
    fn a_failed_encoding_leaves_the_batch_as_it_was() {
        let mut batch = Batch::new();
        batch.push(None, b"1", 0);
        let failed = batch.push_encoded(Some(b"key"), 1, |bytes| {
            bytes.extend_from_slice(b"half");
            Err("cannot")
        });
        assert_eq!(failed, Err("cannot"));
        assert_eq!(batch.len(), 1);
        assert_eq!(batch.inner.bytes, b"1");
    }

    #[test]
    fn a_lent_batch_comes_back_as_it_was() {
        let mut batch = Batch::new();
        batch.push(Some(b"k"), b"1", 0);
        let before = batch.clone();
        assert_eq!(batch.lend(|lent| lent.records.len()), 1);
        assert_eq!(batch, before);
        let kept = batch.lend(|lent| lent);
        assert_eq!(batch, before);
        assert_eq!(kept.bytes, b"k1");
    }

    #[test]
    fn results_point_into_the_output_bytes() {
        let output = BatchOutput {
            bytes: b"{\"a\":1}refused".to_vec(),
            results: vec![Ok(at(0, 7)), Err(at(7, 7)), Ok(at(5, 1))],
        };
        assert_eq!(
            output.unpack(3, value),
            vec![
                Ok(Output::Value(b"{\"a\":1}".to_vec())),
                Err(CallError::Returned("refused".to_owned())),
                Ok(Output::Value(b"1".to_vec())),
            ]
        );
    }

    #[test]
    fn a_span_outside_the_bytes_fails_its_record_alone() {
        let output = BatchOutput {
            bytes: b"okmessage".to_vec(),
            results: vec![Ok(at(0, 2)), Ok(at(5, 10)), Err(at(u32::MAX, u32::MAX)), Err(at(2, 7))],
        };
        let results = output.unpack(4, value);
        assert_eq!(results[0], Ok(Output::Value(b"ok".to_vec())));
        assert_eq!(
            results[1],
            Err(CallError::MalformedResult {
                index: 1,
                reason: "its value, bytes 5..15 of the output, lies outside the 9 bytes returned".to_owned()
            })
        );
        let Err(error) = &results[2] else { panic!("{:?}", results[2]) };
        assert_eq!(
            error.to_string(),
            "the component's batch call returned a malformed result for record 2 of the batch: its \
             error message, bytes 4294967295..8589934590 of the output, lies outside the 9 bytes returned"
        );
        assert_eq!(results[3], Err(CallError::Returned("message".to_owned())));
    }

    #[test]
    fn another_number_of_results_fails_every_record() {
        let output = BatchOutput { bytes: Vec::new(), results: vec![Ok(true)] };
        let results = output.unpack(3, |keep, _| Ok(Output::Keep(keep)));
        assert_eq!(results, vec![Err(CallError::BatchLength { expected: 3, got: 1 }); 3]);
        let output = BatchOutput::<bool> { bytes: Vec::new(), results: vec![Ok(true); 4] };
        assert_eq!(output.unpack(3, |keep, _| Ok(Output::Keep(keep))).len(), 3);
    }

    #[test]
    fn an_error_message_that_is_not_utf8_is_kept_readable() {
        let output = BatchOutput::<bool> { bytes: b"bad \xff byte".to_vec(), results: vec![Err(at(0, 10))] };
        assert_eq!(
            output.unpack(1, |keep, _| Ok(Output::Keep(keep))),
            vec![Err(CallError::Returned("bad \u{fffd} byte".to_owned()))]
        );
    }

    #[test]
    fn flat_map_results_are_runs_of_values() {
        let output = FlatMapOutput {
            bytes: b"123".to_vec(),
            values: vec![at(0, 1), at(1, 1), at(2, 1), at(3, 5)],
            results: vec![Ok(at(0, 2)), Ok(at(2, 0)), Ok(at(1, 2)), Ok(at(2, 2)), Ok(at(3, 9))],
        };
        let results = output.unpack(5);
        assert_eq!(results[0], Ok(Output::Values(vec![b"1".to_vec(), b"2".to_vec()])));
        assert_eq!(results[1], Ok(Output::Values(Vec::new())));
        assert_eq!(results[2], Ok(Output::Values(vec![b"2".to_vec(), b"3".to_vec()])));
        assert_eq!(
            results[3],
            Err(CallError::MalformedResult {
                index: 3,
                reason: "its value 1, bytes 3..8 of the output, lies outside the 3 bytes returned".to_owned()
            })
        );
        assert_eq!(
            results[4],
            Err(CallError::MalformedResult {
                index: 4,
                reason: "its values, items 3..12 of `values`, lie outside the 4 items returned".to_owned()
            })
        );
    }
}
