//! The execution plan: what the engine runs, resolved and checked, with no I/O and no
//! references left to look up.
//!
//! ```text
//! Plan
//! ├─ topics            create each (name, partitions); key/value types resolved
//! ├─ dead_letter_topic <meta.name>.dead-letter
//! └─ services          in topological order: a service comes after every service
//!    │                 that writes a topic it reads
//!    ├─ sources        topic + start offset, or a Nexmark generator; per-source chain
//!    ├─ chain          stateless operators on every record (fused, no channel hop)
//!    ├─ partition      key expression → chain → update-state (with its state) → emit?
//!    ├─ join           or: two sides (which records, join key, rows kept) → emit
//!    └─ sinks          per-sink chain + topic
//! ```
//!
//! Record flow through a service: each source's chain, then `chain`, then the partition
//! stage (new key, its chain, then `update-state`, which computes the key's new state from
//! `state` and the record and lets the record through unchanged, or what `emit` makes of the
//! record and the state before and after), then each sink's chain.
//! A join service instead sends each record to the side(s) it belongs to, keyed by that side's
//! join key, and what `emit` returns for each pair of rows goes to the sinks.

use std::time::Duration;

use eddy_types::TopicName;
use serde_json::Value;

use crate::logic::{Logic, WasmSource};
use crate::model::{Converter, Keep, Primitive, TypeDef};

/// Everything the engine needs to run a dataflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// `meta.name`.
    pub name: String,
    /// How often to commit an epoch.
    pub commit_interval: Duration,
    /// Where records that fail (schema mismatch, expression error) go, with the reason:
    /// `<meta.name>.dead-letter`. It is created like the other topics, with one partition.
    pub dead_letter_topic: TopicName,
    /// Where records that arrive after their window closed go, with the window they missed:
    /// `<meta.name>.late-records`, when some service has a window.
    pub late_records_topic: Option<TopicName>,
    /// The declared topics, by id.
    pub topics: Vec<TopicPlan>,
    /// The services, each after the services that feed it.
    pub services: Vec<ServicePlan>,
}

/// A topic to create and check records against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPlan {
    /// Its id in the file.
    pub id: String,
    /// Its name in the log.
    pub name: TopicName,
    /// How many partitions.
    pub partitions: u32,
    /// The key's type, names resolved; `None` when keys are opaque.
    pub key: Option<TypeDef>,
    /// The value's type, names resolved.
    pub value: TypeDef,
    /// How values are encoded.
    pub converter: Converter,
}

/// One service, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePlan {
    /// Its name.
    pub name: String,
    /// What it reads.
    pub sources: Vec<SourcePlan>,
    /// Stateless operators applied to every record, after the source's own chain.
    pub chain: Vec<OperatorPlan>,
    /// Re-keying and state, if any.
    pub partition: Option<PartitionPlan>,
    /// The join, if the service joins two sides (it then has no `partition`).
    pub join: Option<JoinPlan>,
    /// Every state the service declares (the one `update-state` updates among them).
    pub states: Vec<StatePlan>,
    /// Event-time windows: when set, the partition stage's state is scoped to windows and
    /// only `flush` results reach the sinks.
    pub window: Option<WindowPlan>,
    /// What it writes.
    pub sinks: Vec<SinkPlan>,
}

/// A service's windows.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowPlan {
    /// Their shape.
    pub kind: WindowKind,
    /// How long past its end a window accepts records, ms.
    pub grace_ms: i64,
    /// After how long without records a source partition stops holding the watermark back.
    pub idleness: Option<Duration>,
    /// How far ahead in event time (ms) of the slowest partition still being read a source
    /// partition may go before it waits; `None`: no alignment.
    pub max_drift_ms: Option<i64>,
    /// Computes a record's event time; `None`: the record's timestamp.
    pub timestamp: Option<Logic>,
    /// Where `assign-timestamp` is declared.
    pub timestamp_origin: String,
    /// Combines two states of a key (`state`, the earlier, and `other`): two sessions a
    /// record bridges, or two panes of a sliding window.
    pub merge: Option<Logic>,
    /// Where `merge` is declared.
    pub merge_origin: String,
    /// What a closing window emits; `None` in a join service, where `emit` does.
    pub flush: Option<FlushPlan>,
}

/// The shape of a service's windows, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// `[n·size, (n+1)·size)`.
    Tumbling {
        /// The length.
        size_ms: i64,
    },
    /// `[n·slide, n·slide + size)`: each record is in `size / slide` windows.
    Sliding {
        /// The length.
        size_ms: i64,
        /// The distance between starts; divides `size_ms`.
        slide_ms: i64,
    },
    /// Per key, `[first event, last event + gap)`, merged when they overlap.
    Session {
        /// How long without a record closes a key's session.
        gap_ms: i64,
    },
}

impl WindowKind {
    /// The windows `[start, end)` that hold an event at `timestamp`, earliest first. For a
    /// session window: the session the event alone would open, `[timestamp, timestamp + gap)`.
    pub fn windows_of(self, timestamp: i64) -> impl Iterator<Item = (i64, i64)> {
        let (size, slide) = match self {
            WindowKind::Tumbling { size_ms } => (size_ms, size_ms),
            WindowKind::Sliding { size_ms, slide_ms } => (size_ms, slide_ms),
            WindowKind::Session { gap_ms } => (gap_ms, gap_ms),
        };
        let last_start = match self {
            WindowKind::Session { .. } => timestamp,
            _ => timestamp.div_euclid(slide) * slide,
        };
        let count = size / slide;
        (0..count).rev().map(move |back| {
            let start = last_start - back * slide;
            (start, start + size)
        })
    }
}

/// `flush`.
#[derive(Debug, Clone, PartialEq)]
pub struct FlushPlan {
    /// Per key or per window.
    pub per: crate::model::FlushPer,
    /// The code; a `null` result emits nothing, a list emits one record per element.
    pub logic: Logic,
    /// Where it is declared.
    pub origin: String,
}

/// What a service reads: a topic, or a Nexmark generator.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcePlan {
    /// The source's id in the file: a topic id, or the generator's name.
    pub id: String,
    /// Where its records come from.
    pub input: SourceInput,
    /// Operators applied to records from this source only.
    pub chain: Vec<OperatorPlan>,
}

impl SourcePlan {
    /// The id of the topic it reads, if it reads one.
    pub fn topic_id(&self) -> Option<&str> {
        matches!(self.input, SourceInput::Topic { .. }).then_some(self.id.as_str())
    }

    /// The name its committed positions and dead letters carry: the topic's name, or
    /// `nexmark:<id>` (never a topic name: `:` is not allowed in one).
    pub fn name(&self) -> String {
        match &self.input {
            SourceInput::Topic { topic, .. } => topic.to_string(),
            SourceInput::Nexmark(_) => format!("nexmark:{}", self.id),
        }
    }
}

/// Where a source's records come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceInput {
    /// A topic's partitions.
    Topic {
        /// The topic's name in the log.
        topic: TopicName,
        /// Where to start when the service has no committed offset yet.
        start: StartOffset,
    },
    /// The Nexmark event generator.
    Nexmark(NexmarkPlan),
}

/// A Nexmark generator source: records whose value is the event's JSON
/// ([`eddy_nexmark::Event::write_json`]'s shape), no key, and the event time as timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NexmarkPlan {
    /// What the generator makes.
    pub config: eddy_nexmark::Config,
    /// Events in all (numbers `0..events`); `None`: no end.
    pub events: Option<u64>,
    /// Events per second of wall-clock time over all partitions; `None`: no pacing.
    pub rate: Option<u64>,
    /// Source partitions: partition `p` makes the events numbered `p, p + partitions, …`.
    pub partitions: u32,
}

/// A topic a service writes.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkPlan {
    /// The topic's id in the file.
    pub topic_id: String,
    /// The topic's name in the log.
    pub topic: TopicName,
    /// Operators applied to records written to this topic only.
    pub chain: Vec<OperatorPlan>,
}

/// Where a source starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOffset {
    /// This many records after the first one still in the topic.
    Beginning(u64),
    /// This many records before the end.
    End(u64),
    /// This absolute offset.
    Absolute(u64),
}

/// The stateless operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperatorKind {
    /// Keep the record when the logic returns `true`; drop it on `false`.
    Filter,
    /// Replace the value with the result.
    Map,
    /// Replace the value with the result; drop the record when it is `null`.
    FilterMap,
    /// Emit one record per element of the resulting list.
    FlatMap,
}

/// One stateless operator.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorPlan {
    /// What it does.
    pub kind: OperatorKind,
    /// The code it runs.
    pub logic: Logic,
    /// Where it is declared (`services.alerts.transforms[0]`), for error messages.
    pub origin: String,
}

/// The partition stage.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionPlan {
    /// Computes the record's new key.
    pub key: Logic,
    /// Where the key logic is declared.
    pub key_origin: String,
    /// Operators after re-keying.
    pub chain: Vec<OperatorPlan>,
    /// The state update, if any.
    pub update_state: Option<UpdateStatePlan>,
    /// What goes on to the sinks after the update (`value`, `key`, `timestamp`, `state` and
    /// `previous` bound); `None`: the record itself.
    pub emit: Option<EmitPlan>,
}

/// `partition.emit`: the record a state update sends on, as a changelog of the state.
#[derive(Debug, Clone, PartialEq)]
pub struct EmitPlan {
    /// The code; a `null` result emits nothing.
    pub logic: Logic,
    /// Where it is declared.
    pub origin: String,
}

impl EmitPlan {
    /// The name the key's state before the update is bound to in `emit`.
    pub const PREVIOUS: &'static str = "previous";
}

/// `update-state`: computes the key's new state; `state` is bound to the current one.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateStatePlan {
    /// The code; its result is the new state.
    pub logic: Logic,
    /// Where it is declared.
    pub origin: String,
    /// The state it updates.
    pub state: StatePlan,
}

/// A join of two sides by a join key.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinPlan {
    /// The first side.
    pub left: JoinSidePlan,
    /// The second side.
    pub right: JoinSidePlan,
    /// Builds the output value from both sides' values (bound by the sides' names), `key`
    /// and, in a windowed service, `window`; `null` emits nothing.
    pub emit: Logic,
    /// Where `emit` is declared.
    pub emit_origin: String,
}

impl JoinPlan {
    /// The name of the keyed state join rows are stored in:
    /// `{"left": [row…], "right": [row…]}` per key, a row being `{"timestamp", "value"}`.
    pub const STATE: &'static str = "join";

    /// Both sides, left first.
    pub fn sides(&self) -> [&JoinSidePlan; 2] {
        [&self.left, &self.right]
    }
}

/// One side of a join.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinSidePlan {
    /// The name `emit` binds this side's value to.
    pub name: String,
    /// Only records of this source (an index into the service's sources); `None`: any.
    pub source: Option<usize>,
    /// Which records belong to the side; `None`: all.
    pub when: Option<Logic>,
    /// Where `when` is declared.
    pub when_origin: String,
    /// Computes the join key.
    pub key: Logic,
    /// Where `key` is declared.
    pub key_origin: String,
    /// Which of the side's rows a key keeps.
    pub keep: Keep,
}

/// A keyed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePlan {
    /// Its name.
    pub name: String,
    /// The key's type (a string or integer primitive).
    pub key: Primitive,
    /// The value's type, names resolved.
    pub value: StateType,
}

/// A state value's type, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateType {
    /// A number.
    Number(Primitive),
    /// Named columns of primitive types.
    Row(Vec<(String, Primitive)>),
}

impl StateType {
    /// The value a key's state has before its first update: 0, or a row of zeroes, empty
    /// strings and `false`.
    pub fn initial(&self) -> Value {
        match self {
            StateType::Number(number) => zero(*number),
            StateType::Row(columns) => {
                Value::Object(columns.iter().map(|(name, column)| (name.clone(), zero(*column))).collect())
            }
        }
    }

    /// The state's type as a [`TypeDef`], to check updates with [`TypeDef::check`].
    pub fn type_def(&self) -> TypeDef {
        match self {
            StateType::Number(number) => TypeDef::Primitive(*number),
            StateType::Row(columns) => TypeDef::Object(
                columns.iter().map(|(name, column)| (name.clone(), TypeDef::Primitive(*column))).collect(),
            ),
        }
    }
}

fn zero(primitive: Primitive) -> Value {
    match primitive {
        Primitive::String | Primitive::Bytes => Value::from(""),
        Primitive::Bool => Value::from(false),
        Primitive::F32 | Primitive::F64 => Value::from(0.0),
        Primitive::I32 | Primitive::I64 | Primitive::U32 | Primitive::U64 => Value::from(0),
    }
}

impl Plan {
    /// Every topic the dataflow needs, dead-letter topic included, with its partition count.
    pub fn topics_to_create(&self) -> Vec<(&TopicName, u32)> {
        let mut topics: Vec<(&TopicName, u32)> =
            self.topics.iter().map(|topic| (&topic.name, topic.partitions)).collect();
        topics.push((&self.dead_letter_topic, 1));
        topics
    }

    /// The topic with id `id`.
    pub fn topic(&self, id: &str) -> Option<&TopicPlan> {
        self.topics.iter().find(|topic| topic.id == id)
    }

    /// The service called `name`.
    pub fn service(&self, name: &str) -> Option<&ServicePlan> {
        self.services.iter().find(|service| service.name == name)
    }

    /// Calls `visit` with every WebAssembly logic of the plan and where it is declared
    /// (`services.hot.transforms[0]`): to resolve component paths, or to replace inline code
    /// with the component built from it.
    pub fn for_each_wasm(&mut self, mut visit: impl FnMut(&str, &mut WasmSource)) {
        let mut logic = |origin: &str, logic: &mut Logic| {
            if let Logic::Wasm(source) = logic {
                visit(origin, source);
            }
        };
        let chain = |ops: &mut [OperatorPlan], logic: &mut dyn FnMut(&str, &mut Logic)| {
            for op in ops {
                logic(&op.origin, &mut op.logic);
            }
        };
        for service in &mut self.services {
            for source in &mut service.sources {
                chain(&mut source.chain, &mut logic);
            }
            chain(&mut service.chain, &mut logic);
            if let Some(partition) = &mut service.partition {
                logic(&partition.key_origin, &mut partition.key);
                chain(&mut partition.chain, &mut logic);
                if let Some(update) = &mut partition.update_state {
                    logic(&update.origin, &mut update.logic);
                }
            }
            if let Some(join) = &mut service.join {
                for side in [&mut join.left, &mut join.right] {
                    if let Some(when) = &mut side.when {
                        logic(&side.when_origin, when);
                    }
                    logic(&side.key_origin, &mut side.key);
                }
                logic(&join.emit_origin, &mut join.emit);
            }
            if let Some(window) = &mut service.window {
                if let Some(timestamp) = &mut window.timestamp {
                    logic(&window.timestamp_origin, timestamp);
                }
                if let Some(flush) = &mut window.flush {
                    logic(&flush.origin, &mut flush.logic);
                }
            }
            for sink in &mut service.sinks {
                chain(&mut sink.chain, &mut logic);
            }
        }
    }

    /// Makes relative `component:` paths relative to `dir` (the dataflow file's directory).
    pub fn resolve_component_paths(&mut self, dir: &std::path::Path) {
        self.for_each_wasm(|_, source| {
            if let WasmSource::Component(path) = source
                && std::path::Path::new(path.as_str()).is_relative()
            {
                *path = dir.join(path.as_str()).display().to_string();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn states_start_at_zero_and_check_their_updates() {
        let counter = StateType::Number(Primitive::U64);
        assert_eq!(counter.initial(), json!(0));
        assert_eq!(counter.type_def().check(&json!(1)), Ok(()));
        let row = StateType::Row(vec![("sum".to_owned(), Primitive::F64), ("n".to_owned(), Primitive::U32)]);
        assert_eq!(row.initial(), json!({"sum": 0.0, "n": 0}));
        assert!(row.type_def().check(&row.initial()).is_ok());
    }
}
