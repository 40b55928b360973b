//! A stateful function that counts the messages each instance gets in its state `count`
//! (an `io.statefun.types/long`), and does nothing else: the benchmark's counter.

wit_bindgen::generate!({ world: "function", path: "../../../wit/function" });

use eddy::function::types::{Expiration, StateValue, TypedValue};
use guest_fn_support::{LONG, decode_long, encode_long};

struct Counter;

impl Guest for Counter {
    fn states() -> Vec<StateSpec> {
        vec![StateSpec { name: "count".into(), typename: LONG.into(), expiration: Expiration::Never }]
    }

    fn invoke(context: Context, messages: Vec<Message>) -> Result<Effects, String> {
        let count = match context.states.iter().find(|state| state.name == "count") {
            Some(StateValue { value: Some(value), .. }) => decode_long(&value.value)?,
            _ => 0,
        };
        let count = count + messages.len() as i64;
        let value = TypedValue { typename: LONG.into(), value: encode_long(count) };
        Ok(Effects {
            states: vec![StateValue { name: "count".into(), value: Some(value) }],
            messages: Vec::new(),
            delayed: Vec::new(),
            egress: Vec::new(),
        })
    }
}

export!(Counter);
