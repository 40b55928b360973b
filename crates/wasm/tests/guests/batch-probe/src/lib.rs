//! `map-batch` that tells how it was called: each value `v` becomes `{"value": v, "batch": n}`,
//! `n` the number of records of the call; the value `"err"` is refused alone, and the value
//! `"trap"` traps, failing the whole call.

wit_bindgen::generate!({ world: "map-batch", path: "../../../wit" });

use eddy::dataflow::batch::Span;

struct Component;

impl Guest for Component {
    fn map_batch(input: RecordBatch) -> MapOutput {
        let value = |span: Span| &input.bytes[span.offset as usize..(span.offset + span.len) as usize];
        if input.records.iter().any(|record| value(record.value) == b"\"trap\"") {
            core::arch::wasm32::unreachable();
        }
        let count = input.records.len();
        let mut bytes = Vec::new();
        let mut append = |part: &[u8]| {
            let offset = bytes.len() as u32;
            bytes.extend_from_slice(part);
            Span { offset, len: part.len() as u32 }
        };
        let results = input
            .records
            .iter()
            .map(|record| {
                let value = value(record.value);
                if value == b"\"err\"" {
                    return Err(append(b"refused on purpose"));
                }
                let mut out = b"{\"value\":".to_vec();
                out.extend_from_slice(value);
                out.extend_from_slice(format!(",\"batch\":{count}}}").as_bytes());
                Ok(append(&out))
            })
            .collect();
        MapOutput { bytes, results }
    }
}

export!(Component);
