//! Eddy's stateful-functions runtime: runs a Flink Stateful Functions [`Module`]
//! (`module.yaml`) on the embedded log, with exactly-once state and egress.
//!
//! - Kafka ingresses read Eddy topics: the record key is the function id, the value a
//!   [`TypedValue`](eddy_statefun::TypedValue) of the topic's `valueType`, sent to each target
//!   function type.
//! - Functions run behind the [`Functions`] trait: remote functions over HTTP
//!   ([`RemoteFunctions`](eddy_statefun::RemoteFunctions)), WebAssembly components named by
//!   `io.eddy.endpoints.v1/wasm` documents ([`wasm::WasmFunctions`]), or native Rust
//!   ([`native::NativeFunctions`]).
//!   At most one batch is in flight per address, many addresses at once
//!   ([`eddy_statefun::Invocations`]).
//! - Addresses are spread over shards by key group ([`key_groups`], [`Options::shards`], one
//!   per core by default), each a loop on a thread of its own; messages between shards travel
//!   over FIFO channels, and each epoch is a consistent cut across shards, the messages in
//!   transit included. A restart may use another shard count.
//! - Replies are applied as they come: state changes to the address's state, messages to any
//!   address (itself and cycles included), delayed messages to durable timers (with
//!   cancellation tokens), egress messages to Eddy topics (Kafka egress: the producer record's
//!   topic, key and value; a keyed record goes to the key's partition as Kafka would put it).
//! - States declared with a time to live (`expire_after_write`, `expire_after_call`) expire:
//!   the store keeps each value's expiry beside it, and a value past it is gone (deleted with
//!   the next epoch) the next time its address is invoked; a call renews `after-call` values.
//! - Messages from outside: the playground ingress over HTTP (with request-reply) and `eddy
//!   invoke` append to one invocations topic that every module reads ([`playground`]).
//! - Every commit interval an epoch commits, in one atomic state-store batch: changed state,
//!   the invocation state of the addresses touched (batch in flight, backlog), registered
//!   states, delayed-message changes, ingress positions and the ends of the egress partitions
//!   written. Egress records are flushed before and published after that commit. A restart
//!   rolls the egress topics back to their committed ends and carries on from the epoch: the
//!   batches that were in flight are sent again (an endpoint may see a batch twice), their
//!   effects are applied once.
//!
//! - [`Handle::metrics`] holds what Prometheus scrapes (`eddy run --metrics-addr`): epochs,
//!   records, requests and messages per function type, and each remote endpoint's calls and
//!   failures by reason ([`metrics`]).
//!
//! See `storage` for the store layout: function state is keyed by function type, state name
//! and id, so `eddy state get example/greeter seen ann` reads it.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! let module = eddy_statefun::Module::load("module.yaml")?;
//! let log = Arc::new(eddy_log::Log::open(".eddy/log", eddy_log::Options::default())?);
//! let store = Arc::new(eddy_state::StateStore::open(".eddy/state".as_ref())?);
//! let options = eddy_functions::Options { until_idle: true, ..Default::default() };
//! let summary = eddy_functions::start(&module, log, store, options)?.wait()?;
//! println!("{} messages in {} epochs", summary.messages, summary.epochs);
//! # Ok(()) }
//! ```

mod committer;
mod egress;
mod error;
mod functions;
mod handle;
mod ingress;
pub mod key_groups;
pub mod metrics;
pub mod native;
pub mod playground;
mod restore;
mod runtime;
mod shard;
mod state_cache;
pub mod storage;
mod timers;
pub mod wasm;

pub use error::{Error, Result};
pub use functions::{Call, Functions, InvokeError, Reply};
pub use handle::Handle;
pub use runtime::{DEAD_LETTER_TOPIC, Options, RunSummary, Running, start, start_with};
pub use state_cache::DEFAULT_STATE_CACHE_ADDRESSES;

/// Whether `text` looks like a Statefun module file: a YAML document with a `kind` from the
/// `io.statefun` family or Eddy's `io.eddy.endpoints` (as opposed to a dataflow file).
pub fn is_module_text(text: &str) -> bool {
    text.lines().any(|line| {
        line.strip_prefix("kind:").is_some_and(|kind| {
            let kind = kind.trim().trim_matches(['"', '\'']);
            kind.starts_with("io.statefun.") || kind.starts_with("io.eddy.endpoints.")
        })
    })
}

pub use eddy_statefun::Module;
