//! Module files: Statefun 3.1+ `module.yaml`, one YAML document per component, each with a
//! `kind` and a `spec`.
//!
//! | kind | becomes |
//! |---|---|
//! | `io.statefun.endpoints.v2/http` (`v1` too) | [`HttpEndpoint`] |
//! | `io.statefun.kafka.v1/ingress` / `egress` | [`KafkaIngress`] / [`KafkaEgress`], on Eddy topics |
//! | `io.statefun.playground.v1/ingress` / `egress` | [`PlaygroundIngress`] / [`PlaygroundEgress`] |
//! | `io.eddy.endpoints.v1/wasm` (Eddy's own) | [`WasmEndpoint`]: functions run as WebAssembly components |
//!
//! Every problem in the file is reported, each with `file:line:column`, the field's path and
//! what was expected ([`Problem`]); nothing here panics on any input.
//!
//! The YAML front end is this module's own ([`yaml`], on `saphyr-parser`) rather than the
//! dataflow crate's: the two crates are siblings, a module file holds many documents while a
//! dataflow file holds one, and reading a module needs only a tree with positions, not serde.
//!
//! ```
//! let text = "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: example/*\n  urlPathTemplate: http://localhost:8000/{function.name}\n";
//! let module = eddy_statefun::Module::parse("module.yaml", text).unwrap();
//! let greeter = "example/greeter".parse().unwrap();
//! assert_eq!(module.endpoint_for(&greeter).unwrap().url_for(&greeter), "http://localhost:8000/greeter");
//! ```

mod duration;
mod endpoint;
mod kafka;
mod playground;
mod reader;
mod wasm;
mod yaml;

use std::fmt;
use std::path::Path;

pub use endpoint::{FunctionPattern, HttpEndpoint};
pub use kafka::{DeliverySemantic, IngressTopic, KafkaEgress, KafkaIngress, StartupPosition};
pub use playground::{PLAYGROUND_EGRESS_ID, PlaygroundEgress, PlaygroundIngress};
pub use reader::Problem;
pub use wasm::WasmEndpoint;

use crate::address::{FunctionType, TypeName};
use eddy_types::TopicName;
use reader::Reader;
use yaml::Node;

/// A module: the endpoints, ingresses and egresses of an application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Module {
    /// The HTTP endpoints, in file order.
    pub endpoints: Vec<HttpEndpoint>,
    /// The functions run as WebAssembly components, in file order.
    pub wasm_endpoints: Vec<WasmEndpoint>,
    /// The ingresses.
    pub ingresses: Vec<Ingress>,
    /// The egresses.
    pub egresses: Vec<Egress>,
}

/// An ingress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingress {
    /// Records of topics.
    Kafka(KafkaIngress),
    /// HTTP requests.
    Playground(PlaygroundIngress),
}

/// An egress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Egress {
    /// Records to topics.
    Kafka(KafkaEgress),
    /// Records kept for HTTP readers.
    Playground(PlaygroundEgress),
}

/// Why a module file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file cannot be read.
    #[error("cannot read the module file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file has problems, every one listed.
    #[error("{}", Problems(.0))]
    Invalid(Vec<Problem>),
}

struct Problems<'a>(&'a [Problem]);

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

const HTTP_V2: &str = "io.statefun.endpoints.v2/http";
const HTTP_V1: &str = "io.statefun.endpoints.v1/http";
const KAFKA_INGRESS: &str = "io.statefun.kafka.v1/ingress";
const KAFKA_EGRESS: &str = "io.statefun.kafka.v1/egress";
const PLAYGROUND_INGRESS: &str = "io.statefun.playground.v1/ingress";
const PLAYGROUND_EGRESS: &str = "io.statefun.playground.v1/egress";
/// The top-level key of a dataflow file that holds module documents.
pub const FUNCTIONS_KEY: &str = "functions";
/// Eddy's kind of endpoint: functions run as WebAssembly components.
pub const WASM_V1: &str = "io.eddy.endpoints.v1/wasm";
const KINDS: [&str; 7] =
    [HTTP_V2, HTTP_V1, WASM_V1, KAFKA_INGRESS, KAFKA_EGRESS, PLAYGROUND_INGRESS, PLAYGROUND_EGRESS];

impl Module {
    /// Reads and parses the module file at `path`.
    ///
    /// # Errors
    /// [`Error::Read`] when the file cannot be read, [`Error::Invalid`] with every problem found.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|source| Error::Read { path: path.display().to_string(), source })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses the text of a module file; `file` names it in problems.
    ///
    /// # Errors
    /// [`Error::Invalid`] with every problem found.
    pub fn parse(file: &str, text: &str) -> Result<Self, Error> {
        let mut reader = Reader::new(file);
        let mut module = Module::default();
        match yaml::parse(text) {
            Err(error) => reader.problem(error.pos, "", error.message),
            Ok(documents) => {
                let nodes: Vec<&Node> = documents
                    .iter()
                    .filter_map(|(_, node)| node.as_ref())
                    .filter(|node| !node.is_null())
                    .collect();
                for node in &nodes {
                    read_document(&mut reader, node, &mut module);
                }
                if nodes.is_empty() {
                    reader.problem(
                        yaml::Pos { line: 1, column: 1 },
                        "",
                        "the module file is empty; expected documents with `kind` and `spec`",
                    );
                }
            }
        }
        if reader.problems.is_empty() { Ok(module) } else { Err(Error::Invalid(reader.problems)) }
    }

    /// Reads the `functions` section of a dataflow file: a list of module documents (each with
    /// `kind` and `spec`, as in a `module.yaml`) under the top-level key `functions`. Given
    /// the topics the dataflow declares (`topics`: id → name in the log), Kafka ingresses may
    /// read only those, naming either, and their topics become the log names. `Ok(None)` when the file
    /// has no `functions` section. Problems name the field from the top of the file
    /// (`functions[1].spec.topics[0].topic`); the file's other parts are the dataflow
    /// parser's to check.
    ///
    /// # Errors
    /// [`Error::Invalid`] with every problem found in the section.
    pub fn parse_dataflow_functions(
        file: &str,
        text: &str,
        topics: Option<&[(String, TopicName)]>,
    ) -> Result<Option<Self>, Error> {
        let mut reader = Reader::new(file);
        reader.declared_topics = topics;
        let documents = match yaml::parse(text) {
            Ok(documents) => documents,
            // The dataflow parser reports the syntax error.
            Err(_) => return Ok(None),
        };
        let section = documents.iter().find_map(|(_, node)| match &node.as_ref()?.kind {
            yaml::Kind::Map(entries) => entries
                .iter()
                .find(
                    |(key, _)| matches!(&key.kind, yaml::Kind::Scalar { text, .. } if text == FUNCTIONS_KEY),
                )
                .map(|(_, value)| value),
            _ => None,
        });
        let Some(section) = section else { return Ok(None) };
        let mut module = Module::default();
        match &section.kind {
            yaml::Kind::Seq(items) => {
                for (index, item) in items.iter().enumerate() {
                    let before = reader.problems.len();
                    read_document(&mut reader, item, &mut module);
                    for problem in &mut reader.problems[before..] {
                        problem.field = if problem.field.is_empty() {
                            format!("{FUNCTIONS_KEY}[{index}]")
                        } else {
                            format!("{FUNCTIONS_KEY}[{index}].{}", problem.field)
                        };
                    }
                }
            }
            _ if section.is_null() => {}
            _ => reader.problem(
                section.pos,
                FUNCTIONS_KEY,
                "expected a list of module documents, each with `kind` and `spec` (as in a Statefun module.yaml)",
            ),
        }
        if reader.problems.is_empty() { Ok(Some(module)) } else { Err(Error::Invalid(reader.problems)) }
    }

    /// The endpoint serving `function_type`: one naming it exactly wins over a namespace pattern.
    pub fn endpoint_for(&self, function_type: &FunctionType) -> Option<&HttpEndpoint> {
        self.endpoints
            .iter()
            .find(|endpoint| endpoint.functions.is_exactly(function_type))
            .or_else(|| self.endpoints.iter().find(|endpoint| endpoint.functions.matches(function_type)))
    }

    /// The WebAssembly endpoint serving `function_type`: one naming it exactly wins over a
    /// namespace pattern, and an HTTP endpoint naming it exactly wins over a wasm pattern.
    pub fn wasm_endpoint_for(&self, function_type: &FunctionType) -> Option<&WasmEndpoint> {
        let exact = self.wasm_endpoints.iter().find(|endpoint| endpoint.functions.is_exactly(function_type));
        if exact.is_some() {
            return exact;
        }
        if self.endpoints.iter().any(|endpoint| endpoint.functions.is_exactly(function_type)) {
            return None;
        }
        self.wasm_endpoints.iter().find(|endpoint| endpoint.functions.matches(function_type))
    }

    /// The Kafka egress with id `id`.
    pub fn kafka_egress(&self, id: &TypeName) -> Option<&KafkaEgress> {
        self.egresses.iter().find_map(|egress| match egress {
            Egress::Kafka(kafka) if &kafka.id == id => Some(kafka),
            _ => None,
        })
    }
}

impl Module {
    /// Whether an endpoint of either kind already has the pattern `functions`.
    fn serves(&self, functions: &FunctionPattern) -> bool {
        self.endpoints.iter().any(|known| &known.functions == functions)
            || self.wasm_endpoints.iter().any(|known| &known.functions == functions)
    }
}

fn read_document(reader: &mut Reader<'_>, node: &Node, module: &mut Module) {
    let Some(document) = reader.map(node, "", &["kind", "spec", "version", "module"]) else { return };
    if document.get("version").is_some() || document.get("module").is_some() {
        reader.problem(
            document.pos,
            "",
            "this is the Statefun 3.0 module format (`version`, `module`); write one document per \
             component with `kind` and `spec` (the 3.1+ format)",
        );
        return;
    }
    let Some(kind) = reader.string(&document, "kind", true) else { return };
    let Some(spec_node) = document.get("spec") else {
        reader.problem(document.pos, "spec", "this required field is missing");
        return;
    };
    match kind.as_str() {
        HTTP_V2 | HTTP_V1 => {
            let v1 = kind == HTTP_V1;
            let allowed: &[&str] = if v1 {
                &["functions", "urlPathTemplate", "maxNumBatchRequests", "timeouts"]
            } else {
                &["functions", "urlPathTemplate", "maxNumBatchRequests", "transport"]
            };
            let Some(spec) = reader.map(spec_node, "spec", allowed) else { return };
            if let Some(endpoint) = endpoint::read(reader, &spec, v1) {
                if module.serves(&endpoint.functions) {
                    let pos = spec.get("functions").map_or(spec.pos, |node| node.pos);
                    reader.problem(pos, "spec.functions", "another endpoint already serves these functions");
                }
                module.endpoints.push(endpoint);
            }
        }
        WASM_V1 => {
            let allowed = ["functions", "component", "maxNumBatchRequests"];
            let Some(spec) = reader.map(spec_node, "spec", &allowed) else { return };
            let file = reader.file().to_owned();
            if let Some(endpoint) = wasm::read(reader, &spec, &file) {
                if module.serves(&endpoint.functions) {
                    let pos = spec.get("functions").map_or(spec.pos, |node| node.pos);
                    reader.problem(pos, "spec.functions", "another endpoint already serves these functions");
                }
                module.wasm_endpoints.push(endpoint);
            }
        }
        KAFKA_INGRESS => {
            let allowed = [
                "id",
                "address",
                "consumerGroupId",
                "startupPosition",
                "autoOffsetResetPosition",
                "topics",
                "properties",
            ];
            let Some(spec) = reader.map(spec_node, "spec", &allowed) else { return };
            if let Some(ingress) = kafka::read_ingress(reader, &spec) {
                module.ingresses.push(Ingress::Kafka(ingress));
            }
        }
        KAFKA_EGRESS => {
            let allowed = ["id", "address", "deliverySemantic", "properties"];
            let Some(spec) = reader.map(spec_node, "spec", &allowed) else { return };
            if let Some(egress) = kafka::read_egress(reader, &spec) {
                if module.kafka_egress(&egress.id).is_some() {
                    let pos = spec.get("id").map_or(spec.pos, |node| node.pos);
                    reader.problem(
                        pos,
                        "spec.id",
                        format!("another egress already has the id `{}`", egress.id),
                    );
                }
                module.egresses.push(Egress::Kafka(egress));
            }
        }
        PLAYGROUND_INGRESS => {
            let Some(spec) = reader.map(spec_node, "spec", &["port"]) else { return };
            module.ingresses.push(Ingress::Playground(playground::read_ingress(reader, &spec)));
        }
        PLAYGROUND_EGRESS => {
            let Some(spec) = reader.map(spec_node, "spec", &["port", "topics"]) else { return };
            module.egresses.push(Egress::Playground(playground::read_egress(reader, &spec)));
        }
        other => {
            let pos = document.get("kind").map_or(document.pos, |node| node.pos);
            let hint = if other.starts_with("io.statefun.kinesis") {
                "Kinesis is not supported; ".to_owned()
            } else {
                String::new()
            };
            reader.problem(
                pos,
                "kind",
                format!(
                    "{hint}unknown kind `{other}`; expected one of {}",
                    KINDS.map(|k| format!("`{k}`")).join(", ")
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests;
