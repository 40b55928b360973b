//! `map` that panics on the value `1`, executes `unreachable` on `0`, and passes other
//! values through.

wit_bindgen::generate!({ world: "%map", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn map(input: Record) -> Result<Vec<u8>, String> {
        if input.value == b"1" {
            panic!("the guest gave up on purpose");
        }
        if input.value == b"0" {
            core::arch::wasm32::unreachable();
        }
        Ok(input.value)
    }
}

export!(Component);
