//! Which of the state held in memory leaves it: the bound shared by the dataflow engine's
//! keyed state and the function runtime's address state.
//!
//! A bounded map that grows past `capacity` is cut down to three quarters of it: first the
//! entries not used since the last cut (second chance, as in a CLOCK cache), then any
//! others. Only entries the caller says may go leave, those whose state the store holds.

use std::collections::HashMap;
use std::hash::BuildHasher;

/// With more than `capacity` entries in `entries`, drops entries that `may_go` until three
/// quarters of `capacity` are left or none may go: first those whose use mark (`used`) is
/// not set, then any. Clears every use mark on the way. `dropped` hears of each entry that
/// goes. Returns how many went.
///
/// ```
/// use std::collections::HashMap;
///
/// // (used since the last cut, may go)
/// let mut entries: HashMap<&str, (bool, bool)> =
///     HashMap::from([("a", (true, true)), ("b", (false, true)), ("c", (false, false))]);
/// let went = eddy_state::shrink_to_bound(&mut entries, 2, |e| &mut e.0, |_, e| e.1, |_, _| {});
/// // Down to 2 of 3 (three quarters of 2, rounded up): `b` goes, unused and free to go.
/// assert_eq!(went, 1);
/// assert!(entries.contains_key("a") && entries.contains_key("c"));
/// assert!(!entries["a"].0, "the use marks are cleared");
/// ```
pub fn shrink_to_bound<K, V, S: BuildHasher>(
    entries: &mut HashMap<K, V, S>,
    capacity: usize,
    used: impl Fn(&mut V) -> &mut bool,
    mut may_go: impl FnMut(&K, &V) -> bool,
    mut dropped: impl FnMut(&K, &V),
) -> usize {
    let before = entries.len();
    if before <= capacity {
        return 0;
    }
    let mut excess = before - (capacity - capacity / 4);
    for second_chance in [true, false] {
        if excess == 0 {
            break;
        }
        entries.retain(|key, value| {
            let spared = std::mem::take(used(value)) && second_chance;
            if excess > 0 && !spared && may_go(key, value) {
                excess -= 1;
                dropped(key, value);
                return false;
            }
            true
        });
    }
    before - entries.len()
}
