//! Validated topic names.

use std::fmt;

/// Why a string is not a valid topic name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidTopicName {
    /// The name is empty.
    #[error("topic name is empty")]
    Empty,
    /// The name is longer than [`TopicName::MAX_LEN`] bytes.
    #[error("topic name '{name}' is {len} characters long; the limit is {max}")]
    TooLong {
        /// The rejected name.
        name: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The name contains a character outside `[a-zA-Z0-9._-]`.
    #[error(
        "topic name '{name}' contains '{character}' at position {position}; use letters, digits, '.', '_' and '-'"
    )]
    BadCharacter {
        /// The rejected name.
        name: String,
        /// The offending character.
        character: char,
        /// Its position (0-based, in characters).
        position: usize,
    },
    /// The name starts with a dot (reserved for Eddy's own files).
    #[error("topic name '{0}' starts with '.'; names starting with '.' are reserved")]
    LeadingDot(String),
}

/// A topic name: 1 to 249 characters of `[a-zA-Z0-9._-]`, not starting with `.`
/// (the rules of Kafka, so names carry over both ways).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicName(String);

impl TopicName {
    /// The longest name accepted, in bytes.
    pub const MAX_LEN: usize = 249;

    /// Validates `name`.
    ///
    /// # Errors
    /// [`InvalidTopicName`] describing the first rule the name breaks.
    pub fn new(name: &str) -> Result<Self, InvalidTopicName> {
        if name.is_empty() {
            return Err(InvalidTopicName::Empty);
        }
        if let Some((position, character)) = name
            .chars()
            .enumerate()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(InvalidTopicName::BadCharacter { name: name.to_owned(), character, position });
        }
        if name.len() > Self::MAX_LEN {
            return Err(InvalidTopicName::TooLong {
                name: name.to_owned(),
                len: name.len(),
                max: Self::MAX_LEN,
            });
        }
        if name.starts_with('.') {
            return Err(InvalidTopicName::LeadingDot(name.to_owned()));
        }
        Ok(TopicName(name.to_owned()))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for TopicName {
    type Err = InvalidTopicName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TopicName::new(s)
    }
}

impl AsRef<str> for TopicName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kafka_style_names() {
        for ok in ["a", "sensor-readings", "orders.v2", "my_topic", "A1", "dataflow.dead-letter"] {
            assert_eq!(TopicName::new(ok).unwrap().as_str(), ok);
        }
        assert!(TopicName::new(&"x".repeat(249)).is_ok());
    }

    #[test]
    fn rejects_bad_names_with_the_reason() {
        assert_eq!(TopicName::new(""), Err(InvalidTopicName::Empty));
        assert!(matches!(TopicName::new(&"x".repeat(250)), Err(InvalidTopicName::TooLong { len: 250, .. })));
        let err = TopicName::new("bad/name").unwrap_err();
        assert_eq!(
            err.to_string(),
            "topic name 'bad/name' contains '/' at position 3; use letters, digits, '.', '_' and '-'"
        );
        assert!(matches!(TopicName::new("a b"), Err(InvalidTopicName::BadCharacter { character: ' ', .. })));
        assert!(matches!(TopicName::new("..."), Err(InvalidTopicName::LeadingDot(_))));
        assert!(matches!(TopicName::new("é"), Err(InvalidTopicName::BadCharacter { character: 'é', .. })));
    }
}
