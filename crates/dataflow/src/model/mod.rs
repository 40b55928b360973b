//! The dataflow file as data: serde types shaped like Fluvio SDF's `dataflow.yaml`.
//!
//! ```yaml
//! apiVersion: 0.5.0
//! meta: {name: sensors, version: 0.1.0, namespace: acme}
//! config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
//! types:
//!   reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}}}
//! topics:
//!   readings: {schema: {value: {type: reading}}}
//!   alerts: {name: hot-alerts, partitions: 2, schema: {value: {type: reading}}}
//! services:
//!   alerts:
//!     sources: [{type: topic, id: readings}]
//!     transforms: [{operator: filter, cel: "value.temp > 30.0"}]
//!     sinks: [{type: topic, id: alerts}]
//! ```
//!
//! Field names are kebab-case except where SDF spells them otherwise (`apiVersion`,
//! `default_starting_offset`). Unknown fields are errors. The model holds what the file says;
//! whether it makes sense (topics exist, expressions compile) is checked by [`crate::parse`], and
//! what to run is the [`crate::Plan`].

mod aggregate;
mod imports;
mod join;
mod service;
mod settings;
mod step;
mod topic;
mod types;
mod window;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use aggregate::Aggregate;
pub use imports::{Dev, DevImport, Import, ImportedName, PackageId};
pub use join::{Join, JoinSide, Keep};
pub use service::{
    Endpoint, EndpointKind, Partition, Service, StateDef, StateKind, StateProperties, StateValue,
};
pub use settings::{Config, ConsumerConfig, Converter, Meta, Position, StartingOffset};
pub use step::{Code, FunctionDef, Operator, Step};
pub use topic::{Schema, Topic, TypeRef, ValueSchema};
pub use types::{Primitive, TypeDef};
pub use window::{Flush, FlushPer, Session, Sliding, Tumbling, Watermark, Window};

/// A whole dataflow file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Dataflow {
    /// The file format version (`apiVersion`), e.g. `0.5.0`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Name, version and namespace of the dataflow.
    pub meta: Meta,
    /// Packages whose functions steps use (`uses:`). Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<Import>,
    /// Development settings: local package directories. Default: none.
    #[serde(default, skip_serializing_if = "is_default")]
    pub dev: Dev,
    /// Defaults for the whole dataflow. Default: see [`Config`].
    #[serde(default)]
    pub config: Config,
    /// Named data types, referenced by topics and states. Default: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<String, TypeDef>,
    /// Topics by id. Default: none.
    #[serde(default)]
    pub topics: BTreeMap<String, Topic>,
    /// Services by name. Default: none (which validation rejects unless the file declares
    /// `functions`).
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    /// Stateful functions that run beside the services: a list of Statefun module documents
    /// (`kind` and `spec`, as in a `module.yaml`). This crate only notes that the section is
    /// there; `eddy_statefun::Module::parse_dataflow_functions` reads and checks it.
    #[serde(default, skip_serializing)]
    pub functions: Option<serde::de::IgnoredAny>,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}
