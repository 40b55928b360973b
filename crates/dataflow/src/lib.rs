//! Eddy's dataflow file: the serde [`model`], validation with file:line diagnostics, and the
//! pure execution [`Plan`].
//!
//! A dataflow file (shaped like Fluvio SDF's `dataflow.yaml`) declares types, topics and
//! services; services read topics, run operators whose logic is a CEL expression, may
//! re-key records and keep keyed state, and write topics. This crate turns the file into a
//! [`Plan`] the engine runs, or into [`Diagnostics`] that name every problem with its line,
//! column and field:
//!
//! ```text
//! dataflow.yaml:12:9: services.alerts.sources[0].id: topic `readngs` is not declared in `topics` (did you mean `readings`?) (declared: alerts, readings)
//! ```
//!
//! What it is not: it runs nothing and does no I/O, except reading the file ([`load`]) and
//! the [`package`] files it imports. The
//! [`expr`] module evaluates CEL for the engine; WebAssembly logic will come from `eddy-wasm`
//! behind the same [`Function`] trait.
//!
//! ```
//! let source = r#"
//! apiVersion: 0.5.0
//! meta: {name: sensors}
//! types:
//!   reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}}}
//! topics:
//!   readings: {schema: {value: {type: reading}}}
//!   alerts: {schema: {value: {type: reading}}}
//! services:
//!   hot:
//!     sources: [{type: topic, id: readings}]
//!     transforms: [{operator: filter, cel: "value.temp > 30.0"}]
//!     sinks: [{type: topic, id: alerts}]
//! "#;
//! let (_dataflow, plan) = eddy_dataflow::parse(source, "dataflow.yaml").unwrap();
//! assert_eq!(plan.dead_letter_topic.as_str(), "sensors.dead-letter");
//! assert_eq!(plan.services[0].chain.len(), 1);
//!
//! let broken = source.replace("id: readings", "id: readngs");
//! let error = eddy_dataflow::parse(&broken, "dataflow.yaml").unwrap_err();
//! assert!(error.to_string().starts_with("dataflow.yaml:11:33: services.hot.sources[0].id: topic `readngs`"));
//! ```

mod diagnostic;
pub mod expr;
mod inline;
mod logic;
pub mod model;
pub mod package;
mod parse;
mod plan;
mod suggest;
mod validate;
mod yaml;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use inline::{InlineCode, InlineSite, UsedFunction, inline_code, inline_code_with};
pub use logic::{AggregatePlan, Function, Logic, WasmSource};
pub use model::Dataflow;
pub use package::{PACKAGE_FILE, PackagePaths};
pub use parse::{load, load_with, parse, parse_with};
pub use plan::{
    EmitPlan, FlushPlan, JoinPlan, JoinSidePlan, NexmarkPlan, OperatorKind, OperatorPlan, PartitionPlan,
    Plan, ServicePlan, SinkPlan, SourceInput, SourcePlan, StartOffset, StatePlan, StateType, TopicPlan,
    UpdateStatePlan, WindowKind, WindowPlan,
};
