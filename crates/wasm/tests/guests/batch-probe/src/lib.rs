//! `map-batch` that tells how it was called: each value `v` becomes `{"value": v, "batch": n}`,
//! `n` the number of records of the call; the value `"err"` is refused alone, and the value
//! `"trap"` traps, failing the whole call.

wit_bindgen::generate!({ world: "map-batch", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn map_batch(input: Vec<Record>) -> Vec<Result<Vec<u8>, String>> {
        if input.iter().any(|record| record.value == b"\"trap\"") {
            core::arch::wasm32::unreachable();
        }
        let count = input.len();
        input
            .iter()
            .map(|record| {
                if record.value == b"\"err\"" {
                    return Err("refused on purpose".to_owned());
                }
                let mut out = b"{\"value\":".to_vec();
                out.extend_from_slice(&record.value);
                out.extend_from_slice(format!(",\"batch\":{count}}}").as_bytes());
                Ok(out)
            })
            .collect()
    }
}

export!(Component);
