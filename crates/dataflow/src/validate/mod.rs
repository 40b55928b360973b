//! Validation: from a deserialized [`Dataflow`] to a [`Plan`], or to every problem found.
//!
//! Structural problems (YAML syntax, unknown fields, wrong types) are found while
//! deserializing ([`crate::yaml::recover`]); this module finds the rest, each tied to the
//! [`Path`] of the value concerned:
//!
//! - settings ([`settings`]): `apiVersion`, `meta.name` (it prefixes the dead-letter topic),
//!   `config.commit-interval`;
//! - types ([`types`]): unknown type names, names shadowing primitives, cycles;
//! - topics ([`topics`]): valid and unique names, partitions, key and value types;
//! - services ([`services`], [`steps`]): sources and sinks that exist (a `type: nexmark`
//!   generator as a source only, its settings in range), no service writing a
//!   topic it reads, states, operators in their place, exactly one logic per step, CEL that
//!   compiles and reads only the variables it is given; a `join`'s sides and `emit`
//!   ([`join`]); `uses:` names an imported package function of the step's operator whose
//!   types fit the topics around it ([`uses`]);
//! - the graph ([`graph`]): services ordered so that writers come before readers; a cycle
//!   through topics is an error.
//!
//! Parts already broken during deserialization are skipped, and references to them are not
//! reported again: one mistake gives one diagnostic.

mod aggregates;
mod graph;
mod join;
mod services;
mod settings;
mod steps;
mod topics;
mod types;
mod uses;

use std::collections::BTreeMap;

use crate::diagnostic::Finding;
use eddy_types::TopicName;

use crate::model::{Dataflow, Primitive, TypeDef};
use crate::package::Packages;
use crate::plan::{Plan, TopicPlan};
use crate::suggest::closest;
use crate::yaml::Path;

/// Validates `dataflow`, skipping the parts under the `broken` paths.
///
/// Returns the plan when nothing is wrong (and nothing was broken), and the findings.
pub(crate) fn validate(
    dataflow: &Dataflow,
    broken: &[Path],
    packages: &Packages,
) -> (Option<Plan>, Vec<Finding>) {
    let mut validator =
        Validator { dataflow, broken, packages, findings: Vec::new(), types: BTreeMap::new() };
    let settings = validator.settings();
    validator.types();
    let topics = validator.topics(settings.as_ref().map(|settings| &settings.dead_letter_topic));
    let services = validator.services(&topics, settings.as_ref());
    let services = validator.order(services);
    let plan = match (settings, validator.findings.is_empty() && broken.is_empty()) {
        (Some(settings), true) => Some(Plan {
            name: dataflow.meta.name.clone(),
            commit_interval: settings.commit_interval,
            late_records_topic: services
                .iter()
                .any(|service| service.window.is_some())
                .then(|| TopicName::new(&format!("{}.late-records", dataflow.meta.name)))
                .and_then(Result::ok),
            dead_letter_topic: settings.dead_letter_topic,
            topics: topics.into_values().flatten().collect::<Vec<TopicPlan>>(),
            services,
        }),
        _ => None,
    };
    (plan, validator.findings)
}

/// Walks a dataflow, collecting findings.
struct Validator<'a> {
    dataflow: &'a Dataflow,
    broken: &'a [Path],
    /// The imported packages.
    packages: &'a Packages,
    findings: Vec<Finding>,
    /// The declared types that resolved, by name.
    types: BTreeMap<String, TypeDef>,
}

impl Validator<'_> {
    fn report(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Whether deserialization found a problem at, inside or above `path`.
    fn is_broken(&self, path: &Path) -> bool {
        self.broken.iter().any(|broken| broken.starts_with(path) || path.starts_with(broken))
    }

    /// Resolves a reference to a type (a primitive or a declared name) written at `path`.
    fn type_ref(&mut self, name: &str, path: Path) -> Option<TypeDef> {
        match TypeDef::from_name(name) {
            TypeDef::Named(name) if name == "object" || name == "list" => {
                self.report(Finding::new(
                    path,
                    format!("an inline `{name}` is not allowed here; declare it in `types` and use its name"),
                ));
                None
            }
            TypeDef::Named(name) => {
                if let Some(resolved) = self.types.get(&name) {
                    return Some(resolved.clone());
                }
                let declared = self.dataflow.types.contains_key(&name);
                if !declared && !self.is_broken(&Path::root().key("types").key(&name)) {
                    let finding = self.unknown_type(&name, path);
                    self.report(finding);
                }
                None
            }
            primitive => Some(primitive),
        }
    }

    fn unknown_type(&self, name: &str, path: Path) -> Finding {
        let declared: Vec<&str> = self.dataflow.types.keys().map(String::as_str).collect();
        let primitives: Vec<&str> = Primitive::ALL.iter().map(|primitive| primitive.name()).collect();
        let hint = closest(name, declared.iter().chain(&primitives).copied())
            .map(|near| format!(" (did you mean `{near}`?)"))
            .unwrap_or_default();
        let declared = if declared.is_empty() { "none".to_owned() } else { declared.join(", ") };
        Finding::new(
            path,
            format!(
                "unknown type `{name}`{hint}; declared types: {declared}; primitives: {}",
                primitives.join(", ")
            ),
        )
        .expected("a primitive or a type declared in `types`")
    }

    /// Resolves a type to a primitive, for state keys and row columns.
    fn primitive_ref(&mut self, name: &str, path: Path) -> Option<Primitive> {
        match self.type_ref(name, path.clone())? {
            TypeDef::Primitive(primitive) => Some(primitive),
            other => {
                self.report(Finding::new(
                    path,
                    format!("expected a primitive type, found `{name}` ({other})"),
                ));
                None
            }
        }
    }
}

/// `path` with one key per element of `keys` appended.
fn extend(path: &Path, keys: &[&str]) -> Path {
    keys.iter().fold(path.clone(), |path, key| path.key(key))
}
