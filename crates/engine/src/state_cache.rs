//! A worker's keyed state in memory: the hot keys of each keyed service, loaded from the
//! store on first use and written back when an epoch closes.
//!
//! The cache is bounded. When an epoch's snapshot leaves more than `capacity` keys in it,
//! [`StateCache::shrink`] drops keys down to three quarters of the bound: first those not
//! used since the last shrink (second chance, as in a CLOCK cache), then any others it may
//! drop. A key may be dropped only when the store holds its value: it is not dirty, and it
//! was not written by the snapshot just taken, which the committer has yet to commit. The
//! committer commits epoch E before it asks for E + 1, so what was written in an earlier
//! epoch is in the store by the time the next snapshot is taken.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use bytes::Bytes;
use eddy_state::StateStore;
use serde_json::Value;

use crate::topology::Service;
use crate::{Error, Result};

/// The keys of keyed state a worker keeps in memory per service, unless told otherwise.
pub const DEFAULT_STATE_CACHE_KEYS: usize = 1 << 20;

/// A key's state in the cache.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) value: Value,
    /// Changed in the epoch being processed: written at the next snapshot.
    pub(crate) dirty: bool,
    /// Used since the last shrink.
    used: bool,
    /// The epoch whose snapshot last wrote it; 0 if none did in this run.
    written: u64,
}

/// One service's keyed state in memory: every record of a keyed service looks its key up
/// here, so the hash is foldhash (seeded per map) rather than SipHash.
#[derive(Debug, Default)]
pub(crate) struct StateCache {
    slots: HashMap<Bytes, Slot, foldhash::fast::RandomState>,
}

impl StateCache {
    /// The cached state of `key` in `state`, loaded from the store on first use (`initial`
    /// when the store has none).
    pub(crate) fn slot(
        &mut self,
        store: &StateStore,
        service: &Service,
        state: &str,
        key: &Bytes,
        initial: impl FnOnce() -> Value,
    ) -> Result<&mut Slot> {
        match self.slots.entry(key.clone()) {
            Entry::Occupied(slot) => {
                let slot = slot.into_mut();
                slot.used = true;
                Ok(slot)
            }
            Entry::Vacant(vacant) => {
                let value = match store.get(&service.name, state, key)? {
                    Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                        Error::Internal(format!(
                            "stored state `{state}` of service '{}' is not JSON: {e}",
                            service.name
                        ))
                    })?,
                    None => initial(),
                };
                Ok(vacant.insert(Slot { value, dirty: false, used: false, written: 0 }))
            }
        }
    }

    /// The slot of `key` if it is in memory, marked as written by `epoch`'s snapshot: the
    /// caller writes its value now.
    pub(crate) fn written(&mut self, key: &Bytes, epoch: u64) -> Option<&mut Slot> {
        let slot = self.slots.get_mut(key)?;
        slot.dirty = false;
        slot.written = epoch;
        Some(slot)
    }

    /// Keys in memory.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// After `epoch`'s snapshot: with more than `capacity` keys in memory, drops keys the
    /// store holds until three quarters of `capacity` are left, or none may go. Returns how
    /// many were dropped.
    pub(crate) fn shrink(&mut self, capacity: usize, epoch: u64) -> usize {
        let stored = |_: &Bytes, slot: &Slot| !slot.dirty && slot.written < epoch;
        eddy_state::shrink_to_bound(&mut self.slots, capacity, |slot| &mut slot.used, stored, |_, _| {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(dirty: bool, used: bool, written: u64) -> Slot {
        Slot { value: Value::Null, dirty, used, written }
    }

    fn cache(slots: impl IntoIterator<Item = (&'static str, Slot)>) -> StateCache {
        let mut cache = StateCache::default();
        for (key, slot) in slots {
            cache.slots.insert(Bytes::from_static(key.as_bytes()), slot);
        }
        cache
    }

    fn has(cache: &StateCache, key: &'static str) -> bool {
        cache.slots.contains_key(key.as_bytes())
    }

    #[test]
    fn within_capacity_nothing_goes() {
        let mut cache = cache([("a", slot(false, false, 0)), ("b", slot(false, false, 0))]);
        assert_eq!(cache.shrink(2, 5), 0);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn keys_not_used_since_the_last_shrink_go_first() {
        let mut cache = cache([
            ("used-1", slot(false, true, 0)),
            ("used-2", slot(false, true, 0)),
            ("idle-1", slot(false, false, 0)),
            ("idle-2", slot(false, false, 0)),
            ("idle-3", slot(false, false, 1)),
        ]);
        // Capacity 4: down to 3 keys, so 2 go, both unused.
        assert_eq!(cache.shrink(4, 5), 2);
        assert!(has(&cache, "used-1") && has(&cache, "used-2"));
        assert_eq!(cache.len(), 3);
        assert!(cache.slots.values().all(|slot| !slot.used), "a shrink clears the used marks");
    }

    #[test]
    fn used_keys_go_too_when_unused_ones_are_not_enough() {
        let mut cache = cache([
            ("a", slot(false, true, 0)),
            ("b", slot(false, true, 0)),
            ("c", slot(false, true, 0)),
            ("d", slot(false, true, 0)),
            ("e", slot(false, false, 0)),
        ]);
        assert_eq!(cache.shrink(4, 5), 2);
        assert_eq!(cache.len(), 3);
        assert!(!has(&cache, "e"));
    }

    #[test]
    fn keys_the_store_does_not_hold_yet_stay() {
        let mut cache = cache([
            ("dirty", slot(true, false, 0)),
            ("written-now", slot(false, false, 5)),
            ("written-before", slot(false, false, 4)),
            ("loaded", slot(false, false, 0)),
        ]);
        // Capacity 1: all would go, but only what the store holds may.
        assert_eq!(cache.shrink(1, 5), 2);
        assert!(has(&cache, "dirty") && has(&cache, "written-now"));
        assert!(!has(&cache, "written-before") && !has(&cache, "loaded"));
    }
}
