//! `map-batch`: the `map` guest's wrapping, a batch per call: every new value is written
//! into one output buffer, and each record's result is the span of its value there.

wit_bindgen::generate!({ world: "map-batch", path: "../../../wit" });

use eddy::dataflow::batch::Span;

struct Component;

impl Guest for Component {
    fn map_batch(input: RecordBatch) -> MapOutput {
        let mut bytes = Vec::with_capacity(input.bytes.len() + 32 * input.records.len());
        let results = input
            .records
            .iter()
            .map(|record| {
                let start = bytes.len();
                wrap(&input.bytes[range(record.value)], record.timestamp, &mut bytes);
                Ok(span(start, bytes.len()))
            })
            .collect();
        MapOutput { bytes, results }
    }
}

/// The `map` guest's `{"value": v, "at": ts}`, appended to `out`.
fn wrap(value: &[u8], timestamp: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"value\":");
    out.extend_from_slice(value);
    out.extend_from_slice(format!(",\"at\":{timestamp}}}").as_bytes());
}

fn range(span: Span) -> std::ops::Range<usize> {
    span.offset as usize..(span.offset + span.len) as usize
}

fn span(start: usize, end: usize) -> Span {
    Span { offset: start as u32, len: (end - start) as u32 }
}

export!(Component);
