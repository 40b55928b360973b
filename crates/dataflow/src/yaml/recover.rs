//! Deserialization that reports every problem, not just the first.
//!
//! serde stops at the first error. To find the next one, the node that caused it is hidden
//! (see [`super::de::NodeDe`]'s skip set) and the document is deserialized again, until it
//! succeeds or the root itself is broken:
//!
//! ```text
//! error at services.a.transforms[0].opertor (unknown field) → hide that entry, retry
//! error at topics.t.partitions (wrong type)                  → hide that entry, retry
//! error at topics.t (missing `partitions`, which we hid)     → a consequence: hide topics.t
//!                                                              silently, retry
//! ```
//!
//! Runs share one [`Recovery`], so a caller can salvage the parts of a document whose root
//! is broken (see `crate::parse`) without reporting a problem twice.
//!
//! A "missing field" caused by hiding that very field, or by a misspelling of it reported as
//! an unknown field with a suggestion (`nam:` for `name:`), is not reported: it is an echo of
//! the first error. Every path where something was hidden is returned, so validation can leave
//! the damaged parts alone instead of reporting their consequences.

use std::collections::HashSet;

use serde::de::DeserializeOwned;

use super::de::{DeError, DeErrorKind, NodeDe, one_of};
use super::{Node, Path};
use crate::diagnostic::{At, Finding};
use crate::suggest::closest;

/// The most problems reported from one file.
const MAX_FINDINGS: usize = 50;

/// The most times a document is deserialized again after an error.
const MAX_ATTEMPTS: usize = 200;

/// The state of a recovering deserialization: what was hidden, what was found.
#[derive(Default)]
pub(crate) struct Recovery {
    /// Paths hidden from serde.
    skip: HashSet<Path>,
    /// Fields suggested for misspelt ones: their absence is not reported again.
    suggested: HashSet<Path>,
    /// How many times a document was deserialized.
    attempts: usize,
    /// One finding per problem.
    pub(crate) findings: Vec<Finding>,
    /// Every path where a problem was found or a node hidden.
    pub(crate) broken: Vec<Path>,
}

impl Recovery {
    /// Deserializes `node`, found at `path`, as a `T`, hiding each node that fails and trying
    /// again. `None` when `node` itself is broken (or was hidden by an earlier run).
    pub(crate) fn run<T: DeserializeOwned>(&mut self, node: &Node, path: &Path) -> Option<T> {
        if self.skip.iter().any(|hidden| path.starts_with(hidden)) {
            return None;
        }
        while self.attempts < MAX_ATTEMPTS && self.findings.len() < MAX_FINDINGS {
            self.attempts += 1;
            let error = match T::deserialize(NodeDe::new(node, path.clone(), &self.skip)) {
                Ok(value) => return Some(value),
                Err(error) => error,
            };
            let (at, pos) = error.place.clone().unwrap_or((path.clone(), node.pos));
            let echo = matches!(error.kind, DeErrorKind::MissingField(field)
                if self.skip.contains(&at.key(field)) || self.suggested.contains(&at.key(field)));
            if let DeErrorKind::UnknownField { field, expected } = &error.kind
                && let Some(near) = closest(field, expected.iter().copied())
            {
                // `nam:` for `name:` also makes `name` missing; that is the same mistake.
                self.suggested.insert(at.parent().key(near));
            }
            if !echo {
                self.findings.push(finding(error, at.clone()).at(At::Pos(pos)));
            }
            if !at.is_root() {
                // A broken root breaks everything; callers salvage its parts instead.
                self.broken.push(at.clone());
            }
            if !at.starts_with(path) || at == *path || self.skip.contains(&at) {
                break;
            }
            self.skip.insert(at);
        }
        None
    }
}

/// Turns a deserialization error into a finding, naming the field and suggesting a fix.
fn finding(error: DeError, path: Path) -> Finding {
    let error = error.into_data();
    let (message, expected) = match &error.kind {
        DeErrorKind::UnknownField { field, expected } => {
            let hint = closest(field, expected.iter().copied())
                .map(|near| format!(" (did you mean `{near}`?)"))
                .unwrap_or_default();
            (format!("unknown field `{field}`{hint}; expected {}", one_of(expected)), Some(one_of(expected)))
        }
        DeErrorKind::UnknownVariant { variant, expected } => {
            let noun = path.last_key().unwrap_or("value");
            let hint = closest(variant, expected.iter().copied())
                .map(|near| format!(" (did you mean `{near}`?)"))
                .unwrap_or_default();
            (
                format!("unknown {noun} `{variant}`{hint}; expected {}", one_of(expected)),
                Some(one_of(expected)),
            )
        }
        DeErrorKind::MissingField(_) | DeErrorKind::Other => (error.message, error.expected),
    };
    let finding = Finding::new(path, message);
    match expected {
        Some(expected) => finding.expected(expected),
        None => finding,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;
    use crate::yaml::node;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        topics: BTreeMap<String, Topic>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Topic {
        partitions: u32,
        #[serde(default)]
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    enum Kind {
        Compact,
        Delete,
    }

    fn recover(source: &str) -> (Option<Doc>, Recovery) {
        let mut recovery = Recovery::default();
        let doc = recovery.run(&node::parse(source).0.unwrap(), &Path::root());
        (doc, recovery)
    }

    #[test]
    fn every_problem_is_found_and_echoes_are_not() {
        let (doc, recovered) = recover(
            "topics:\n  a:\n    partitions: many\n  b:\n    partitions: 1\n    kind: compakt\n  c:\n    partitions: 2\n    colour: red\n",
        );
        let found: Vec<(String, String)> =
            recovered.findings.iter().map(|f| (f.path.to_string(), f.message.clone())).collect();
        assert_eq!(
            found,
            vec![
                ("topics.a.partitions".to_owned(), "expected u32, found string `many`".to_owned()),
                (
                    "topics.b.kind".to_owned(),
                    "unknown kind `compakt` (did you mean `compact`?); expected `compact` or `delete`"
                        .to_owned()
                ),
                (
                    "topics.c.colour".to_owned(),
                    "unknown field `colour`; expected `partitions` or `kind`".to_owned()
                ),
            ]
        );
        let doc = doc.unwrap();
        assert_eq!(doc.topics.keys().collect::<Vec<_>>(), ["b", "c"]);
        assert!(recovered.broken.contains(&Path::root().key("topics").key("a")));
    }

    #[test]
    fn a_broken_root_ends_the_search() {
        let (doc, recovered) = recover("nothing: here\n");
        assert!(doc.is_none());
        assert_eq!(recovered.findings.len(), 2, "{:?}", recovered.findings);
        assert!(recovered.findings[1].message.contains("missing required field `topics`"));
        let (doc, recovered) = recover("[1, 2]\n");
        assert!(doc.is_none());
        assert_eq!(recovered.findings[0].message, "expected a mapping, found a sequence");
    }
}
