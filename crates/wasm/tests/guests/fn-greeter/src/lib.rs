//! A greeter: counts the greetings of each instance (state `seen`, a long) and answers a
//! message (a Statefun string, the name) with `Hello <name>, #<n>`: to the caller when a
//! function sent it, else as a record of the Kafka egress `example/greets` (topic
//! `greetings`, key = the id). A name starting with `forget` deletes the count instead.

wit_bindgen::generate!({ world: "function", path: "../../../wit/function" });

use eddy::function::types::{EgressMessage, EgressValue, Expiration, OutgoingMessage, StateValue, TopicRecord, TypedValue};
use guest_fn_support::{LONG, STRING, decode_long, decode_string, encode_long, encode_string};

struct Greeter;

impl Guest for Greeter {
    fn states() -> Vec<StateSpec> {
        vec![StateSpec { name: "seen".into(), typename: LONG.into(), expiration: Expiration::Never }]
    }

    fn invoke(context: Context, messages: Vec<Message>) -> Result<Effects, String> {
        let mut seen = match context.states.iter().find(|state| state.name == "seen") {
            Some(StateValue { value: Some(value), .. }) => Some(decode_long(&value.value)?),
            _ => None,
        };
        let mut effects =
            Effects { states: Vec::new(), messages: Vec::new(), delayed: Vec::new(), egress: Vec::new() };
        for message in messages {
            if message.argument.typename != STRING {
                return Err(format!("expected a {STRING}, got a {}", message.argument.typename));
            }
            let name = decode_string(&message.argument.value)?;
            if name.starts_with("forget") {
                seen = None;
                effects.states.push(StateValue { name: "seen".into(), value: None });
                continue;
            }
            let count = seen.unwrap_or(0) + 1;
            seen = Some(count);
            let value = TypedValue { typename: LONG.into(), value: encode_long(count) };
            effects.states.push(StateValue { name: "seen".into(), value: Some(value) });
            let greeting = format!("Hello {name}, #{count}");
            match message.caller {
                Some(caller) => effects.messages.push(OutgoingMessage {
                    target: caller,
                    argument: TypedValue { typename: STRING.into(), value: encode_string(&greeting) },
                }),
                None => effects.egress.push(EgressMessage {
                    egress: "example/greets".into(),
                    value: EgressValue::Topic(TopicRecord {
                        topic: "greetings".into(),
                        key: Some(context.address.id.clone()),
                        value: greeting.into_bytes(),
                    }),
                }),
            }
        }
        Ok(effects)
    }
}

export!(Greeter);
