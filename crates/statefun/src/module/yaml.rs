//! The YAML documents of a module file as trees of [`Node`]s that know their line and column.
//!
//! `saphyr-parser` (YAML 1.2) turns the text into events with positions; this folds them into
//! one tree per document, expanding aliases, and refuses what a module file never needs but a
//! hostile file could hold: nesting deeper than [`MAX_DEPTH`] or more than [`MAX_NODES`] nodes
//! once aliases are expanded. Scalars stay text; the reader gives them a type when it asks.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// The deepest nesting accepted.
pub(super) const MAX_DEPTH: usize = 64;
/// The most nodes a file may expand to, aliases included.
pub(super) const MAX_NODES: usize = 100_000;

/// A place in the file: 1-based line and column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Pos {
    pub(super) line: usize,
    pub(super) column: usize,
}

/// A node and where it starts.
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub(super) pos: Pos,
    pub(super) kind: Kind,
}

/// The kinds of node.
#[derive(Debug, Clone)]
pub(super) enum Kind {
    /// A scalar's text; `plain` when unquoted (only plain `~`, `null` and nothing are null).
    Scalar { text: String, plain: bool },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// Whether this is a null scalar.
    pub(super) fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    fn size(&self) -> usize {
        match &self.kind {
            Kind::Scalar { .. } => 1,
            Kind::Seq(items) => items.iter().map(Node::size).fold(1, usize::saturating_add),
            Kind::Map(entries) => {
                entries.iter().map(|(k, v)| k.size().saturating_add(v.size())).fold(1, usize::saturating_add)
            }
        }
    }
}

/// A syntax or limit error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyntaxError {
    pub(super) pos: Pos,
    pub(super) message: String,
}

enum Frame {
    Seq { pos: Pos, anchor: usize, items: Vec<Node> },
    Map { pos: Pos, anchor: usize, entries: Vec<(Node, Node)>, key: Option<Node> },
}

/// The documents of `source` (a document that holds nothing is `None`), each with the line
/// of its start.
pub(super) fn parse(source: &str) -> Result<Vec<(Pos, Option<Node>)>, SyntaxError> {
    let mut parser = Parser::new_from_str(source);
    let mut documents: Vec<(Pos, Option<Node>)> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut nodes = 0usize;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|error| SyntaxError {
            pos: Pos { line: error.marker().line(), column: error.marker().col() + 1 },
            message: format!("invalid YAML: {}", error.info()),
        })?;
        let pos = Pos { line: span.start.line(), column: span.start.col() + 1 };
        let fail = |message: String| SyntaxError { pos, message };
        let completed = match event {
            Event::DocumentStart(_) => {
                documents.push((pos, None));
                anchors.clear();
                None
            }
            Event::Alias(id) => {
                let node = anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| fail("this alias names no anchor defined before it".into()))?;
                nodes = nodes.saturating_add(node.size());
                Some((node, 0))
            }
            Event::Scalar(text, style, anchor, _) => {
                nodes += 1;
                let plain = style == ScalarStyle::Plain;
                Some((Node { pos, kind: Kind::Scalar { text: text.into_owned(), plain } }, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                nodes += 1;
                stack.push(Frame::Seq { pos, anchor, items: Vec::new() });
                None
            }
            Event::MappingStart(anchor, _) => {
                nodes += 1;
                stack.push(Frame::Map { pos, anchor, entries: Vec::new(), key: None });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq { pos, anchor, items }) => {
                    Some((Node { pos, kind: Kind::Seq(items) }, anchor))
                }
                Some(Frame::Map { pos, anchor, entries, .. }) => {
                    Some((Node { pos, kind: Kind::Map(entries) }, anchor))
                }
                None => return Err(fail("unbalanced end of a collection".into())),
            },
            _ => None,
        };
        if nodes > MAX_NODES {
            return Err(fail(format!("the file has more than {MAX_NODES} nodes (aliases expanded)")));
        }
        if stack.len() > MAX_DEPTH {
            return Err(fail(format!("nesting is deeper than {MAX_DEPTH} levels")));
        }
        let Some((node, anchor)) = completed else { continue };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => match documents.last_mut() {
                Some((_, slot)) => *slot = Some(node),
                None => documents.push((pos, Some(node))),
            },
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
    Ok(documents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_split_and_keep_their_places() {
        let docs = parse("kind: a\n---\n# nothing\n---\nkind: b\nspec:\n  x: [1, 2]\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert!(docs[1].1.as_ref().is_none_or(Node::is_null), "{:?}", docs[1]);
        let Kind::Map(entries) = &docs[2].1.as_ref().unwrap().kind else { panic!() };
        assert_eq!(entries[1].0.pos, Pos { line: 6, column: 1 });
        let Kind::Map(spec) = &entries[1].1.kind else { panic!() };
        let Kind::Seq(items) = &spec[0].1.kind else { panic!() };
        assert_eq!(items[1].pos, Pos { line: 7, column: 10 });
    }

    #[test]
    fn hostile_files_are_refused() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 2), "]".repeat(MAX_DEPTH + 2));
        assert!(parse(&deep).unwrap_err().message.contains("nesting"));
        let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            laughs
                .push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        assert!(parse(&laughs).unwrap_err().message.contains("more than"));
        assert_eq!(parse("a: *nope\n").unwrap_err().pos.line, 1);
        let error = parse("a:\n  b: 1\n c: 2\n").unwrap_err();
        assert_eq!(error.pos.line, 3);
        assert!(error.message.starts_with("invalid YAML"));
    }
}
