//! Eddy's WebAssembly host: runs dataflow operators (filter, map, filter-map, flat-map,
//! assign-key, assign-timestamp, update-state, flush) written as WebAssembly components.
//!
//! The contract with users is the WIT package `eddy:dataflow` in `wit/dataflow.wit`
//! ([`WIT`]): one world per operator kind, a batch form of each (many records per call, laid
//! out flat in one buffer: [`Batch`], interface `eddy:dataflow/batch`), and the `state`
//! interface the host provides. This crate compiles components with wasmtime (cached on disk), checks
//! their exports and imports at load, and runs each call sandboxed: a memory limit, fuel
//! against endless loops, and a fresh instance after any trap. A failing call is a
//! [`CallError`] for that record, never a crash of the runtime.
//!
//! Stateful functions are components too: the WIT package `eddy:function`
//! (`wit/function/function.wit`, [`FUNCTION_WIT`]) has one world, `function`, exporting
//! `states` and `invoke`; [`Component::function`] checks it and [`FunctionInstance`] runs it
//! in the same sandbox.
//!
//! It is not the runtime: it knows nothing of dataflow files, logs or the state store.
//! The runtime turns a record into a [`Record`] (value as JSON bytes), calls a [`Pool`]
//! (one per worker thread), and implements [`State`] over its store.
//!
//! ```no_run
//! use eddy_wasm::{Host, MemoryState, OperatorKind, Options, Output, Record};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let host = Host::new(Options { cache_dir: Some("/tmp/eddy-wasm-cache".into()), ..Options::default() })?;
//! let component = host.load_file("map.wasm".as_ref())?;
//! let map = component.operator(OperatorKind::Map)?; // share between threads
//! let mut pool = map.pool(MemoryState::default())?; // one per worker thread
//! match pool.call(Record::new(br#"{"temp": 21.5}"#.to_vec(), 1_700_000_000_000)) {
//!     Ok(Output::Value(json)) => println!("{}", String::from_utf8_lossy(&json)),
//!     Ok(other) => println!("{other:?}"),
//!     Err(reason) => eprintln!("to the dead-letter topic: {reason}"),
//! }
//! # Ok(())
//! # }
//! ```

mod abi;
mod batch;
mod component;
mod error;
mod function;
mod host;
mod limits;
mod linker;
mod operator;
mod options;
mod pool;
mod state;

pub use abi::{Entry, Record, Window};
pub use batch::Batch;
pub use component::Component;
pub use error::{CallError, Error, Result};
pub use function::{
    Address, Context, DelayedChange, DelayedMessage, Effects, EgressMessage, EgressValue, Expiration,
    FunctionInstance, Message, OutgoingMessage, StateSpec, StateValue, StatefulFunction, TopicRecord,
    TypedValue,
};
pub use host::{CacheStats, Host};
pub use operator::{OperatorKind, Output};
pub use options::Options;
pub use pool::{Operator, Pool};
pub use state::{MemoryState, NoState, State, StateError};

/// The WIT package `eddy:dataflow` that components implement, for tools that generate
/// bindings (`eddy build` writes it next to the code it compiles).
pub const WIT: &str = include_str!("../wit/dataflow.wit");

/// The WIT package `eddy:function` that stateful functions implement (world `function`).
pub const FUNCTION_WIT: &str = include_str!("../wit/function/function.wit");
