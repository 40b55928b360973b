//! `filter`: keeps records whose value is a JSON number above 10.

wit_bindgen::generate!({ world: "filter", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn filter(input: Record) -> Result<bool, String> {
        let text = String::from_utf8_lossy(&input.value);
        let number: f64 = text.trim().parse().map_err(|_| format!("value is not a number: {text}"))?;
        Ok(number > 10.0)
    }
}

export!(Component);
