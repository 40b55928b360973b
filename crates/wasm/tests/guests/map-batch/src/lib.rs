//! `map-batch`: the `map` guest's wrapping, a batch per call.

wit_bindgen::generate!({ world: "map-batch", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn map_batch(input: Vec<Record>) -> Vec<Result<Vec<u8>, String>> {
        input.iter().map(|record| Ok(wrap(record))).collect()
    }
}

fn wrap(input: &Record) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.value.len() + 32);
    out.extend_from_slice(b"{\"value\":");
    out.extend_from_slice(&input.value);
    out.extend_from_slice(format!(",\"at\":{}}}", input.timestamp).as_bytes());
    out
}

export!(Component);
