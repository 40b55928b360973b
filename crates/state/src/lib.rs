//! Eddy's state store: the keyed state of every dataflow service and the engine's commit
//! metadata (last epoch, source offsets, sink ends) in one [fjall](https://docs.rs/fjall)
//! database, written once per epoch as one atomic, fsynced [`CommitBatch`].
//!
//! It is not a cache: the engine keeps hot state in memory per task and writes the dirty
//! keys back at each commit; [`shrink_to_bound`] is the rule by which such state leaves memory
//! once the store holds it. It knows nothing of the log, the engine or the meaning of the
//! values (the engine writes JSON text; the store sees bytes).
//!
//! ```
//! use eddy_state::{CommitBatch, StateStore};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = StateStore::open(dir.path()).unwrap();
//! let mut batch = CommitBatch::new(1);
//! batch.put_state("counter", "counts", b"apple", b"3");
//! batch.set_source_offset("counter", "fruit", 0, 42);
//! batch.set_sink_end("totals", 0, 7);
//! store.commit(batch).unwrap();
//! drop(store);
//!
//! let store = StateStore::open(dir.path()).unwrap();
//! assert_eq!(store.epoch().unwrap(), 1);
//! assert_eq!(store.get("counter", "counts", b"apple").unwrap().unwrap(), b"3");
//! assert_eq!(store.source_offset("counter", "fruit", 0).unwrap(), Some(42));
//! assert_eq!(store.sink_ends().unwrap(), [("totals".to_owned(), 0, 7)]);
//! assert_eq!(store.states().unwrap(), [("counter".to_owned(), "counts".to_owned())]);
//! ```
//!
//! # Guarantees
//! - A commit is all-or-nothing: after a crash at any moment (even `kill -9` mid-write) a
//!   reopened store holds every write of a batch or none of it, and its epoch is that of the
//!   last whole batch. A commit that returned `Ok` survives a crash of the process, and of
//!   the machine (the journal is fsynced with `PersistMode::SyncAll` before `commit` returns).
//! - Readers see only committed batches, never part of one.
//! - Epochs increase: a batch whose epoch is not after the last committed one is refused.
//! - One open store per directory ([`Error::InUse`] otherwise).
//! - Damaged metadata is an [`Error::Corrupt`], never a panic.
//!
//! # On-disk layout
//! The directory is a fjall database (fjall's format V3) with two keyspaces. Each
//! (service, state) pair gets a *state id* (a `u32`, from 1) the first time a commit puts a
//! key in it; the commit that assigns it also records it in `meta`, atomically with the keys.
//! A stored state key is the id followed by the raw key, so the keys of one state are one
//! contiguous range that no other state's keys can enter, whatever the names (service `a` +
//! state `bc` and service `ab` + state `c` get different ids), and short keys stay short:
//! fjall keeps keys of up to 20 bytes inline, which measured about twice as fast as keys
//! that carry the names. A *name* in a meta key is a big-endian `u16` length followed by its
//! UTF-8 bytes. Numbers are big-endian.
//!
//! ```text
//! keyspace "state": keyed state, one entry per key
//! +---------------------------------------------+-------------------------------+
//! | key                                         | value                         |
//! +---------------------------------------------+-------------------------------+
//! | state id u32, raw key bytes                 | raw value bytes (engine JSON) |
//! +---------------------------------------------+-------------------------------+
//!
//! keyspace "meta": commit metadata
//! +---------------------------------------------+-------------------------------+
//! | key                                         | value                         |
//! +---------------------------------------------+-------------------------------+
//! | 'V'                                         | format version u32 (= 1)      |
//! | 'E'                                         | last committed epoch u64      |
//! | 'N' name(service) name(state)               | state id u32 (never reused)   |
//! | 'O' name(service) name(topic) partition u32 | next source offset u64        |
//! | 'S' name(topic) partition u32               | sink end offset u64           |
//! +---------------------------------------------+-------------------------------+
//! name(x) = len(x) as u16 BE, then the bytes of x
//! ```
//!
//! For example, after the commit above the store holds `state`:
//! `00 00 00 01 'a' 'p' 'p' 'l' 'e'` → `'3'`, and `meta`:
//! `'N' 00 07 "counter" 00 06 "counts"` → `00 00 00 01`,
//! `'O' 00 07 "counter" 00 05 "fruit" 00 00 00 00` → `42` as a u64, and so on.
//!
//! fjall limits a stored key to 65,535 bytes and a value to `u32::MAX` bytes: a raw state
//! key may be up to 65,531 bytes; a [`CommitBatch`] holding a longer one fails to commit
//! and writes nothing.

mod batch;
mod encoding;
mod error;
mod eviction;
mod store;
mod view;

pub use batch::CommitBatch;
pub use error::{Error, Result};
pub use eviction::shrink_to_bound;
pub use store::{Entries, MAX_JOURNAL_BYTES, MAX_MEMTABLE_BYTES, StateStore};
pub use view::View;
