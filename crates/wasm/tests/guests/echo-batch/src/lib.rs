//! `map-batch` that returns every value unchanged, without copying: the output's buffer is
//! the input's, and each result the span of the record's value. It breaks the batch layout
//! on request: the value `"outside"` gets a span past the end of the buffer, `"err-outside"`
//! an error message past it, and a batch whose first value is `"short"` (`"long"`) gets one
//! result too few (too many).

wit_bindgen::generate!({ world: "map-batch", path: "../../../wit" });

use eddy::dataflow::batch::Span;

struct Component;

impl Guest for Component {
    fn map_batch(input: RecordBatch) -> MapOutput {
        let end = input.bytes.len() as u32;
        let value = |span: Span| &input.bytes[span.offset as usize..(span.offset + span.len) as usize];
        let mut results: Vec<Result<Span, Span>> = input
            .records
            .iter()
            .map(|record| match value(record.value) {
                b"\"outside\"" => Ok(Span { offset: end - 1, len: 2 }),
                b"\"err-outside\"" => Err(Span { offset: end, len: 1 }),
                _ => Ok(record.value),
            })
            .collect();
        match input.records.first().map(|first| value(first.value)) {
            Some(b"\"short\"") => drop(results.pop()),
            Some(b"\"long\"") => results.push(Ok(Span { offset: 0, len: 0 })),
            _ => {}
        }
        MapOutput { bytes: input.bytes, results }
    }
}

export!(Component);
