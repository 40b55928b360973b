//! [`Timers`]: delayed messages waiting for their time, with cancellation tokens, and the
//! changes each epoch commits.

use std::collections::{BTreeMap, HashMap};

use crate::storage::StoredTimer;

/// Pending delayed messages, by due time.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// (due ms, id) → the message.
    pending: BTreeMap<(i64, u64), StoredTimer>,
    /// id → due ms, for cancellation.
    due_of: HashMap<u64, i64>,
    /// token → ids of the pending messages it cancels.
    by_token: HashMap<String, Vec<u64>>,
    next_id: u64,
    /// How far apart the ids this shard gives are (the shard count), so that no two shards
    /// give the same one.
    stride: u64,
    /// Ids added (`Some`) or removed (`None`) since the last epoch.
    changes: BTreeMap<u64, Option<StoredTimer>>,
}

impl Timers {
    /// Timers as an epoch committed them (not changes of the next epoch), held by shard `shard`
    /// of `shards`: new ids are at least `first_free` and leave the shard's number when
    /// divided by `shards`.
    pub(crate) fn restore(
        stored: Vec<(u64, StoredTimer)>,
        first_free: u64,
        shard: usize,
        shards: usize,
    ) -> Self {
        let stride = shards.max(1) as u64;
        let shard = shard as u64 % stride;
        let first_free = stored.iter().map(|(id, _)| id + 1).fold(first_free, u64::max);
        let mut timers = Self { stride, ..Self::default() };
        timers.next_id = first_free + (shard + stride - first_free % stride) % stride;
        for (id, timer) in stored {
            timers.insert(id, timer);
        }
        timers
    }

    fn insert(&mut self, id: u64, timer: StoredTimer) {
        if let Some(token) = &timer.token {
            self.by_token.entry(token.clone()).or_default().push(id);
        }
        self.due_of.insert(id, timer.due_ms);
        self.pending.insert((timer.due_ms, id), timer);
    }

    /// Schedules `timer`.
    pub(crate) fn add(&mut self, timer: StoredTimer) {
        let id = self.next_id;
        self.next_id += self.stride.max(1);
        self.changes.insert(id, Some(timer.clone()));
        self.insert(id, timer);
    }

    /// Drops every pending message with `token`; a message already delivered is not affected.
    /// Returns how many were dropped.
    pub(crate) fn cancel(&mut self, token: &str) -> usize {
        let Some(ids) = self.by_token.remove(token) else { return 0 };
        let mut dropped = 0;
        for id in ids {
            if let Some(due) = self.due_of.remove(&id) {
                self.pending.remove(&(due, id));
                self.changes.insert(id, None);
                dropped += 1;
            }
        }
        dropped
    }

    /// Takes the first message due at or before `now_ms`.
    pub(crate) fn pop_due(&mut self, now_ms: i64) -> Option<StoredTimer> {
        let (&(due, id), _) = self.pending.first_key_value()?;
        if due > now_ms {
            return None;
        }
        let timer = self.pending.remove(&(due, id))?;
        self.due_of.remove(&id);
        if let Some(token) = &timer.token
            && let Some(ids) = self.by_token.get_mut(token)
        {
            ids.retain(|other| *other != id);
            if ids.is_empty() {
                self.by_token.remove(token);
            }
        }
        self.changes.insert(id, None);
        Some(timer)
    }

    /// When the next message is due, if any.
    pub(crate) fn next_due(&self) -> Option<i64> {
        self.pending.first_key_value().map(|(&(due, _), _)| due)
    }

    /// Messages pending.
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }

    /// The changes since the last call: id → the message added, or `None` for one removed.
    pub(crate) fn take_changes(&mut self) -> BTreeMap<u64, Option<StoredTimer>> {
        std::mem::take(&mut self.changes)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use eddy_statefun::TypedValue;
    use eddy_statefun::invocation::Message;

    use super::*;

    fn timer(due_ms: i64, token: Option<&str>) -> StoredTimer {
        StoredTimer {
            due_ms,
            target: "a/b/c".parse().unwrap(),
            message: Message { caller: None, argument: TypedValue::int(i32::try_from(due_ms).unwrap()) },
            token: token.map(str::to_owned),
        }
    }

    #[test]
    fn messages_come_due_in_time_order_and_tokens_cancel_the_pending_ones() {
        let mut timers = Timers::default();
        timers.add(timer(30, Some("t")));
        timers.add(timer(10, None));
        timers.add(timer(20, Some("t")));
        assert_eq!(timers.next_due(), Some(10));
        assert_eq!(timers.pop_due(9), None);
        assert_eq!(timers.pop_due(25).unwrap().due_ms, 10);
        assert_eq!(timers.pop_due(25).unwrap().due_ms, 20);
        assert_eq!(timers.cancel("t"), 1, "the one delivered is not affected");
        assert_eq!(timers.cancel("t"), 0);
        assert_eq!(timers.len(), 0);
        let changes = timers.take_changes();
        assert_eq!(changes.len(), 3);
        assert!(changes.values().all(Option::is_none), "all three are gone again");
        assert!(timers.take_changes().is_empty());
    }

    #[test]
    fn restored_timers_keep_their_ids_and_new_ones_follow() {
        let mut timers = Timers::restore(vec![(7, timer(5, Some("x"))), (3, timer(6, None))], 0, 0, 1);
        assert!(timers.take_changes().is_empty());
        timers.add(timer(1, None));
        assert_eq!(timers.take_changes().keys().copied().collect::<Vec<_>>(), [8]);
        assert_eq!(timers.cancel("x"), 1);
        assert_eq!(timers.take_changes().into_iter().collect::<Vec<_>>(), [(7, None)]);
    }

    #[test]
    fn shards_give_ids_no_other_shard_gives() {
        let mut given = std::collections::HashSet::new();
        for shard in 0..3 {
            let mut timers = Timers::restore(vec![(10 + shard as u64, timer(5, None))], 13, shard, 3);
            for _ in 0..5 {
                timers.add(timer(1, None));
            }
            for id in timers.take_changes().into_keys() {
                assert!(id >= 13, "{id} is not past the restored ones");
                assert_eq!(id % 3, shard as u64);
                assert!(given.insert(id), "{id} given twice");
            }
        }
    }
}
