//! A shard's function state in memory: the states of the addresses it serves, loaded from
//! the store when an address is first called and written back when an epoch is taken.
//!
//! The cache is bounded. When an epoch commits with more than `capacity` addresses in
//! memory, [`StateCache::shrink`] drops addresses down to three quarters of the bound: first
//! those not used since the last shrink (second chance, as in a CLOCK cache), then any others
//! it may drop. An address may go only when the store holds all of its states: none changed
//! since the last snapshot, and the last snapshot that wrote one has committed. The shard
//! keeps the addresses it is told to as well (those with calls in flight or waiting).

use eddy_statefun::{Address, TypedValue};
use foldhash::HashMap;

/// The addresses whose state a shard keeps in memory, unless told otherwise.
pub const DEFAULT_STATE_CACHE_ADDRESSES: usize = 1 << 20;

/// State name → value (`None`: none).
pub(crate) type Values = HashMap<String, Option<TypedValue>>;

/// The states of one address in memory.
#[derive(Debug, Default)]
struct Cells {
    values: Values,
    /// Used since the last shrink.
    used: bool,
    /// The epoch whose snapshot last wrote one of its states; 0 if none did in this run.
    written: u64,
}

/// The states of a shard's addresses in memory.
#[derive(Debug, Default)]
pub(crate) struct StateCache {
    addresses: HashMap<Address, Cells>,
}

impl StateCache {
    /// The states of `address` in memory, made empty if it has none there; the address
    /// counts as used.
    pub(crate) fn values_mut(&mut self, address: &Address) -> &mut Values {
        // Not `entry`: that would clone the address on every call.
        if !self.addresses.contains_key(address) {
            self.addresses.insert(address.clone(), Cells::default());
        }
        let cells = self.addresses.get_mut(address).expect("inserted above");
        cells.used = true;
        &mut cells.values
    }

    /// The value of state `name` of `address`, if in memory and set.
    pub(crate) fn value(&self, address: &Address, name: &str) -> Option<TypedValue> {
        self.addresses.get(address).and_then(|cells| cells.values.get(name)).cloned().flatten()
    }

    /// Notes that `epoch`'s snapshot writes states of `address`.
    pub(crate) fn written(&mut self, address: &Address, epoch: u64) {
        if let Some(cells) = self.addresses.get_mut(address) {
            cells.written = epoch;
        }
    }

    /// Addresses in memory.
    pub(crate) fn len(&self) -> usize {
        self.addresses.len()
    }

    /// Once `committed` has committed: with more than `capacity` addresses in memory, drops
    /// addresses the store holds, and that `keep` does not keep, until three quarters of
    /// `capacity` are left or none may go. `dropped` hears of each with its states' names.
    /// Returns how many went.
    pub(crate) fn shrink(
        &mut self,
        capacity: usize,
        committed: u64,
        keep: impl Fn(&Address) -> bool,
        mut dropped: impl FnMut(&Address, &Values),
    ) -> usize {
        eddy_state::shrink_to_bound(
            &mut self.addresses,
            capacity,
            |cells| &mut cells.used,
            |address, cells| cells.written <= committed && !keep(address),
            |address, cells| dropped(address, &cells.values),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(id: &str) -> Address {
        Address::new("example/f".parse().unwrap(), id.to_owned()).unwrap()
    }

    /// A cache of addresses with their (used, written) marks.
    fn cache(addresses: &[(&str, bool, u64)]) -> StateCache {
        let mut cache = StateCache::default();
        for &(id, used, written) in addresses {
            cache.values_mut(&address(id)).insert("n".to_owned(), Some(TypedValue::long(1)));
            let cells = cache.addresses.get_mut(&address(id)).unwrap();
            cells.used = used;
            cells.written = written;
        }
        cache
    }

    fn has(cache: &StateCache, id: &str) -> bool {
        cache.addresses.contains_key(&address(id))
    }

    #[test]
    fn within_capacity_nothing_goes() {
        let mut cache = cache(&[("a", false, 0), ("b", false, 0)]);
        assert_eq!(cache.shrink(2, 5, |_| false, |_, _| {}), 0);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn addresses_not_used_since_the_last_shrink_go_first() {
        let mut cache =
            cache(&[("used-1", true, 0), ("used-2", true, 0), ("idle-1", false, 0), ("idle-2", false, 3)]);
        let mut gone = Vec::new();
        // Capacity 2: down to 2, so 2 go, both unused.
        assert_eq!(cache.shrink(2, 5, |_| false, |address, _| gone.push(address.id.clone())), 2);
        gone.sort();
        assert_eq!(gone, ["idle-1", "idle-2"]);
        assert!(has(&cache, "used-1") && has(&cache, "used-2"));
        assert!(cache.addresses.values().all(|cells| !cells.used), "a shrink clears the used marks");
    }

    #[test]
    fn used_addresses_go_too_when_unused_ones_are_not_enough() {
        let mut cache =
            cache(&[("a", true, 0), ("b", true, 0), ("c", true, 0), ("d", true, 0), ("e", false, 0)]);
        assert_eq!(cache.shrink(4, 5, |_| false, |_, _| {}), 2);
        assert_eq!(cache.len(), 3);
        assert!(!has(&cache, "e"));
    }

    #[test]
    fn addresses_the_store_does_not_hold_yet_or_that_are_kept_stay() {
        let mut cache = cache(&[
            ("uncommitted", false, 6),
            ("committed", false, 5),
            ("loaded", false, 0),
            ("in-flight", false, 0),
        ]);
        // Capacity 1: all would go, but only what the store holds and nothing keeps may.
        let keep = |address: &Address| address.id == "in-flight";
        assert_eq!(cache.shrink(1, 5, keep, |_, _| {}), 2);
        assert!(has(&cache, "uncommitted") && has(&cache, "in-flight"));
        assert!(!has(&cache, "committed") && !has(&cache, "loaded"));
    }
}
