//! Reading typed fields out of the YAML tree, collecting every [`Problem`] with its place.

use std::fmt;

use eddy_types::TopicName;

use super::yaml::{Kind, Node, Pos};

/// One thing wrong with a module file: where, which field, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as given to the parser.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The field's path in its document (`spec.transport.timeouts.call`); empty for the
    /// document itself.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "`{}`: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Collects problems while reading one file.
pub(super) struct Reader<'f> {
    file: &'f str,
    pub(super) problems: Vec<Problem>,
    /// The topics a dataflow file declares, as (id, name in the log), when the module is a
    /// dataflow file's `functions` section: an ingress may read only those.
    pub(super) declared_topics: Option<&'f [(String, TopicName)]>,
}

/// The entries of a mapping and its path.
pub(super) struct Fields<'n> {
    pub(super) pos: Pos,
    pub(super) path: String,
    entries: &'n [(Node, Node)],
}

impl<'n> Fields<'n> {
    /// The value of `key`, unless absent or null.
    pub(super) fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| matches!(&k.kind, Kind::Scalar { text, .. } if text == key))
            .map(|(_, value)| value)
            .filter(|value| !value.is_null())
    }

    /// The path of `key` below this mapping.
    pub(super) fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) }
    }
}

/// Describes a node for "found ..." in messages.
fn found(node: &Node) -> String {
    match &node.kind {
        Kind::Scalar { text, .. } => format!("`{text}`"),
        Kind::Seq(_) => "a list".to_owned(),
        Kind::Map(_) => "a mapping".to_owned(),
    }
}

impl<'f> Reader<'f> {
    pub(super) fn new(file: &'f str) -> Self {
        Self { file, problems: Vec::new(), declared_topics: None }
    }

    /// The file being read, as given to the parser.
    pub(super) fn file(&self) -> &'f str {
        self.file
    }

    /// Records a problem.
    pub(super) fn problem(&mut self, pos: Pos, field: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line: pos.line,
            column: pos.column,
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// `node` as a mapping at `path`, refusing keys outside `allowed`.
    pub(super) fn map<'n>(&mut self, node: &'n Node, path: &str, allowed: &[&str]) -> Option<Fields<'n>> {
        let Kind::Map(entries) = &node.kind else {
            self.problem(node.pos, path, format!("expected a mapping, found {}", found(node)));
            return None;
        };
        let fields = Fields { pos: node.pos, path: path.to_owned(), entries };
        let mut seen: Vec<&str> = Vec::new();
        for (key, _) in entries {
            let Kind::Scalar { text, .. } = &key.kind else {
                self.problem(key.pos, path, "mapping keys must be plain text");
                continue;
            };
            if seen.contains(&text.as_str()) {
                self.problem(key.pos, &fields.path_of(text), "this key appears twice");
            }
            seen.push(text);
            if !allowed.contains(&text.as_str()) {
                self.problem(
                    key.pos,
                    &fields.path_of(text),
                    format!(
                        "unknown field; expected one of {}",
                        allowed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
        }
        Some(fields)
    }

    /// The mapping at `key`, if present.
    pub(super) fn sub_map<'n>(
        &mut self,
        fields: &Fields<'n>,
        key: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
        let node = fields.get(key)?;
        self.map(node, &fields.path_of(key), allowed)
    }

    /// The text of a scalar node.
    pub(super) fn text(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.kind {
            Kind::Scalar { text, .. } => Some(text.clone()),
            _ => {
                self.problem(node.pos, path, format!("expected a value, found {}", found(node)));
                None
            }
        }
    }

    /// The text of `key`; a problem when required and absent.
    pub(super) fn string(&mut self, fields: &Fields<'_>, key: &str, required: bool) -> Option<String> {
        match fields.get(key) {
            Some(node) => self.text(node, &fields.path_of(key)),
            None => {
                if required {
                    self.problem(fields.pos, &fields.path_of(key), "this required field is missing");
                }
                None
            }
        }
    }

    /// `key` parsed by `parse` (whose error says what was expected).
    pub(super) fn parsed<T>(
        &mut self,
        fields: &Fields<'_>,
        key: &str,
        required: bool,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let text = self.string(fields, key, required)?;
        self.parse_node(fields.get(key)?, &fields.path_of(key), &text, parse)
    }

    /// `text` (the value of `node`) parsed by `parse`.
    pub(super) fn parse_node<T>(
        &mut self,
        node: &Node,
        path: &str,
        text: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match parse(text) {
            Ok(value) => Some(value),
            Err(expected) => {
                self.problem(node.pos, path, format!("{expected}, found `{text}`"));
                None
            }
        }
    }

    /// The items of the list at `key`; a problem when required and absent or empty.
    pub(super) fn list<'n>(&mut self, fields: &Fields<'n>, key: &str, required: bool) -> Option<&'n [Node]> {
        let path = fields.path_of(key);
        match fields.get(key) {
            Some(Node { kind: Kind::Seq(items), pos }) => {
                if required && items.is_empty() {
                    self.problem(*pos, &path, "expected at least one item");
                }
                Some(items.as_slice())
            }
            Some(node) => {
                self.problem(node.pos, &path, format!("expected a list, found {}", found(node)));
                None
            }
            None => {
                if required {
                    self.problem(fields.pos, &path, "this required field is missing");
                }
                None
            }
        }
    }

    /// Key-value pairs at `key`: a mapping, or a list of one-entry mappings (Statefun's form).
    pub(super) fn properties(&mut self, fields: &Fields<'_>, key: &str) -> Vec<(String, String)> {
        let Some(node) = fields.get(key) else { return Vec::new() };
        let path = fields.path_of(key);
        let mut pairs = Vec::new();
        let maps: Vec<&Node> = match &node.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        for map in maps {
            let Kind::Map(entries) = &map.kind else {
                self.problem(map.pos, &path, format!("expected `name: value` pairs, found {}", found(map)));
                continue;
            };
            for (name, value) in entries {
                if let (Some(name), Some(value)) = (self.text(name, &path), self.text(value, &path)) {
                    pairs.push((name, value));
                }
            }
        }
        pairs
    }
}

/// An unsigned integer at least `min`.
pub(super) fn integer_at_least(min: u64) -> impl Fn(&str) -> Result<u64, String> {
    move |text: &str| match text.trim().parse::<u64>() {
        Ok(value) if value >= min => Ok(value),
        _ => Err(format!("expected a whole number of at least {min}")),
    }
}
