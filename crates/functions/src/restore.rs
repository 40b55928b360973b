//! Reading back what the last committed epoch left: registered states, invocations in flight
//! and waiting, pending delayed messages, and messages that were in transit between shards.

use eddy_state::StateStore;
use eddy_statefun::invocation::Message;
use eddy_statefun::{Address, Batch, FunctionType, Snapshot, StateSpec};

use crate::storage::{
    DELAYED, INVOCATIONS, REGISTERED, RUNTIME_SERVICE, StoredQueue, StoredTimer, TRANSIT, decode_transit,
};
use crate::{Error, Result};

/// What a restart carries on with.
#[derive(Debug, Default)]
pub(crate) struct Restored {
    pub(crate) invocations: Snapshot,
    pub(crate) timers: Vec<(u64, StoredTimer)>,
    /// Messages in transit between shards at the epoch's cut, to deliver again.
    pub(crate) transit: Vec<(Address, Message)>,
    /// The shards (by number, as stored) that had messages in transit.
    pub(crate) transit_shards: Vec<String>,
}

fn corrupt(what: &str, key: &[u8], reason: impl std::fmt::Display) -> Error {
    Error::Corrupt { what: format!("{what} `{}`", String::from_utf8_lossy(key)), reason: reason.to_string() }
}

fn text<'a>(what: &str, key: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(key).map_err(|error| corrupt(what, key, error))
}

/// Reads the runtime's entries of the last committed epoch.
pub(crate) fn load(store: &StateStore) -> Result<Restored> {
    let mut restored = Restored::default();
    for entry in store.list(RUNTIME_SERVICE, REGISTERED) {
        let (key, value) = entry?;
        let what = "registered states of";
        let function_type: FunctionType =
            text(what, &key)?.parse().map_err(|error| corrupt(what, &key, error))?;
        let specs: Vec<StateSpec> =
            serde_json::from_slice(&value).map_err(|error| corrupt(what, &key, error))?;
        restored.invocations.registered.push((function_type, specs));
    }
    for entry in store.list(RUNTIME_SERVICE, INVOCATIONS) {
        let (key, value) = entry?;
        let what = "invocations of";
        let target: Address = text(what, &key)?.parse().map_err(|error| corrupt(what, &key, error))?;
        let queue = StoredQueue::decode(&value).map_err(|error| corrupt(what, &key, error))?;
        if let Some(batch) = queue.in_flight {
            if batch.target != target {
                return Err(corrupt(what, &key, format!("its batch is for `{}`", batch.target)));
            }
            restored.invocations.in_flight.push(batch);
        }
        if !queue.backlog.is_empty() {
            restored.invocations.backlog.push(Batch { target, messages: queue.backlog });
        }
    }
    for entry in store.list(RUNTIME_SERVICE, DELAYED) {
        let (key, value) = entry?;
        let what = "delayed message";
        let id: u64 = text(what, &key)?.parse().map_err(|error| corrupt(what, &key, error))?;
        let timer: StoredTimer =
            serde_json::from_slice(&value).map_err(|error| corrupt(what, &key, error))?;
        restored.timers.push((id, timer));
    }
    for entry in store.list(RUNTIME_SERVICE, TRANSIT) {
        let (key, value) = entry?;
        let what = "messages in transit to shard";
        let shard = text(what, &key)?.to_owned();
        let messages = decode_transit(&value).map_err(|error| corrupt(what, &key, error))?;
        restored.transit.extend(messages);
        restored.transit_shards.push(shard);
    }
    Ok(restored)
}
