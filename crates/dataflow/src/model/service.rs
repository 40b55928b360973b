//! `services`: what reads which topics (or generators), transforms, keys, keeps state and writes where.
//!
//! ```text
//! sources ─(source transforms)─┐
//!                              ├─ transforms ─ partition { assign-key, transforms, update-state } ─┬─(sink transforms)─ sinks
//! sources ─(source transforms)─┘                                                                  └─ ...
//! ```
//!
//! Instead of `partition`, a service may `join` two sides of its records by a join key
//! (see [`Join`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::join::Join;
use super::step::{FunctionDef, Step};
use super::topic::TypeRef;
use super::types::{Primitive, TypeDef};
use super::window::Window;

/// One service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Service {
    /// What it reads: topics, or generators. Validation requires at least one.
    #[serde(default)]
    pub sources: Vec<Endpoint>,
    /// Its keyed states, by name. Default: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub states: BTreeMap<String, StateDef>,
    /// Stateless steps applied to every record from every source. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<Step>,
    /// Re-keying and keyed state. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Partition>,
    /// Pairs the records of two sides by a join key, instead of `partition`. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<Join>,
    /// Event-time windows: the service's keyed state is scoped to windows that `flush`
    /// when the watermark passes them. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// The topics it writes. Validation requires at least one unless the service ends in
    /// `update-state`.
    #[serde(default)]
    pub sinks: Vec<Endpoint>,
}

/// A source or sink: `{type: topic, id: <topic id>, transforms?}`, or (sources only) a
/// Nexmark generator: `{type: nexmark, id: <name>, events?, rate?, partitions?, generator?,
/// transforms?}`. The generator's fields are refused on topics by validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Endpoint {
    /// What it is: a topic, or a Nexmark generator.
    #[serde(rename = "type")]
    pub kind: EndpointKind,
    /// A topic: its id in `topics`. A generator: its name, which its committed positions and
    /// dead letters carry (`nexmark:<id>`).
    pub id: String,
    /// Steps applied to records read from (or written to) this endpoint only. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<Step>,
    /// A generator: how many events it makes in all. Default: no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    /// A generator: events per second of wall-clock time, over all its partitions. Default:
    /// as fast as the engine takes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<u64>,
    /// A generator: how many source partitions it is split into (partition `p` of `P` makes
    /// the events numbered `p`, `p + P`, …). Default: 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<u32>,
    /// A generator: what it makes (seed, base time, event mix, …), kebab-case fields of
    /// [`eddy_nexmark::Config`]. Default: the Nexmark reference defaults, seed 0, base time 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<eddy_nexmark::Config>,
}

impl Endpoint {
    /// A topic endpoint with no transforms.
    pub fn topic(id: &str) -> Endpoint {
        Endpoint {
            kind: EndpointKind::Topic,
            id: id.to_owned(),
            transforms: Vec::new(),
            events: None,
            rate: None,
            partitions: None,
            generator: None,
        }
    }

    /// A Nexmark generator source named `id`, with the defaults: unbounded, unpaced, one
    /// partition, the reference generator settings.
    pub fn nexmark(id: &str) -> Endpoint {
        Endpoint { kind: EndpointKind::Nexmark, ..Endpoint::topic(id) }
    }
}

/// The kinds of source and sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointKind {
    /// A topic declared in `topics`.
    Topic,
    /// The Nexmark event generator (sources only): persons, auctions and bids as JSON.
    Nexmark,
}

/// A state: `{type: keyed-state, properties: {key: {type}, value: {type, properties?}}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StateDef {
    /// What kind of state; only keyed state for now.
    #[serde(rename = "type")]
    pub kind: StateKind,
    /// Its key and value types.
    pub properties: StateProperties,
}

/// The kinds of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateKind {
    /// One value per record key.
    KeyedState,
}

/// A keyed state's key and value types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StateProperties {
    /// The key's type: `string` or an integer type.
    pub key: TypeRef,
    /// The value's type.
    pub value: StateValue,
}

/// A state value: a number (`{type: u64}`) or a row of typed columns
/// (`{type: arrow-row, properties: {sum: {type: f64}, n: {type: u32}}}`; `row` works too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawStateValue", into = "RawStateValue")]
pub enum StateValue {
    /// A number: `u32`, `i32`, `u64`, `i64` or `f64`.
    Number(Primitive),
    /// A row: named columns of primitive types.
    Row(BTreeMap<String, TypeDef>),
}

/// The numeric types a state value may have.
pub(crate) const STATE_NUMBERS: [Primitive; 5] =
    [Primitive::U32, Primitive::I32, Primitive::U64, Primitive::I64, Primitive::F64];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawStateValue {
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    properties: Option<BTreeMap<String, TypeDef>>,
}

impl TryFrom<RawStateValue> for StateValue {
    type Error = String;

    fn try_from(raw: RawStateValue) -> Result<Self, String> {
        match (raw.type_name.as_str(), raw.properties) {
            ("arrow-row" | "row", Some(properties)) => Ok(StateValue::Row(properties)),
            ("arrow-row" | "row", None) => Err(format!("`type: {}` needs `properties`", raw.type_name)),
            (name, None) => match Primitive::from_name(name) {
                Some(number) if STATE_NUMBERS.contains(&number) => Ok(StateValue::Number(number)),
                _ => Err(format!(
                    "a state value cannot be of type `{name}`; expected one of u32, i32, u64, i64, f64 or arrow-row"
                )),
            },
            (_, Some(_)) => Err("`properties` is only allowed with `type: arrow-row`".to_owned()),
        }
    }
}

impl From<StateValue> for RawStateValue {
    fn from(value: StateValue) -> Self {
        match value {
            StateValue::Number(number) => {
                RawStateValue { type_name: number.name().to_owned(), properties: None }
            }
            StateValue::Row(properties) => {
                RawStateValue { type_name: "arrow-row".to_owned(), properties: Some(properties) }
            }
        }
    }
}

/// `partition`: re-key the records, then optionally transform them and update keyed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Partition {
    /// Computes each record's new key.
    pub assign_key: FunctionDef,
    /// Steps applied after re-keying. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<Step>,
    /// Computes the key's new state from `state` and the record. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_state: Option<FunctionDef>,
    /// What goes on to the sinks after `update-state`, computed from the record, the key's
    /// new `state` and its `previous` one: a changelog of the state. `null` emits nothing.
    /// Default: the record itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emit: Option<FunctionDef>,
}
