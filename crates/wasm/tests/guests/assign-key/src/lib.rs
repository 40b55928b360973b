//! `assign-key`: the key is the value's text when the value is a JSON string.

wit_bindgen::generate!({ world: "assign-key", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn assign_key(input: Record) -> Result<Vec<u8>, String> {
        match input.value.as_slice() {
            [b'"', inner @ .., b'"'] => Ok(inner.to_vec()),
            other => Err(format!("cannot key by {}: not a JSON string", String::from_utf8_lossy(other))),
        }
    }
}

export!(Component);
