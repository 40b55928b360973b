//! A function that fails on purpose, by message (a Statefun string): `trap` executes
//! `unreachable`, `spin` loops forever, `grow` allocates without end, `refuse` returns an
//! error; anything else is counted in the state `count`.

wit_bindgen::generate!({ world: "function", path: "../../../wit/function" });

use eddy::function::types::{Expiration, StateValue, TypedValue};
use guest_fn_support::{LONG, decode_long, decode_string, encode_long};

struct Faulty;

impl Guest for Faulty {
    fn states() -> Vec<StateSpec> {
        vec![StateSpec { name: "count".into(), typename: LONG.into(), expiration: Expiration::Never }]
    }

    fn invoke(context: Context, messages: Vec<Message>) -> Result<Effects, String> {
        let mut count = match context.states.iter().find(|state| state.name == "count") {
            Some(StateValue { value: Some(value), .. }) => decode_long(&value.value)?,
            _ => 0,
        };
        for message in messages {
            match decode_string(&message.argument.value)?.as_str() {
                "trap" => core::arch::wasm32::unreachable(),
                "spin" => {
                    let mut n: u64 = 0;
                    loop {
                        n = std::hint::black_box(n.wrapping_add(1));
                    }
                }
                "grow" => {
                    let mut hoard: Vec<Vec<u8>> = Vec::new();
                    loop {
                        hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
                    }
                }
                "refuse" => return Err("refused on purpose".into()),
                _ => count += 1,
            }
        }
        let value = TypedValue { typename: LONG.into(), value: encode_long(count) };
        Ok(Effects {
            states: vec![StateValue { name: "count".into(), value: Some(value) }],
            messages: Vec::new(),
            delayed: Vec::new(),
            egress: Vec::new(),
        })
    }
}

export!(Faulty);
