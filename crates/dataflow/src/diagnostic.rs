//! Problems found in a dataflow file, each with its place: [`Diagnostic`] and the list of
//! them, [`Diagnostics`], which is the error type of [`crate::parse`] and [`crate::load`].
//!
//! A diagnostic prints as one line a person or an editor can jump to:
//!
//! ```text
//! dataflow.yaml:12:9: services.alerts.sources[0].id: topic `readngs` is not declared in `topics` (declared: alerts, readings)
//! ```
//!
//! The message is complete on its own; `expected` repeats what was expected, when there is a
//! short answer, for tools that want it separately.

use std::fmt;

use crate::yaml::{Node, Path, Pos};

/// One problem in a dataflow file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name given to [`crate::parse`] (or the path given to [`crate::load`]).
    pub file: String,
    /// 1-based line; 0 when the problem has no place in a file (a dataflow built in code).
    pub line: usize,
    /// 1-based column in characters; 0 when unknown.
    pub column: usize,
    /// Where in the document, e.g. `services.alerts.transforms[1].cel`; empty for the whole file.
    pub field_path: String,
    /// What is wrong, and what to do about it.
    pub message: String,
    /// What was expected instead, when it can be said briefly (e.g. "one of `filter`, `map` ...").
    pub expected: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.file.is_empty(), self.line) {
            (true, 0) => {}
            (false, 0) => write!(f, "{}: ", self.file)?,
            (_, line) => write!(f, "{}:{line}:{}: ", self.file, self.column)?,
        }
        if !self.field_path.is_empty() {
            write!(f, "{}: ", self.field_path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in one dataflow file, in the order they appear in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", lines(.0))]
pub struct Diagnostics(Vec<Diagnostic>);

fn lines(diagnostics: &[Diagnostic]) -> String {
    diagnostics.iter().map(Diagnostic::to_string).collect::<Vec<_>>().join("\n")
}

impl Diagnostics {
    /// Wraps a list, sorting it by line and column.
    pub fn new(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by_key(|diagnostic| (diagnostic.line, diagnostic.column));
        Diagnostics(diagnostics)
    }

    /// `first` in file order, then `more` (another file's) as they are.
    pub(crate) fn with_others(first: Vec<Diagnostic>, more: Vec<Diagnostic>) -> Self {
        let mut all = Diagnostics::new(first).0;
        all.extend(more);
        Diagnostics(all)
    }

    /// The diagnostics, in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (never the case for an error returned by this crate).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The diagnostics as a vector.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Which part of an entry a finding points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum At {
    /// The value (a wrong value, an unknown reference).
    Value,
    /// The key (`window:` that is not supported, a misplaced step's `operator:` line).
    Key,
    /// A place already known (syntax and deserialization errors).
    Pos(Pos),
    /// A 1-based line and column inside an expression written as the value.
    Inside { line: usize, column: usize },
}

/// A problem before it is given its file and place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub(crate) path: Path,
    pub(crate) at: At,
    pub(crate) message: String,
    pub(crate) expected: Option<String>,
}

impl Finding {
    /// A finding about the value at `path`.
    pub(crate) fn new(path: Path, message: impl Into<String>) -> Self {
        Finding { path, at: At::Value, message: message.into(), expected: None }
    }

    /// Points the finding at the key of its entry instead of the value.
    pub(crate) fn at_key(mut self) -> Self {
        self.at = At::Key;
        self
    }

    /// Points the finding at a known place.
    pub(crate) fn at(mut self, at: At) -> Self {
        self.at = at;
        self
    }

    /// Says what was expected.
    pub(crate) fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    /// Gives the finding its place in `tree`: the node at its path, or the nearest ancestor
    /// that exists there (a field left to its default is reported on its parent).
    pub(crate) fn into_diagnostic(self, file: &str, tree: Option<&Node>) -> Diagnostic {
        let pos = match self.at {
            At::Pos(pos) => Some(pos),
            at => tree.and_then(|tree| place(tree, &self.path, at)),
        };
        let Pos { line, column } = pos.unwrap_or_default();
        Diagnostic {
            file: file.to_owned(),
            line,
            column,
            field_path: self.path.to_string(),
            message: self.message,
            expected: self.expected,
        }
    }
}

fn place(tree: &Node, path: &Path, at: At) -> Option<Pos> {
    match at {
        At::Pos(pos) => return Some(pos),
        At::Key => {
            if let Some(pos) = tree.find_key(path) {
                return Some(pos);
            }
        }
        At::Value => {
            if let Some(node) = tree.find(path) {
                return Some(node.pos);
            }
        }
        At::Inside { line, column } => {
            let text_start = tree.find(path).and_then(|node| node.as_scalar()).and_then(|s| s.text_start);
            match text_start {
                Some(start) if line == 1 => {
                    return Some(Pos { line: start.line, column: start.column + column.saturating_sub(1) });
                }
                _ => {
                    if let Some(pos) = tree.find_key(path) {
                        return Some(pos);
                    }
                }
            }
        }
    }
    let mut ancestor = path.parent();
    loop {
        if let Some(pos) = tree.find_key(&ancestor) {
            return Some(pos);
        }
        if ancestor.is_root() {
            return Some(tree.pos);
        }
        ancestor = ancestor.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostic(line: usize, path: &str, message: &str) -> Diagnostic {
        Diagnostic {
            file: "dataflow.yaml".to_owned(),
            line,
            column: 9,
            field_path: path.to_owned(),
            message: message.to_owned(),
            expected: None,
        }
    }

    #[test]
    fn diagnostics_print_one_per_line_in_file_order() {
        let diagnostics = Diagnostics::new(vec![
            diagnostic(12, "services.alerts.sources[0].id", "topic `readngs` is not declared"),
            diagnostic(3, "", "invalid YAML"),
        ]);
        assert_eq!(
            diagnostics.to_string(),
            "dataflow.yaml:3:9: invalid YAML\n\
             dataflow.yaml:12:9: services.alerts.sources[0].id: topic `readngs` is not declared"
        );
        let mut placeless = diagnostic(0, "meta.name", "bad");
        assert_eq!(placeless.to_string(), "dataflow.yaml: meta.name: bad");
        placeless.file.clear();
        assert_eq!(placeless.to_string(), "meta.name: bad");
    }

    #[test]
    fn findings_fall_back_to_the_nearest_existing_ancestor() {
        let (tree, _) = crate::yaml::node::parse("services:\n  alerts:\n    sources: []\n");
        let tree = tree.unwrap();
        let path = Path::root().key("services").key("alerts").key("sinks");
        let found = Finding::new(path, "no sinks").into_diagnostic("f.yaml", Some(&tree));
        assert_eq!((found.line, found.column), (2, 3));
        let inside = Finding::new(Path::root().key("services").key("alerts").key("sources"), "x")
            .at(At::Inside { line: 1, column: 2 })
            .into_diagnostic("f.yaml", Some(&tree));
        assert_eq!((inside.line, inside.column), (3, 5));
    }
}
