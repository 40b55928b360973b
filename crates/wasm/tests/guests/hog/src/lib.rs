//! `map` that allocates without bound on the value `1`, and passes other values through.

wit_bindgen::generate!({ world: "%map", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn map(input: Record) -> Result<Vec<u8>, String> {
        if input.value == b"1" {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        Ok(input.value)
    }
}

export!(Component);
