//! `map`: wraps the value with the record's timestamp: `{"value": v, "at": ts}`.

wit_bindgen::generate!({ world: "%map", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn map(input: Record) -> Result<Vec<u8>, String> {
        Ok(wrap(&input))
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
