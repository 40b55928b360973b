//! [`Snapshot`]: the invocation state an epoch commits, so that a restart resends what was in
//! flight and keeps what was waiting.

use std::collections::BTreeMap;

use foldhash::HashMap;

use serde::{Deserialize, Serialize};

use super::batch::{Batch, Message};
use crate::address::{Address, FunctionType};
use crate::state_spec::StateSpec;

/// Registered states, in-flight batches and backlogs, sorted so that equal states give equal
/// snapshots. Serializable with serde in any format the engine stores.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The states registered per function type, by name.
    pub registered: Vec<(FunctionType, Vec<StateSpec>)>,
    /// The batches in flight, one per address: they are sent again on restore.
    pub in_flight: Vec<Batch>,
    /// The messages waiting behind each in-flight batch.
    pub backlog: Vec<Batch>,
}

impl Snapshot {
    pub(super) fn capture<'a, Backlog>(
        registered: &HashMap<FunctionType, BTreeMap<String, StateSpec>>,
        addresses: impl Iterator<Item = (&'a Address, Option<&'a Batch>, Backlog)>,
    ) -> Self
    where
        Backlog: Iterator<Item = &'a Message>,
    {
        let mut snapshot = Snapshot {
            registered: registered
                .iter()
                .map(|(function_type, specs)| (function_type.clone(), specs.values().cloned().collect()))
                .collect(),
            ..Snapshot::default()
        };
        for (address, in_flight, backlog) in addresses {
            if let Some(batch) = in_flight {
                snapshot.in_flight.push(batch.clone());
            }
            let messages: Vec<Message> = backlog.cloned().collect();
            if !messages.is_empty() {
                snapshot.backlog.push(Batch { target: address.clone(), messages });
            }
        }
        snapshot.registered.sort_by(|a, b| a.0.cmp(&b.0));
        snapshot.in_flight.sort_by(|a, b| a.target.cmp(&b.target));
        snapshot.backlog.sort_by(|a, b| a.target.cmp(&b.target));
        snapshot
    }
}
