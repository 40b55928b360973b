//! Sliding windows kept as panes, when `update-state` merges: a built-in aggregate, or a
//! window with `merge`.
//!
//! A sliding window `[n·slide, n·slide + size)` is the union of `size / slide` panes
//! `[p, p + slide)`. A record updates only its pane's state for its key, so its cost does not
//! grow with `size / slide`; when a window closes, each key's state in it is the merge of the
//! key's panes inside it, earliest first.
//!
//! ```text
//!   panes     | p0 | p1 | p2 | p3 | p4 |      size = 3 · slide
//!   windows   [ p0   p1   p2 )              closes first: merge(merge(p0, p1), p2);
//!                  [ p1   p2   p3 )         no open window holds p0 any more: deleted
//!                       [ p2   p3   p4 )
//! ```
//!
//! [`Panes::close`] computes the states of every window the watermark passed and deletes the
//! panes no open window holds; the worker puts those windows among the closed ones of
//! [`Windows`](crate::windows::Windows) and flushes them as it flushes any window (per key,
//! or at the window's collector). `close` runs before any pane is updated, so a record never
//! reaches a window that had closed when it arrived.
//!
//! A pane outlives the flushes of the earlier windows holding it, so after a restart the
//! panes alone do not say which windows were flushed. Per key, `~flushed/<key>` keeps the end
//! of the last window closed for it, committed with the panes: windows ending at or before
//! it are skipped, and a record whose windows all end at or before it is late. A key's new
//! pane moves it up to the windows already closed on this worker (they never held the pane);
//! it is deleted with the key's last pane. Panes are stored as `<pane start>/<pane end>/<key>`.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;

use crate::windows::{Bounds, FastMap, FastSet, state_key};

/// What a closed window holds: its bounds, its keys' merged states, and the keys whose merge
/// failed, with the reason.
#[derive(Debug, PartialEq)]
pub(crate) struct ClosedWindow {
    pub(crate) bounds: Bounds,
    pub(crate) states: FastMap<Bytes, Value>,
    pub(crate) failures: Vec<(Bytes, String)>,
}

/// How a key stands: how many panes it has, and the end of the last window closed for it.
#[derive(Debug, Clone, Copy)]
struct KeyPanes {
    panes: usize,
    flushed: i64,
}

/// One service's panes on one worker.
#[derive(Debug)]
pub(crate) struct Panes {
    size_ms: i64,
    slide_ms: i64,
    /// Each pane's key states, by pane start.
    panes: BTreeMap<i64, FastMap<Bytes, Value>>,
    /// Every key with panes, or with a stored `~flushed` entry.
    keys: FastMap<Bytes, KeyPanes>,
    /// Every window ending at or before this is closed on this worker.
    closed_through: i64,
    /// Panes changed since the last snapshot.
    dirty: FastSet<(i64, Bytes)>,
    /// Panes deleted since the last snapshot.
    deleted: Vec<(i64, Bytes)>,
    /// Keys whose `~flushed` entry changed since the last snapshot.
    marks: FastSet<Bytes>,
}

impl Panes {
    /// Panes of sliding windows `size_ms` long, one starting every `slide_ms` (which divides
    /// `size_ms` and is smaller).
    pub(crate) fn new(size_ms: i64, slide_ms: i64) -> Panes {
        Panes {
            size_ms,
            slide_ms,
            panes: BTreeMap::new(),
            keys: FastMap::default(),
            closed_through: i64::MIN,
            dirty: FastSet::default(),
            deleted: Vec::new(),
            marks: FastSet::default(),
        }
    }

    /// The start of the pane holding `time`.
    pub(crate) fn pane_of(&self, time: i64) -> i64 {
        time.div_euclid(self.slide_ms).saturating_mul(self.slide_ms)
    }

    /// Whether a record of `key` at `time` misses every window holding it: the watermark
    /// passed the last one's end plus `grace`, or it was closed for the key already.
    pub(crate) fn is_late(&self, key: &[u8], time: i64, watermark: i64, grace_ms: i64) -> bool {
        let last_end = self.pane_of(time).saturating_add(self.size_ms);
        last_end.saturating_add(grace_ms) <= watermark
            || self.keys.get(key).is_some_and(|panes| last_end <= panes.flushed)
    }

    /// `key`'s state in the pane starting at `pane`.
    pub(crate) fn get(&self, pane: i64, key: &[u8]) -> Option<&Value> {
        self.panes.get(&pane)?.get(key)
    }

    /// Sets `key`'s state in the pane starting at `pane`.
    pub(crate) fn put(&mut self, pane: i64, key: Bytes, state: Value) {
        if self.panes.entry(pane).or_default().insert(key.clone(), state).is_none() {
            let closed_through = self.closed_through;
            let entry = self.keys.entry(key.clone()).or_insert(KeyPanes { panes: 0, flushed: i64::MIN });
            entry.panes += 1;
            // The windows closed before this pane existed never hold it, after a restart too.
            if entry.flushed < closed_through {
                entry.flushed = closed_through;
                self.marks.insert(key.clone());
            }
        }
        self.dirty.insert((pane, key));
    }

    /// A pane as the last epoch committed it.
    pub(crate) fn restore_pane(&mut self, pane: i64, key: Bytes, state: Value) {
        if self.panes.entry(pane).or_default().insert(key.clone(), state).is_none() {
            self.keys.entry(key).or_insert(KeyPanes { panes: 0, flushed: i64::MIN }).panes += 1;
        }
    }

    /// A key's `~flushed` entry as the last epoch committed it.
    pub(crate) fn restore_flushed(&mut self, key: Bytes, end: i64) {
        let entry = self.keys.entry(key).or_insert(KeyPanes { panes: 0, flushed: i64::MIN });
        entry.flushed = entry.flushed.max(end);
    }

    /// Closes every window whose end plus `grace` the watermark reached, earliest first:
    /// each key's state in it is `merge` over its panes inside it, earliest first. Windows
    /// already closed for a key leave it out; panes no open window holds are deleted.
    pub(crate) fn close(
        &mut self,
        watermark: i64,
        grace_ms: i64,
        merge: &mut dyn FnMut(&Value, &Value) -> Result<Value, String>,
    ) -> Vec<ClosedWindow> {
        // Window ends are multiples of the slide: the last one passed.
        let limit = self.pane_of(watermark.saturating_sub(grace_ms));
        let mut closed = Vec::new();
        if limit <= self.closed_through {
            return closed;
        }
        while let Some(&first) = self.panes.keys().next() {
            let end =
                self.closed_through.saturating_add(self.slide_ms).max(first.saturating_add(self.slide_ms));
            if end > limit {
                break;
            }
            let start = end.saturating_sub(self.size_ms);
            let mut merged: BTreeMap<Bytes, Result<Value, String>> = BTreeMap::new();
            for states in self.panes.range(start..end).map(|(_, states)| states) {
                for (key, state) in states {
                    if self.keys.get(key).is_some_and(|panes| panes.flushed >= end) {
                        continue;
                    }
                    match merged.get_mut(key) {
                        None => {
                            merged.insert(key.clone(), Ok(state.clone()));
                        }
                        Some(Ok(earlier)) => match merge(earlier, state) {
                            Ok(combined) => *earlier = combined,
                            Err(reason) => {
                                merged.insert(key.clone(), Err(reason));
                            }
                        },
                        Some(Err(_)) => {}
                    }
                }
            }
            let mut window =
                ClosedWindow { bounds: (end, start), states: FastMap::default(), failures: Vec::new() };
            for (key, result) in merged {
                if let Some(panes) = self.keys.get_mut(&key) {
                    panes.flushed = end;
                }
                self.marks.insert(key.clone());
                match result {
                    Ok(state) => {
                        window.states.insert(key, state);
                    }
                    Err(reason) => window.failures.push((key, reason)),
                }
            }
            self.closed_through = end;
            self.delete_through(start);
            if !window.states.is_empty() || !window.failures.is_empty() {
                closed.push(window);
            }
        }
        self.closed_through = self.closed_through.max(limit);
        closed
    }

    /// Deletes the panes starting at or before `start`: the window starting at `start`, the
    /// last to hold it, closed. A key without panes left loses its `~flushed` entry.
    fn delete_through(&mut self, start: i64) {
        while let Some(entry) = self.panes.first_entry() {
            if *entry.key() > start {
                break;
            }
            let (pane, states) = entry.remove_entry();
            for key in states.into_keys() {
                if let Some(panes) = self.keys.get_mut(&key) {
                    panes.panes = panes.panes.saturating_sub(1);
                    if panes.panes == 0 {
                        self.keys.remove(&key);
                        self.marks.insert(key.clone());
                    }
                }
                self.dirty.remove(&(pane, key.clone()));
                self.deleted.push((pane, key));
            }
        }
    }

    /// What changed since the last snapshot, as store writes and deletes: panes as
    /// `<pane start>/<pane end>/<key>`, marks as `~flushed/<key>`.
    ///
    /// # Errors
    ///
    /// A state that cannot be encoded as JSON.
    pub(crate) fn snapshot(
        &mut self,
        writes: &mut Vec<(Bytes, Vec<u8>)>,
        deletes: &mut Vec<Bytes>,
    ) -> Result<(), serde_json::Error> {
        for (pane, key) in self.dirty.drain() {
            if let Some(state) = self.panes.get(&pane).and_then(|states| states.get(&key)) {
                let bounds = (pane.saturating_add(self.slide_ms), pane);
                writes.push((state_key(bounds, &key), serde_json::to_vec(state)?));
            }
        }
        for (pane, key) in self.deleted.drain(..) {
            deletes.push(state_key((pane.saturating_add(self.slide_ms), pane), &key));
        }
        for key in self.marks.drain() {
            match self.keys.get(&key) {
                Some(panes) if panes.flushed > i64::MIN => {
                    writes.push((flushed_key(&key), panes.flushed.to_string().into_bytes()))
                }
                _ => deletes.push(flushed_key(&key)),
            }
        }
        Ok(())
    }

    /// Whether a stored window state of these windows is a pane (`slide` long) rather than a
    /// closed window waiting for its flush (`size` long).
    pub(crate) fn is_pane(&self, (end, start): Bounds) -> bool {
        end.saturating_sub(start) == self.slide_ms
    }
}

/// The store key of the end of the last window closed for `key`: `~flushed/<key>`.
pub(crate) fn flushed_key(key: &[u8]) -> Bytes {
    let mut bytes = Vec::with_capacity(9 + key.len());
    bytes.extend_from_slice(b"~flushed/");
    bytes.extend_from_slice(key);
    Bytes::from(bytes)
}

/// The key of a store key written by [`flushed_key`].
pub(crate) fn parse_flushed_key(stored: &[u8]) -> Option<Bytes> {
    stored.strip_prefix(b"~flushed/").map(Bytes::copy_from_slice)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::windows::{parse_part_key, parse_state_key};

    fn add(a: &Value, b: &Value) -> Result<Value, String> {
        match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => Ok(json!(a + b)),
            _ => Err(format!("cannot add {a} and {b}")),
        }
    }

    fn key(name: &'static str) -> Bytes {
        Bytes::from_static(name.as_bytes())
    }

    fn count(panes: &mut Panes, key: Bytes, time: i64) {
        let pane = panes.pane_of(time);
        let state = panes.get(pane, &key).and_then(Value::as_i64).unwrap_or(0);
        panes.put(pane, key, json!(state + 1));
    }

    fn states(window: &ClosedWindow) -> BTreeMap<&[u8], i64> {
        window.states.iter().map(|(key, state)| (key.as_ref(), state.as_i64().unwrap_or(-1))).collect()
    }

    #[test]
    fn a_window_is_the_merge_of_its_panes_and_a_pane_goes_with_its_last_window() {
        let mut panes = Panes::new(30, 10);
        for time in [1, 5, 12, 25, 27, 41] {
            count(&mut panes, key("a"), time);
        }
        count(&mut panes, key("b"), 14);
        let closed = panes.close(30, 0, &mut add);
        let ends: Vec<Bounds> = closed.iter().map(|window| window.bounds).collect();
        assert_eq!(ends, [(10, -20), (20, -10), (30, 0)]);
        assert_eq!(states(&closed[0]), BTreeMap::from([(&b"a"[..], 2)]));
        assert_eq!(states(&closed[1]), BTreeMap::from([(&b"a"[..], 3), (&b"b"[..], 1)]));
        assert_eq!(states(&closed[2]), BTreeMap::from([(&b"a"[..], 5), (&b"b"[..], 1)]));
        assert_eq!(panes.get(0, b"a"), None, "no open window holds [0, 10)");
        assert_eq!(panes.get(10, b"a"), Some(&json!(1)));
        assert!(panes.close(39, 0, &mut add).is_empty(), "no window ends in (30, 39]");
        let closed = panes.close(70, 0, &mut add);
        let ends: Vec<Bounds> = closed.iter().map(|window| window.bounds).collect();
        assert_eq!(ends, [(40, 10), (50, 20), (60, 30), (70, 40)]);
        assert_eq!(states(&closed[0]), BTreeMap::from([(&b"a"[..], 3), (&b"b"[..], 1)]));
        assert_eq!(states(&closed[1]), BTreeMap::from([(&b"a"[..], 3)]));
        assert_eq!(states(&closed[3]), BTreeMap::from([(&b"a"[..], 1)]));
        let (mut writes, mut deletes) = (Vec::new(), Vec::new());
        panes.snapshot(&mut writes, &mut deletes).unwrap();
        assert!(writes.is_empty(), "{writes:?}");
        assert!(deletes.contains(&flushed_key(b"a")) && deletes.contains(&flushed_key(b"b")));
        assert!(deletes.iter().all(|key| parse_state_key(key).is_some() || key.starts_with(b"~flushed/")));
    }

    #[test]
    fn empty_stretches_are_skipped_and_late_records_miss_every_window() {
        let mut panes = Panes::new(20, 10);
        count(&mut panes, key("a"), 5);
        count(&mut panes, key("a"), 1_000_005);
        let closed = panes.close(1_000_000, 5, &mut add);
        assert_eq!(closed.iter().map(|window| window.bounds).collect::<Vec<_>>(), [(10, -10), (20, 0)]);
        assert!(panes.is_late(b"a", 999_975, 1_000_000, 5), "its last window ended at 999 990");
        assert!(!panes.is_late(b"a", 999_985, 1_000_000, 5), "[999 980, 1 000 000) closes at 1 000 005");
    }

    #[test]
    fn a_restart_skips_the_windows_a_key_was_flushed_in_and_a_new_pane_skips_closed_ones() {
        let mut panes = Panes::new(30, 10);
        count(&mut panes, key("a"), 5);
        count(&mut panes, key("a"), 15);
        assert_eq!(panes.close(10, 0, &mut add).len(), 1);
        // A new key's pane, with the window ending at 10 already closed.
        count(&mut panes, key("b"), 5);
        let (mut writes, mut deletes) = (Vec::new(), Vec::new());
        panes.snapshot(&mut writes, &mut deletes).unwrap();
        let mut restarted = Panes::new(30, 10);
        for (stored, value) in &writes {
            let value: Value = serde_json::from_slice(value).unwrap();
            if let Some(key) = parse_flushed_key(stored) {
                restarted.restore_flushed(key, value.as_i64().unwrap());
            } else if let Some((bounds, key)) = parse_state_key(stored) {
                assert!(restarted.is_pane(bounds));
                restarted.restore_pane(bounds.1, key, value);
            }
        }
        assert!(parse_part_key(&flushed_key(b"a")).is_none());
        // The window ending at 10 closed before the restart, for `a` and for `b`'s new pane.
        let closed = restarted.close(20, 0, &mut add);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].bounds, (20, -10));
        assert_eq!(states(&closed[0]), BTreeMap::from([(&b"a"[..], 2), (&b"b"[..], 1)]));
        assert!(restarted.is_late(b"a", -15, i64::MIN, 0), "every window holding -15 closed for `a`");
    }

    #[test]
    fn a_failed_merge_leaves_the_key_out_of_that_window() {
        let mut panes = Panes::new(20, 10);
        panes.put(0, key("a"), json!(1));
        panes.put(10, key("a"), json!("x"));
        panes.put(10, key("b"), json!(2));
        let closed = panes.close(20, 0, &mut add);
        assert_eq!(closed[1].bounds, (20, 0));
        assert_eq!(states(&closed[1]), BTreeMap::from([(&b"b"[..], 2)]));
        assert_eq!(closed[1].failures, [(key("a"), "cannot add 1 and \"x\"".to_owned())]);
    }
}
