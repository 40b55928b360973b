//! `join`: a service that pairs the records of two sides by a join key.
//!
//! ```yaml
//! join:
//!   left:
//!     name: person                        # what `emit` calls this side's value
//!     source: events                      # only records of this source (default: any)
//!     when: {cel: "value.event_type == 0"} # which records are this side (default: all)
//!     key: {cel: value.person.id}         # the join key
//!     keep: last                          # all (default) | first | last
//!   right:
//!     name: auction
//!     when: {cel: "value.event_type == 1"}
//!     key: {cel: value.auction.seller}
//!   emit: {cel: "{'name': person.person.name, 'id': auction.auction.id}"}
//! ```
//!
//! A service has `partition` or `join`, not both. Without a `window`, every key keeps its
//! rows of each side, and a row arriving on one side is paired at once with the stored rows
//! of the other; with one, rows are kept per window and paired when the window closes.

use serde::{Deserialize, Serialize};

use super::step::FunctionDef;

/// A service's `join` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Join {
    /// The first side.
    pub left: JoinSide,
    /// The second side.
    pub right: JoinSide,
    /// Builds the output value from both sides' values (bound by their names), `key` and,
    /// in a windowed service, `window`; `null` emits nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emit: Option<FunctionDef>,
}

/// One side of a join.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct JoinSide {
    /// The name `emit` binds this side's value to.
    pub name: String,
    /// Only records read from this source (a topic id among the service's sources).
    /// Default: records of any source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Which records belong to this side: a predicate over the record. Default: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<FunctionDef>,
    /// The join key of a record of this side. Validation requires it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<FunctionDef>,
    /// Which of this side's rows a key keeps. Default: all.
    #[serde(default)]
    pub keep: Keep,
}

/// Which rows of a side a key (or a key in a window) keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Keep {
    /// Every row.
    #[default]
    All,
    /// The first row only; later ones are dropped (distinct per key).
    First,
    /// The latest row only, replacing the one before (a table, upserted by key).
    Last,
}

impl Keep {
    /// The name used in dataflow files.
    pub fn name(self) -> &'static str {
        match self {
            Keep::All => "all",
            Keep::First => "first",
            Keep::Last => "last",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_survives_a_json_round_trip() {
        let join = Join {
            left: JoinSide {
                name: "person".to_owned(),
                source: Some("events".to_owned()),
                when: Some(FunctionDef::cel("value.kind == 0")),
                key: Some(FunctionDef::cel("value.id")),
                keep: Keep::Last,
            },
            right: JoinSide {
                name: "auction".to_owned(),
                key: Some(FunctionDef::cel("value.seller")),
                ..JoinSide::default()
            },
            emit: Some(FunctionDef::cel("{'id': auction.id}")),
        };
        let json = serde_json::to_value(&join).unwrap_or_default();
        assert_eq!(json["left"]["keep"], "last");
        assert_eq!(json["right"]["keep"], "all");
        assert_eq!(json["right"].get("when"), None);
        assert_eq!(serde_json::from_value::<Join>(json).ok(), Some(join));
        let unknown = serde_json::json!({"left": {"name": "a", "keep": "newest"}, "right": {"name": "b"}});
        let error = serde_json::from_value::<Join>(unknown).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("unknown variant `newest`"), "{error}");
    }
}
