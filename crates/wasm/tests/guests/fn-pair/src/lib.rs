//! Two function types in one component, messaging each other: `pair/ping` gets a Statefun
//! string `n` (a number) from an ingress and sends `n` (a long) to `pair/pong` of the same
//! id; `pong` adds what it gets to its state `total` and sends `n - 1` back while it is
//! above 0; `ping` counts the bounces in its state `bounces` and sends them on. At 0, `pong`
//! sends itself a delayed `done` (due at once, token `done`), and a delayed `never` it cancels
//! at once; on `done` it egresses `<id> total=<total>` to the Kafka egress `pair/out`
//! (a typed `KafkaProducerRecord` it encodes itself, topic `pairs`).

wit_bindgen::generate!({ world: "function", path: "../../../wit/function" });

use eddy::function::types::{Address, DelayedChange, DelayedMessage, EgressMessage, EgressValue, Expiration, OutgoingMessage, StateValue, TypedValue};
use guest_fn_support::{LONG, STRING, decode_long, decode_string, encode_long, encode_string};

struct Pair;

fn long(value: i64) -> TypedValue {
    TypedValue { typename: LONG.into(), value: encode_long(value) }
}

fn state(context: &Context, name: &str) -> Result<i64, String> {
    match context.states.iter().find(|state| state.name == name) {
        Some(StateValue { value: Some(value), .. }) => decode_long(&value.value),
        _ => Ok(0),
    }
}

fn to(context: &Context, name: &str) -> Address {
    Address { namespace: "pair".into(), name: name.into(), id: context.address.id.clone() }
}

/// A `KafkaProducerRecord` (key = 1, value_bytes = 2, topic = 3), encoded by hand.
fn producer_record(topic: &str, key: &str, value: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (field, data) in [(1u8, key.as_bytes()), (2, value), (3, topic.as_bytes())] {
        bytes.push(field << 3 | 2);
        let mut len = data.len();
        while len >= 0x80 {
            bytes.push((len as u8) | 0x80);
            len >>= 7;
        }
        bytes.push(len as u8);
        bytes.extend_from_slice(data);
    }
    bytes
}

impl Guest for Pair {
    fn states() -> Vec<StateSpec> {
        // One component, two types: each declares both states and uses its own.
        vec![
            StateSpec { name: "bounces".into(), typename: LONG.into(), expiration: Expiration::Never },
            StateSpec { name: "total".into(), typename: LONG.into(), expiration: Expiration::Never },
        ]
    }

    fn invoke(context: Context, messages: Vec<Message>) -> Result<Effects, String> {
        let mut effects =
            Effects { states: Vec::new(), messages: Vec::new(), delayed: Vec::new(), egress: Vec::new() };
        let mut bounces = state(&context, "bounces")?;
        let mut total = state(&context, "total")?;
        for message in messages {
            let argument = &message.argument;
            match (context.address.name.as_str(), argument.typename.as_str()) {
                ("ping", STRING) => {
                    let text = decode_string(&argument.value)?;
                    let n: i64 = text.parse().map_err(|_| format!("not a number: {text:?}"))?;
                    effects.messages.push(OutgoingMessage { target: to(&context, "pong"), argument: long(n) });
                }
                ("ping", LONG) => {
                    bounces += 1;
                    effects.states.push(StateValue { name: "bounces".into(), value: Some(long(bounces)) });
                    let n = decode_long(&argument.value)?;
                    effects.messages.push(OutgoingMessage { target: to(&context, "pong"), argument: long(n) });
                }
                ("pong", LONG) => {
                    let n = decode_long(&argument.value)?;
                    total += n;
                    effects.states.push(StateValue { name: "total".into(), value: Some(long(total)) });
                    if n > 0 {
                        effects.messages.push(OutgoingMessage { target: to(&context, "ping"), argument: long(n - 1) });
                    } else {
                        let delayed = |text: &str, delay_ms, token: &str| {
                            DelayedChange::Send(DelayedMessage {
                                delay_ms,
                                target: to(&context, "pong"),
                                argument: TypedValue { typename: STRING.into(), value: encode_string(text) },
                                cancellation_token: Some(token.into()),
                            })
                        };
                        effects.delayed.push(delayed("done", 0, "done"));
                        effects.delayed.push(delayed("never", 3_600_000, "never"));
                        effects.delayed.push(DelayedChange::Cancel("never".into()));
                    }
                }
                ("pong", STRING) => {
                    let text = decode_string(&argument.value)?;
                    if text != "done" {
                        return Err(format!("a cancelled message arrived: {text:?}"));
                    }
                    let id = &context.address.id;
                    let record = producer_record("pairs", id, format!("{id} total={total}").as_bytes());
                    effects.egress.push(EgressMessage {
                        egress: "pair/out".into(),
                        value: EgressValue::Typed(TypedValue {
                            typename: "type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord".into(),
                            value: record,
                        }),
                    });
                }
                (name, typename) => return Err(format!("`{name}` got an unexpected {typename}")),
            }
        }
        Ok(effects)
    }
}

export!(Pair);
