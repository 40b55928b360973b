//! Eddy's dataflow engine: runs a [`Plan`](eddy_dataflow::Plan) on a pool of worker
//! threads with keyed state that is exactly right after any crash.
//!
//! ```text
//!            ┌──────── worker 0 ────────┐      ┌──────── worker 1 ────────┐
//!  topic ──▶ │ source → fused chain ─┐  │      │ source → fused chain ─┐  │
//!  partitions│           re-key: hash(key) mod workers ──────────────┼──┼─▶ bounded channels
//!            │ keyed chain → update-state (cache) → sinks buffer     │  │
//!            └──────────────┬───────────┘      └──────────────┬───────────┘
//!                           └──── snapshot per epoch ─────────┘
//!                                          ▼
//!                 committer: flush sink records (invisible) → one atomic store
//!                 batch (state, source positions, sink ends) → publish
//! ```
//!
//! Exactly-once: an epoch is aligned (see `worker`), so its commit holds everything that
//! defines it, and a restart resumes from the last committed epoch after rolling the sink
//! topics back to the ends it recorded ([`roll_back_uncommitted`]).
//!
//! Sources read topic partitions, or generator partitions (`type: nexmark`, see
//! `generator`) whose committed position is the count of events they made.
//!
//! Event-time windows (`window` in a service) are in `windows`: watermarks travel between
//! workers like records, and window state, closes and late records commit with the epoch.
//! Sliding windows whose state merges keep it per pane (`panes`).
//! A `join` service keys each side by its join key, re-partitions like `assign-key`, and
//! keeps each key's rows as keyed state (`join`), per window when the service has one.
//!
//! What it is not (yet): session windows, WebAssembly operators, several processes.

mod aggregate;
mod alignment;
mod committer;
mod decode;
mod engine;
mod error;
mod flow;
mod generator;
mod join;
mod operators;
mod panes;
mod recovery;
mod shared;
mod sink_records;
mod spare;
mod state_cache;
mod topology;
mod wasm;
mod windows;
mod worker;

pub use committer::RunSummary;
pub use engine::{Handle, Options, Running, start};
pub use error::{Error, Result};
pub use recovery::roll_back_uncommitted;
pub use state_cache::DEFAULT_STATE_CACHE_KEYS;
