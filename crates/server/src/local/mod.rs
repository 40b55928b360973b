//! The local serving protocol: a process that holds a data directory (and so its log's
//! lock) serves the `eddy` commands of other processes over `<data-dir>/eddy.sock`.
//!
//! ```text
//!  eddy produce ─┐                         ┌─ running process (eddy run) ───────────┐
//!  eddy consume ─┼── <data-dir>/eddy.sock ─┤ serve() ── one thread per connection ──┤
//!  eddy topic …  ─┤   (Unix stream socket) │          └─ Backend: log, produce,     │
//!  eddy state …  ─┘                        │                      committed state   │
//!                                          └────────────────────────────────────────┘
//! ```
//!
//! The process calls [`serve`] with its [`Backend`]; the CLI tries [`Client::connect`]
//! first and opens the data directory itself only when no process answers. Both ends live
//! here so that they are tested together.
//!
//! # Frames
//! Every message is one frame (integers little-endian):
//!
//! ```text
//! frame   := length:u32 kind:u8 body          length = 1 + body length, at most MAX_FRAME_BYTES
//! kind 1  := a JSON message: a request from the client, a reply from the server
//! kind 2  := records: partition:u32 base_offset:u64 count:u32 record*count
//!            (consume: record i has offset base_offset + i; produce: base_offset is 0)
//! kind 3  := state entries: count:u32 (key_len:u32 key json_len:u32 json)*count
//! record  := timestamp:i64 key_len:u32 key value_len:u32 value header_count:u32
//!            (name_len:u32 name value_len:u32 value)*header_count
//!            key_len 0xFFFF_FFFF means "no key" (and no key bytes follow)
//! ```
//!
//! Record payloads travel as raw bytes, never escaped, so moving records through the
//! socket costs a copy, not a translation.
//!
//! # Conversation
//! The client opens with `{"op":"hello","version":1}`; the server answers
//! `{"reply":"hello","version":1,"pid":N}`. Then, one request at a time:
//!
//! | request (JSON)                              | server answers                                    |
//! |---------------------------------------------|---------------------------------------------------|
//! | `create-topic {name, config}`               | `done`                                            |
//! | `list-topics`                               | `topics {topics}`                                 |
//! | `describe-topic {name}`                     | `topic {…}`                                       |
//! | `delete-topic {name}`                       | `done`                                            |
//! | `produce {topic, partition?}`               | `produce-ready {partitions}`, then for every       |
//! |   then records frames, then `end`           | records frame `ack {partition,start,end}` once it |
//! |                                             | is durable and visible; `done` after `end`        |
//! | `consume {topic, partition?, from, follow}` | records frames; `idle` whenever it has caught up  |
//! |                                             | (and every ~200 ms while following); `end`        |
//! | `state-get {service, state, key}`           | `value {value}` or `no-value`                     |
//! | `state-list {service, state}`               | entries frames, then `end`                        |
//!
//! Any request may instead be answered `error {message}`: the message is what the CLI
//! prints. A produce client may send several records frames before reading their acks
//! (the CLI keeps up to four in flight). A following consumer ends by closing the
//! connection. Input that breaks the protocol (a bad length, unknown kind or request,
//! malformed JSON or records, a truncated frame) is answered with an error when the
//! connection still works, and the connection is closed; frames larger than
//! [`MAX_FRAME_BYTES`] are refused before anything is allocated for them.

mod backend;
mod client;
mod connection;
mod error;
mod frame;
mod read;
mod server;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
#[cfg(test)]
mod tests;
mod topics;
mod wire;

use std::path::{Path, PathBuf};

pub use backend::{Backend, BackendError};
pub use client::{Client, Consumer, ProduceSummary, Producer};
pub use error::{Error, Result, error_message};
pub use frame::MAX_FRAME_BYTES;
pub use read::{ConsumeRequest, ConsumedRecord, LogReader, Poll, StartAt};
pub use server::{LocalServer, serve};
pub use topics::{
    PartitionInfo, TopicDescription, TopicInfo, describe_topic, enforce_retention, list_topics,
};

/// Version of the protocol; a client and a server of different versions refuse each other.
pub const PROTOCOL_VERSION: u32 = 1;

/// Name of the socket file in the data directory.
pub const SOCKET_FILE: &str = "eddy.sock";

/// Where the process holding `data_dir` listens.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_FILE)
}
