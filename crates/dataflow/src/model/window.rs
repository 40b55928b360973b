//! `window`: event-time windows of a service (as in SDF, plus session windows).
//!
//! ```yaml
//! window:
//!   tumbling: {duration: 10s}            # or sliding: {duration: 1m, slide: 10s}
//!   watermark: {grace-period: 2s, idleness: 5s, max-drift: 1m}
//!   assign-timestamp: {cel: value.ts}    # default: the record's timestamp
//!   transforms: [...]                    # stateless steps before the partition stage
//!   partition:
//!     assign-key: {cel: value.sensor}
//!     update-state: {cel: state + 1}     # the key's state in this window
//!   flush: {cel: "{'sensor': key, 'count': state, 'start': window.start}"}
//! ```
//!
//! `max-drift` aligns the partitions read (as Flink's watermark alignment does): one that is
//! further ahead in event time than that of the slowest partition still being read waits for
//! it, which bounds how many windows skew between partitions holds open.
//!
//! `session: {gap}` gives each key its own windows, closed after `gap` without a record; a
//! record that bridges two sessions merges them, with `merge` combining their states.
//!
//! In `sliding` windows, `merge` (or a built-in aggregate in `update-state`, which merges
//! itself) lets the engine keep each key's state per pane, `[n·slide, (n+1)·slide)`: a
//! record updates one pane, and a closing window's state is the merge of its panes.
//!
//! `flush` runs when the watermark passes a window's end plus the grace period. With
//! `per: key` (the default) it runs once per key with `key`, `state` and `window`
//! (`{start, end}`, ms) bound; with `per: window` once per window with `window` and
//! `entries`, the list of `{key, state}` of every key (e.g. for a top-N per window).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Aggregate;
use super::service::Partition;
use super::settings::{
    deserialize_duration, deserialize_optional_duration, serialize_duration, serialize_optional_duration,
};
use super::step::{Code, FunctionDef, Step, codes};

/// A service's `window` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Window {
    /// Fixed, non-overlapping windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tumbling: Option<Tumbling>,
    /// Fixed windows that overlap, one starting every `slide`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliding: Option<Sliding>,
    /// Per-key windows that close after a gap without records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    /// How event time advances. Default: no grace period, partitions never idle.
    #[serde(default)]
    pub watermark: Watermark,
    /// Computes a record's event time (ms since the Unix epoch). Default: the record's
    /// timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_timestamp: Option<FunctionDef>,
    /// Stateless steps applied before the partition stage. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<Step>,
    /// Re-keying and the window-scoped keyed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Partition>,
    /// Combines two states of a key (`state`, the earlier one, and `other`): two sessions
    /// a record joins, or, in sliding windows, two panes (`slide` long) of a window, which
    /// lets each record update one pane instead of `duration / slide` windows. Session and
    /// sliding windows only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<FunctionDef>,
    /// What a closing window emits to the sinks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush: Option<Flush>,
}

/// `tumbling: {duration}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Tumbling {
    /// The window's length.
    #[serde(deserialize_with = "deserialize_duration", serialize_with = "serialize_duration")]
    pub duration: Duration,
}

/// `sliding: {duration, slide}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Sliding {
    /// The window's length.
    #[serde(deserialize_with = "deserialize_duration", serialize_with = "serialize_duration")]
    pub duration: Duration,
    /// How far apart windows start.
    #[serde(deserialize_with = "deserialize_duration", serialize_with = "serialize_duration")]
    pub slide: Duration,
}

/// `session: {gap}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Session {
    /// A key's session closes after this long without a record.
    #[serde(deserialize_with = "deserialize_duration", serialize_with = "serialize_duration")]
    pub gap: Duration,
}

/// `watermark: {grace-period, idleness, max-drift}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Watermark {
    /// How long past its end a window still accepts records. Default: 0.
    #[serde(default, deserialize_with = "deserialize_duration", serialize_with = "serialize_duration")]
    pub grace_period: Duration,
    /// A source partition without new records for this long stops holding the watermark
    /// back. Default: never.
    #[serde(
        default,
        deserialize_with = "deserialize_optional_duration",
        serialize_with = "serialize_optional_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub idleness: Option<Duration>,
    /// Watermark alignment: a source partition whose event time is this far ahead of the
    /// slowest partition still being read pauses until that one catches up, so that skew
    /// between partitions does not hold ever more windows open. Default: no alignment.
    #[serde(
        default,
        deserialize_with = "deserialize_optional_duration",
        serialize_with = "serialize_optional_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_drift: Option<Duration>,
}

/// Whom `flush` runs for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlushPer {
    /// Once per key and window.
    #[default]
    Key,
    /// Once per window, over every key.
    Window,
}

/// `flush: {per?, cel | run | uses | component | aggregate}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Flush {
    /// Per key (default) or per window.
    #[serde(default)]
    pub per: FlushPer,
    /// A CEL expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cel: Option<String>,
    /// Inline Rust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// An imported function's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<String>,
    /// A WebAssembly component's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// A built-in aggregate over the window's keys (`top-k`, with `per: window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<Aggregate>,
    /// How many entries `top-k` emits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<u32>,
    /// What `top-k` ranks entries by: a CEL expression over `key`, `state` and `window`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// `top-k` also emits the entries that tie with the `k`-th (as SQL's `WITH TIES`).
    /// Default `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub with_ties: bool,
}

impl Flush {
    /// Every logic field that is set; a valid flush has exactly one.
    pub fn codes(&self) -> Vec<Code<'_>> {
        codes(&self.cel, &self.run, &self.uses, &self.component, self.aggregate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watermark_survives_a_json_round_trip() {
        let watermark = Watermark {
            grace_period: Duration::from_secs(2),
            idleness: Some(Duration::from_millis(1500)),
            max_drift: Some(Duration::from_secs(60)),
        };
        let json = serde_json::to_value(&watermark).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"grace-period": "2s", "idleness": "1s 500ms", "max-drift": "1m"})
        );
        assert_eq!(serde_json::from_value::<Watermark>(json).ok(), Some(watermark));
        let none = serde_json::to_value(Watermark::default()).unwrap_or_default();
        assert_eq!(none, serde_json::json!({"grace-period": "0s"}));
    }
}
