//! Built-in aggregates, beside CEL and WebAssembly: `update-state` can keep a running
//! count, sum, minimum, maximum or average per key, and a per-window `flush` can emit the
//! window's top k keys.
//!
//! ```yaml
//! update-state: {aggregate: count}
//! update-state: {aggregate: sum, of: value.amount}
//! update-state: {aggregate: avg, of: value.temp}     # state: a row {sum: f64, count: u64}
//! flush: {per: window, aggregate: top-k, k: 3, by: state}
//! ```

use serde::{Deserialize, Serialize};

/// A built-in aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregate {
    /// Records per key: the state plus one.
    Count,
    /// The sum of `of` per key.
    Sum,
    /// The smallest `of` per key.
    Min,
    /// The largest `of` per key.
    Max,
    /// The mean of `of` per key, kept as a row `{sum, count}` so windows and sessions merge
    /// exactly.
    Avg,
    /// In a per-window `flush`: the `k` entries with the largest `by`, ranked.
    TopK,
}

impl Aggregate {
    /// Every aggregate, in the order the docs list them.
    pub const ALL: [Aggregate; 6] =
        [Aggregate::Count, Aggregate::Sum, Aggregate::Min, Aggregate::Max, Aggregate::Avg, Aggregate::TopK];

    /// The name used in dataflow files.
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::Count => "count",
            Aggregate::Sum => "sum",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
            Aggregate::Avg => "avg",
            Aggregate::TopK => "top-k",
        }
    }
}
