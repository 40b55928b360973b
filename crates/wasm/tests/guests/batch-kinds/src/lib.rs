//! The batch form of every record operator but `map`, over values that are JSON integers
//! (anything else is refused with an `err`):
//!
//! - `filter-batch` keeps values above 10;
//! - `filter-map-batch` doubles even values and drops odd ones;
//! - `flat-map-batch` repeats the value `n` as many times as it says (at most 3);
//! - `assign-key-batch` keys the record by its value's text;
//! - `assign-timestamp-batch` adds the value to the timestamp;
//! - `update-state-batch` adds the value to the key's counter in state `counts`.

// The batch worlds cannot be `include`d together: each `use`s `record-batch`, and WIT
// refuses a name included twice. The exports are declared here instead.
wit_bindgen::generate!({
    inline: "
        package test:batch-kinds;
        world batch-kinds {
            import eddy:dataflow/state@0.1.0;
            use eddy:dataflow/batch@0.1.0.{
                record-batch, filter-output, filter-map-output, flat-map-output, assign-key-output,
                assign-timestamp-output, update-state-output,
            };
            export filter-batch: func(input: record-batch) -> filter-output;
            export filter-map-batch: func(input: record-batch) -> filter-map-output;
            export flat-map-batch: func(input: record-batch) -> flat-map-output;
            export assign-key-batch: func(input: record-batch) -> assign-key-output;
            export assign-timestamp-batch: func(input: record-batch) -> assign-timestamp-output;
            export update-state-batch: func(input: record-batch) -> update-state-output;
        }
    ",
    path: "../../../wit",
    generate_all,
    world: "test:batch-kinds/batch-kinds",
});

use eddy::dataflow::batch::{BatchRecord, Span};
use eddy::dataflow::state;

struct Component;

/// The output buffer of a batch call, with the span of each part appended to it.
#[derive(Default)]
struct Out(Vec<u8>);

impl Out {
    fn append(&mut self, part: &[u8]) -> Span {
        let offset = self.0.len() as u32;
        self.0.extend_from_slice(part);
        Span { offset, len: part.len() as u32 }
    }
}

fn of(bytes: &[u8], span: Span) -> &[u8] {
    &bytes[span.offset as usize..(span.offset + span.len) as usize]
}

/// The record's value as an integer, or the span of the error message in `out`.
fn number(bytes: &[u8], record: &BatchRecord, out: &mut Out) -> Result<i64, Span> {
    let value = of(bytes, record.value);
    std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| out.append(format!("not an integer: {}", String::from_utf8_lossy(value)).as_bytes()))
}

impl Guest for Component {
    fn filter_batch(input: RecordBatch) -> FilterOutput {
        let mut out = Out::default();
        let results =
            input.records.iter().map(|r| number(&input.bytes, r, &mut out).map(|n| n > 10)).collect();
        FilterOutput { bytes: out.0, results }
    }

    fn filter_map_batch(input: RecordBatch) -> FilterMapOutput {
        let mut out = Out::default();
        let results = input
            .records
            .iter()
            .map(|r| {
                let n = number(&input.bytes, r, &mut out)?;
                Ok((n % 2 == 0).then(|| out.append((2 * n).to_string().as_bytes())))
            })
            .collect();
        FilterMapOutput { bytes: out.0, results }
    }

    fn flat_map_batch(input: RecordBatch) -> FlatMapOutput {
        let mut out = Out::default();
        let mut values = Vec::new();
        let results = input
            .records
            .iter()
            .map(|r| {
                let n = number(&input.bytes, r, &mut out)?;
                let first = values.len() as u32;
                for _ in 0..n.clamp(0, 3) {
                    values.push(out.append(of(&input.bytes, r.value)));
                }
                Ok(Span { offset: first, len: values.len() as u32 - first })
            })
            .collect();
        FlatMapOutput { bytes: out.0, values, results }
    }

    fn assign_key_batch(input: RecordBatch) -> AssignKeyOutput {
        let mut out = Out::default();
        let results = input
            .records
            .iter()
            .map(|r| number(&input.bytes, r, &mut out).map(|n| out.append(n.to_string().as_bytes())))
            .collect();
        AssignKeyOutput { bytes: out.0, results }
    }

    fn assign_timestamp_batch(input: RecordBatch) -> AssignTimestampOutput {
        let mut out = Out::default();
        let results = input
            .records
            .iter()
            .map(|r| number(&input.bytes, r, &mut out).map(|n| r.timestamp + n))
            .collect();
        AssignTimestampOutput { bytes: out.0, results }
    }

    fn update_state_batch(input: RecordBatch) -> UpdateStateOutput {
        let mut out = Out::default();
        let results = input
            .records
            .iter()
            .map(|r| {
                let n = number(&input.bytes, r, &mut out)?;
                let key = r.key.map(|key| of(&input.bytes, key)).ok_or_else(|| out.append(b"no key"))?;
                state::increment("counts", key, n).map(drop).map_err(|error| out.append(error.as_bytes()))
            })
            .collect();
        UpdateStateOutput { bytes: out.0, results }
    }
}

export!(Component);
