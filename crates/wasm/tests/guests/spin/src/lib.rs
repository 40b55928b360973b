//! `map` that loops forever on the value `1`, and passes other values through.

wit_bindgen::generate!({ world: "%map", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn map(input: Record) -> Result<Vec<u8>, String> {
        if input.value == b"1" {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        Ok(input.value)
    }
}

export!(Component);
