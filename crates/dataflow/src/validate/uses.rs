//! `uses:` steps: the name is a function imported from a package, of the step's operator, and
//! its input and output fit the topics around the step where those are known (the first step
//! after a topic source, the last step before a topic sink).

use std::collections::BTreeMap;

use super::Validator;
use crate::diagnostic::Finding;
use crate::logic::{Logic, WasmSource};
use crate::model::{Code, Operator, Service, Step, TypeDef};
use crate::package::{Lookup, fits};
use crate::plan::TopicPlan;
use crate::suggest::closest;
use crate::yaml::Path;

impl Validator<'_> {
    /// Checks `uses: <name>` of a step with `operator` at `path`.
    pub(super) fn uses(&mut self, name: &str, operator: Operator, path: &Path) -> Option<Logic> {
        let at = path.key("uses");
        match self.packages.lookup(self.dataflow, name) {
            Lookup::Found(package, function) => {
                if function.operator != operator {
                    self.report(Finding::new(
                        at,
                        format!(
                            "`{name}` of package `{}` is a `{}` function, but this step's operator is `{}`",
                            package.id,
                            function.operator.name(),
                            operator.name()
                        ),
                    ));
                    return None;
                }
                Some(Logic::Wasm(WasmSource::Uses(name.to_owned())))
            }
            Lookup::Broken => None,
            Lookup::Missing(imported) => {
                let hint = closest(name, imported.iter().copied())
                    .map(|near| format!(" (did you mean `{near}`?)"))
                    .unwrap_or_default();
                let imported = if imported.is_empty() { "none".to_owned() } else { imported.join(", ") };
                self.report(
                    Finding::new(
                        at,
                        format!(
                            "function `{name}` is not imported{hint}; list it in the `functions` of its package \
                             under `imports` (imported: {imported})"
                        ),
                    )
                    .expected("a function listed under `imports`"),
                );
                None
            }
            Lookup::Ambiguous(packages) => {
                self.report(Finding::new(
                    at,
                    format!(
                        "function `{name}` is imported from more than one package ({})",
                        packages.join(", ")
                    ),
                ));
                None
            }
        }
    }

    /// Checks the types of the `uses:` steps of `service` that touch a topic: the first step
    /// a topic source's records reach takes the topic's value type; the last step before a
    /// topic sink returns the sink topic's value type.
    pub(super) fn uses_types(
        &mut self,
        service: &Service,
        path: &Path,
        topics: &BTreeMap<String, Option<TopicPlan>>,
    ) {
        let topic_type = |id: &str| topics.get(id).and_then(Option::as_ref).map(|topic| topic.value.clone());
        for (index, source) in service.sources.iter().enumerate() {
            let Some(value) = topic_type(&source.id) else { continue };
            let first = match source.transforms.first() {
                Some(step) => Some((step, path.key("sources").index(index).key("transforms").index(0))),
                None => service.transforms.first().map(|step| (step, path.key("transforms").index(0))),
            };
            if let Some((step, at)) = first {
                self.input_fits(step, &at, &value, &source.id);
            }
        }
        let direct = service.partition.is_none() && service.window.is_none() && service.join.is_none();
        for (index, sink) in service.sinks.iter().enumerate() {
            let Some(value) = topic_type(&sink.id) else { continue };
            let last = match sink.transforms.last() {
                Some(step) => Some((
                    step,
                    path.key("sinks").index(index).key("transforms").index(sink.transforms.len() - 1),
                )),
                None if direct => service
                    .transforms
                    .last()
                    .map(|step| (step, path.key("transforms").index(service.transforms.len() - 1))),
                None => None,
            };
            if let Some((step, at)) = last {
                self.output_fits(step, &at, &value, &sink.id);
            }
        }
    }

    fn used<'s>(&self, step: &'s Step) -> Option<(&'s str, &crate::package::PackageFunction)> {
        let [Code::Uses(name)] = step.codes()[..] else { return None };
        match self.packages.lookup(self.dataflow, name) {
            Lookup::Found(_, function) if function.operator == step.operator => Some((name, function)),
            _ => None,
        }
    }

    fn input_fits(&mut self, step: &Step, at: &Path, value: &TypeDef, topic: &str) {
        let Some((name, function)) = self.used(step) else { return };
        if let Err(reason) = fits(value, &function.input) {
            self.report(Finding::new(
                at.key("uses"),
                format!("`{name}` takes a value that topic `{topic}`'s values do not fit: {reason}"),
            ));
        }
    }

    fn output_fits(&mut self, step: &Step, at: &Path, value: &TypeDef, topic: &str) {
        let Some((name, function)) = self.used(step) else { return };
        let returned = match step.operator {
            Operator::Filter => return,
            _ => &function.output,
        };
        if let Err(reason) = fits(returned, value) {
            self.report(Finding::new(
                at.key("uses"),
                format!("`{name}` returns values that do not fit topic `{topic}`: {reason}"),
            ));
        }
    }
}
