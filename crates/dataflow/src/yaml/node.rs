//! The YAML document as a tree of [`Node`]s, each knowing where it starts in the file.
//!
//! `saphyr-parser` turns the text into events with spans; this module folds them into a tree,
//! resolving aliases, and refuses what a dataflow file never needs but an attacker could send:
//! more than one document, nesting deeper than [`MAX_DEPTH`], or more than [`MAX_NODES`] nodes
//! once aliases are expanded (the "billion laughs"). Duplicate mapping keys are reported and
//! the later occurrence dropped, so `services:` with the same name twice is an error rather
//! than a silent overwrite.
//!
//! This is not a YAML library: scalars stay text here and are given a type only when the
//! deserializer ([`super::de`]) is asked for one.

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span};

use super::path::{Path, Segment};

/// The deepest nesting of mappings and sequences accepted.
pub(crate) const MAX_DEPTH: usize = 64;

/// The most nodes a document may expand to, aliases included.
pub(crate) const MAX_NODES: usize = 100_000;

/// A place in the source: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    /// 1-based line.
    pub(crate) line: usize,
    /// 1-based column, counted in characters.
    pub(crate) column: usize,
}

impl Pos {
    fn of(marker: &Marker) -> Self {
        Pos { line: marker.line(), column: marker.col() + 1 }
    }
}

/// A node of the document: a scalar, a sequence or a mapping, and where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Where the node starts.
    pub(crate) pos: Pos,
    /// What it holds.
    pub(crate) kind: Kind,
}

/// The three kinds of YAML node.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// A scalar, as text.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order, without duplicate keys.
    Map(Vec<Entry>),
}

/// A mapping entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The key node.
    pub(crate) key: Node,
    /// The value node.
    pub(crate) value: Node,
}

/// A scalar's text and how it was written.
#[derive(Debug, Clone)]
pub(crate) struct Scalar {
    /// The scalar's value, quotes and escapes removed.
    pub(crate) text: String,
    /// Whether it was written plain (unquoted, not a block): only plain scalars are resolved
    /// to null, booleans and numbers.
    pub(crate) plain: bool,
    /// Where the first character of `text` sits in the file, when `text` is a verbatim copy of
    /// one stretch of one line (so a column inside `text` maps to a column in the file).
    pub(crate) text_start: Option<Pos>,
}

/// A problem found while building the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// Where it is.
    pub(crate) pos: Pos,
    /// The path of the node concerned (the root for syntax errors).
    pub(crate) path: Path,
    /// What is wrong.
    pub(crate) message: String,
}

impl Node {
    /// The scalar text, if this is a scalar.
    pub(crate) fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            Kind::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    /// The node at `path` below this one.
    pub(crate) fn find(&self, path: &Path) -> Option<&Node> {
        let mut node = self;
        for segment in path.segments() {
            node = node.child(segment)?.1;
        }
        Some(node)
    }

    /// Where the key of the entry at `path` starts (`cel` in `cel: ...`), or the node itself
    /// for a sequence element or the root.
    pub(crate) fn find_key(&self, path: &Path) -> Option<Pos> {
        let (last, parent) = path.segments().split_last()?;
        let mut node = self;
        for segment in parent {
            node = node.child(segment)?.1;
        }
        let (key, value) = node.child(last)?;
        Some(key.map_or(value.pos, |key| key.pos))
    }

    /// The child at `segment`: its key node (for a mapping entry) and its value.
    fn child(&self, segment: &Segment) -> Option<(Option<&Node>, &Node)> {
        match (&self.kind, segment) {
            (Kind::Map(entries), Segment::Key(key)) => entries
                .iter()
                .find(|entry| entry.key.as_scalar().is_some_and(|scalar| scalar.text == *key))
                .map(|entry| (Some(&entry.key), &entry.value)),
            (Kind::Seq(items), Segment::Index(index)) => items.get(*index).map(|item| (None, item)),
            _ => None,
        }
    }

    /// How many nodes this node holds, itself included, and how deep it nests.
    fn measure(&self) -> (usize, usize) {
        match &self.kind {
            Kind::Scalar(_) => (1, 0),
            Kind::Seq(items) => items.iter().map(Node::measure).fold((1, 1), |(size, depth), (s, d)| {
                (size.saturating_add(s), depth.max(d.saturating_add(1)))
            }),
            Kind::Map(entries) => entries
                .iter()
                .flat_map(|entry| [entry.key.measure(), entry.value.measure()])
                .fold((1, 1), |(size, depth), (s, d)| {
                    (size.saturating_add(s), depth.max(d.saturating_add(1)))
                }),
        }
    }
}

/// A mapping or sequence still being read.
struct Frame {
    pos: Pos,
    anchor: usize,
    kind: FrameKind,
}

enum FrameKind {
    Seq(Vec<Node>),
    Map { entries: Vec<Entry>, key: Option<Node> },
}

/// An anchored node, kept for its aliases, with its size and depth.
struct Anchored {
    node: Node,
    size: usize,
    depth: usize,
}

/// Builds the tree of `source`.
///
/// Returns the root (`None` when the text is not YAML, is empty, or breaks a limit) and the
/// problems found: at most one syntax or limit error, plus every duplicate key.
pub(crate) fn parse(source: &str) -> (Option<Node>, Vec<Problem>) {
    match build(source) {
        Ok(Some(mut root)) => {
            let mut problems = Vec::new();
            drop_duplicate_keys(&mut root, &Path::root(), &mut problems);
            (Some(root), problems)
        }
        Ok(None) => (
            None,
            vec![Problem {
                pos: Pos { line: 1, column: 1 },
                path: Path::root(),
                message:
                    "the file is empty; expected a mapping with `apiVersion`, `meta`, `topics` and `services`"
                        .to_owned(),
            }],
        ),
        Err(problem) => (None, vec![problem]),
    }
}

fn syntax(pos: Pos, message: impl Into<String>) -> Problem {
    Problem { pos, path: Path::root(), message: message.into() }
}

fn build(source: &str) -> Result<Option<Node>, Problem> {
    let mut parser = Parser::new_from_str(source);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Anchored> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    let mut nodes = 0usize;

    while let Some(next) = parser.next_event() {
        let (event, span) =
            next.map_err(|error| syntax(Pos::of(error.marker()), format!("invalid YAML: {}", error.info())))?;
        let pos = Pos::of(&span.start);
        let count = |nodes: &mut usize, more: usize| {
            *nodes = nodes.saturating_add(more);
            if *nodes > MAX_NODES {
                Err(syntax(pos, format!("the document has more than {MAX_NODES} nodes (aliases expanded)")))
            } else {
                Ok(())
            }
        };
        let completed = match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => None,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(syntax(
                        pos,
                        "a second YAML document starts here; a dataflow file holds exactly one",
                    ));
                }
                None
            }
            Event::Alias(id) => {
                let anchored = anchors.get(&id).ok_or_else(|| {
                    syntax(pos, "this alias refers to an anchor that is not defined before it")
                })?;
                count(&mut nodes, anchored.size)?;
                if stack.len().saturating_add(anchored.depth) > MAX_DEPTH {
                    return Err(syntax(pos, format!("nesting is deeper than {MAX_DEPTH} levels")));
                }
                Some((anchored.node.clone(), 0))
            }
            Event::Scalar(text, style, anchor, _tag) => {
                count(&mut nodes, 1)?;
                let scalar = scalar(text.into_owned(), style, &span);
                Some((Node { pos, kind: Kind::Scalar(scalar) }, anchor))
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                count(&mut nodes, 1)?;
                if stack.len() >= MAX_DEPTH {
                    return Err(syntax(pos, format!("nesting is deeper than {MAX_DEPTH} levels")));
                }
                let kind = if matches!(event, Event::SequenceStart(..)) {
                    FrameKind::Seq(Vec::new())
                } else {
                    FrameKind::Map { entries: Vec::new(), key: None }
                };
                stack.push(Frame { pos, anchor, kind });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = stack.pop().ok_or_else(|| syntax(pos, "unbalanced end of a collection"))?;
                let kind = match frame.kind {
                    FrameKind::Seq(items) => Kind::Seq(items),
                    FrameKind::Map { entries, .. } => Kind::Map(entries),
                };
                Some((Node { pos: frame.pos, kind }, frame.anchor))
            }
        };
        let Some((node, anchor)) = completed else { continue };
        if anchor != 0 {
            let (size, depth) = node.measure();
            anchors.insert(anchor, Anchored { node: node.clone(), size, depth });
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame { kind: FrameKind::Seq(items), .. }) => items.push(node),
            Some(Frame { kind: FrameKind::Map { entries, key }, .. }) => match key.take() {
                None => *key = Some(node),
                Some(key) => entries.push(Entry { key, value: node }),
            },
        }
    }
    Ok(root)
}

fn scalar(text: String, style: ScalarStyle, span: &Span) -> Scalar {
    let quote = match style {
        ScalarStyle::Plain => Some(0),
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Some(1),
        _ => None,
    };
    let text_start = quote.and_then(|quote| {
        let verbatim = span.start.line() == span.end.line()
            && span.end.index().saturating_sub(span.start.index()) == text.chars().count() + 2 * quote;
        verbatim.then(|| Pos { line: span.start.line(), column: span.start.col() + 1 + quote })
    });
    Scalar { text, plain: style == ScalarStyle::Plain, text_start }
}

/// Reports and removes every mapping key that repeats an earlier one in the same mapping.
fn drop_duplicate_keys(node: &mut Node, path: &Path, problems: &mut Vec<Problem>) {
    match &mut node.kind {
        Kind::Scalar(_) => {}
        Kind::Seq(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                drop_duplicate_keys(item, &path.index(index), problems);
            }
        }
        Kind::Map(entries) => {
            let mut first_seen: HashMap<String, usize> = HashMap::new();
            entries.retain(|entry| {
                let Some(key) = entry.key.as_scalar() else { return true };
                match first_seen.get(&key.text) {
                    Some(line) => {
                        problems.push(Problem {
                            pos: entry.key.pos,
                            path: path.key(&key.text),
                            message: format!(
                                "duplicate key `{}`; it is first defined on line {line}",
                                key.text
                            ),
                        });
                        false
                    }
                    None => {
                        first_seen.insert(key.text.clone(), entry.key.pos.line);
                        true
                    }
                }
            });
            for entry in entries.iter_mut() {
                let child = match entry.key.as_scalar() {
                    Some(key) => path.key(&key.text),
                    None => path.clone(),
                };
                drop_duplicate_keys(&mut entry.value, &child, problems);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(source: &str) -> Node {
        let (root, problems) = parse(source);
        assert!(problems.is_empty(), "{problems:?}");
        root.unwrap()
    }

    fn path(keys: &[&str]) -> Path {
        keys.iter().fold(Path::root(), |path, key| match key.parse::<usize>() {
            Ok(index) => path.index(index),
            Err(_) => path.key(key),
        })
    }

    #[test]
    fn nodes_know_their_line_and_column() {
        let root = tree("a:\n  b: [x, 'y']\n  c:\n    - d: 1\n");
        assert_eq!(root.find(&path(&["a", "b", "1"])).unwrap().pos, Pos { line: 2, column: 10 });
        assert_eq!(root.find(&path(&["a", "c", "0", "d"])).unwrap().pos, Pos { line: 4, column: 10 });
        assert_eq!(root.find_key(&path(&["a", "c", "0", "d"])), Some(Pos { line: 4, column: 7 }));
        assert!(root.find(&path(&["a", "nope"])).is_none());
    }

    #[test]
    fn verbatim_scalars_map_columns_back_to_the_file() {
        let root = tree("a: x > 1\nb: \"y + 2\"\nc: \"esc\\n\"\nd: |\n  block\n");
        let start = |key: &str| root.find(&path(&[key])).unwrap().as_scalar().unwrap().text_start;
        assert_eq!(start("a"), Some(Pos { line: 1, column: 4 }));
        assert_eq!(start("b"), Some(Pos { line: 2, column: 5 }));
        assert_eq!(start("c"), None);
        assert_eq!(start("d"), None);
    }

    #[test]
    fn aliases_are_expanded() {
        let root = tree("base: &b {x: 1}\ncopy: *b\n");
        assert!(root.find(&path(&["copy", "x"])).is_some());
    }

    #[test]
    fn duplicate_keys_are_reported_and_the_later_one_dropped() {
        let (root, problems) = parse("s:\n  a: 1\n  a: 2\n");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].pos, Pos { line: 3, column: 3 });
        assert_eq!(problems[0].path.to_string(), "s.a");
        assert_eq!(problems[0].message, "duplicate key `a`; it is first defined on line 2");
        let root = root.unwrap();
        assert_eq!(root.find(&path(&["s", "a"])).unwrap().as_scalar().unwrap().text, "1");
    }

    #[test]
    fn syntax_errors_have_a_place() {
        let (root, problems) = parse("a:\n  b: 1\n c: 2\n");
        assert!(root.is_none());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].pos.line, 3, "{problems:?}");
        assert!(problems[0].message.starts_with("invalid YAML: "));
    }

    #[test]
    fn limits_refuse_hostile_documents() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(&deep).1[0].message.contains("nesting"));

        let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            laughs
                .push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        assert!(parse(&laughs).1[0].message.contains("more than"));

        assert!(parse("a: 1\n---\nb: 2\n").1[0].message.contains("second YAML document"));
        assert!(parse("# only a comment\n").1[0].message.contains("empty"));
        let (root, problems) = parse("a: *nope\n");
        assert!(root.is_none());
        assert_eq!(problems[0].pos.line, 1, "{problems:?}");
    }
}
