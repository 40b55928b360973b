//! Field paths: where a value sits in the document, written the way users read it
//! (`services.alerts.transforms[1].cel`).
//!
//! A [`Path`] names a node by the keys and sequence indexes leading to it from the root.
//! The deserializer builds one per node it visits, validation builds the same paths from the
//! model, and [`super::Node::find`] turns either into a place in the file.

use std::fmt;

/// One step of a [`Path`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index (0-based).
    Index(usize),
}

/// A path from the document root to a node. The empty path is the root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Path(Vec<Segment>);

impl Path {
    /// The root of the document.
    pub(crate) fn root() -> Self {
        Path(Vec::new())
    }

    /// This path extended by a mapping key.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        Path(segments)
    }

    /// This path extended by a sequence index.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Path(segments)
    }

    /// The path without its last segment; the root is its own parent.
    pub(crate) fn parent(&self) -> Self {
        let mut segments = self.0.clone();
        segments.pop();
        Path(segments)
    }

    /// Whether this is the root.
    pub(crate) fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The segments, root first.
    pub(crate) fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The last mapping key of the path, if it ends in one.
    pub(crate) fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(key)) => Some(key),
            _ => None,
        }
    }

    /// Whether `self` is `other` or lies inside it.
    pub(crate) fn starts_with(&self, other: &Path) -> bool {
        self.0.starts_with(&other.0)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_as_users_write_them() {
        let path = Path::root().key("services").key("alerts").key("transforms").index(1).key("cel");
        assert_eq!(path.to_string(), "services.alerts.transforms[1].cel");
        assert_eq!(path.parent().to_string(), "services.alerts.transforms[1]");
        assert_eq!(path.last_key(), Some("cel"));
        assert!(path.starts_with(&Path::root().key("services")));
        assert!(!Path::root().key("topics").starts_with(&path));
        assert_eq!(Path::root().to_string(), "");
        assert!(Path::root().parent().is_root());
    }
}
