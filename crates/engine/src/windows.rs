//! Event-time windows of one service on one worker: the open windows of the keys this worker
//! owns, and the watermark.
//!
//! Each worker tracks, per source partition it reads, the highest event time seen; its
//! *local* watermark is the minimum over those partitions. A partition caught up and without
//! records for `idleness` stops counting; when all of a worker's partitions are idle, its
//! watermark is the highest event time they saw, or [`IDLE`] if they saw none (as for a
//! worker without sources of the service). A worker announces a changed local watermark,
//! and whether all its partitions are idle, to every peer after the records it sent them,
//! over the same channels, so a watermark never overtakes a record. The *effective*
//! watermark of a worker is the minimum of the last announcements of the workers not idle;
//! when every worker is idle, the highest any announced (as Flink's watermark valve does when
//! all its inputs are idle), so a run's windows close the same way on 1 worker or on many. It
//! never goes back.
//!
//! A window `[start, end)` closes when the effective watermark reaches `end + grace`: `flush`
//! runs, its results go to the sinks, and the window's state is deleted in the same epoch.
//! A record whose windows are all closed is late and goes to the late-records topic.
//!
//! A per-window `flush` must see every key of the window, and the keys live on different
//! workers. Each window has one *collector*, the worker its bounds hash to. A worker closing
//! a window sends its part (its keys' states; for `top-k` only its own best `k`) to the
//! collector, and after the parts, the watermark through which it has closed every window
//! (`closed through`). The collector runs the flush once every worker's closed-through
//! passed the window's end plus grace: no part of it can still come. Parts waiting at the
//! collector when an epoch closes are stored as `~flush/<start>/<end>/<key>`, in the same
//! commit that deletes them from the senders' window state, so a crash loses none.
//!
//! Window state is stored under the service's state as `<start>/<end>/<key>`, so
//! `eddy state list` shows open windows, and a restart finds them all. Sliding windows whose
//! `update-state` merges keep each key's state per pane instead (see `panes`), stored as
//! `<pane start>/<pane end>/<key>`; a window computed from them waits among the closed
//! windows here for its flush, and is stored like any window state if an epoch closes
//! before that. Beside them,
//! `~event-time/<source>/<partition>` keeps the highest event time read from each source
//! partition, so the watermark after a restart is where the last epoch left it and a record
//! that was late stays late.

use std::collections::{BTreeMap, HashMap, HashSet};

/// The maps and sets of window state, hashed per record, with foldhash (seeded per map)
/// rather than SipHash.
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type FastSet<T> = HashSet<T, foldhash::fast::RandomState>;

use bytes::Bytes;
use serde_json::Value;

use crate::panes::{ClosedWindow, Panes};

/// A window's bounds as `(end, start)`, ms: maps ordered by it close earliest-ending first.
pub(crate) type Bounds = (i64, i64);

/// One service's windows on one worker.
#[derive(Debug)]
pub(crate) struct Windows {
    /// Open windows, earliest end first: each key's state.
    pub(crate) open: BTreeMap<Bounds, FastMap<Bytes, Value>>,
    /// Window states changed since the last snapshot. Only those of windows in `stored`
    /// matter (the snapshot writes every key of a window that is not), so a keyed update of
    /// a tumbling or sliding window marks only those.
    pub(crate) dirty: FastSet<(Bounds, Bytes)>,
    /// Window states of closed windows, to delete at the next snapshot.
    pub(crate) closed: Vec<(Bounds, Bytes)>,
    /// Session windows: each key's open sessions.
    pub(crate) sessions: FastMap<Bytes, Vec<Bounds>>,
    /// Per-window flushes collected here: each window's parts by key, `true` once stored.
    pub(crate) collected: BTreeMap<Bounds, BTreeMap<Bytes, (Value, bool)>>,
    /// Store keys of flushed parts, to delete at the next snapshot.
    pub(crate) flushed_parts: Vec<Bytes>,
    /// Sliding windows whose state merges: each key's panes.
    pub(crate) panes: Option<Panes>,
    /// Open windows with key states in the store: written at a snapshot, or restored. A
    /// window that opens and closes between two snapshots (or is computed from panes and
    /// flushed before one) never touches the store: nothing to write, nothing to delete.
    pub(crate) stored: FastSet<Bounds>,
    /// The watermark through which each worker closed every window (per-window flushes).
    closed_through: Vec<i64>,
    /// The last watermark announced by each worker, this one's included.
    watermarks: Vec<Announced>,
    /// The minimum of the `watermarks` not idle (or the highest, when all are), as high as
    /// it ever was.
    effective: i64,
}

/// The watermark of a worker that holds nobody back: no sources, or idle ones without data.
pub(crate) const IDLE: i64 = i64::MAX;

/// A worker's local watermark, as it announces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Announced {
    /// The lowest event time of its partitions still counting; when all of them are idle,
    /// the highest they saw ([`IDLE`] if none).
    pub(crate) watermark: i64,
    /// Every partition of the worker is idle, or it has none.
    pub(crate) idle: bool,
}

impl Windows {
    pub(crate) fn new(workers: usize) -> Windows {
        Windows {
            open: BTreeMap::new(),
            dirty: FastSet::default(),
            closed: Vec::new(),
            sessions: FastMap::default(),
            collected: BTreeMap::new(),
            flushed_parts: Vec::new(),
            panes: None,
            stored: FastSet::default(),
            closed_through: vec![i64::MIN; workers],
            watermarks: vec![Announced { watermark: i64::MIN, idle: false }; workers],
            effective: i64::MIN,
        }
    }

    /// Keeps sliding windows `size_ms` long, one every `slide_ms`, as panes.
    pub(crate) fn with_panes(mut self, size_ms: i64, slide_ms: i64) -> Windows {
        self.panes = Some(Panes::new(size_ms, slide_ms));
        self
    }

    /// Computes every window the watermark closed from the panes (see [`Panes::close`]) and
    /// puts it among the open windows, for [`Windows::pop_closed`] to hand out. Returns the
    /// keys whose panes did not merge, with the window and the reason.
    pub(crate) fn close_panes(
        &mut self,
        grace_ms: i64,
        merge: &mut dyn FnMut(&Value, &Value) -> Result<Value, String>,
    ) -> Vec<(Bounds, Bytes, String)> {
        let watermark = self.watermark();
        let Some(panes) = self.panes.as_mut() else { return Vec::new() };
        let mut failures = Vec::new();
        for ClosedWindow { bounds, states, failures: failed } in panes.close(watermark, grace_ms, merge) {
            failures.extend(failed.into_iter().map(|(key, reason)| (bounds, key, reason)));
            if states.is_empty() {
                continue;
            }
            match self.open.get_mut(&bounds) {
                // Restored from the store: closed before a restart, not flushed yet.
                Some(restored) => {
                    for (key, state) in states {
                        self.dirty.insert((bounds, key.clone()));
                        restored.insert(key, state);
                    }
                }
                None => {
                    self.open.insert(bounds, states);
                }
            }
        }
        failures
    }

    /// The effective watermark: records behind it by more than the grace period are late.
    pub(crate) fn watermark(&self) -> i64 {
        self.effective
    }

    /// Starts from the watermark the last committed epoch implies, before any announcement.
    pub(crate) fn restore(&mut self, watermark: i64) {
        self.effective = self.effective.max(watermark);
    }

    /// The watermark `worker` announced last.
    pub(crate) fn announced(&self, worker: usize) -> Announced {
        self.watermarks[worker]
    }

    /// Records `worker`'s announcement.
    pub(crate) fn announce(&mut self, worker: usize, announced: Announced) {
        self.watermarks[worker] = announced;
        let lowest_active = self.watermarks.iter().filter(|w| !w.idle).map(|w| w.watermark).min();
        let all_idle = || self.watermarks.iter().map(|w| w.watermark).filter(|&w| w != IDLE).max();
        if let Some(watermark) = lowest_active.or_else(all_idle) {
            self.effective = self.effective.max(watermark);
        }
    }

    /// The watermark through which `worker` said it closed every window.
    pub(crate) fn closed_through(&self, worker: usize) -> i64 {
        self.closed_through[worker]
    }

    /// Records that `worker` closed every window through `watermark`.
    pub(crate) fn close_through(&mut self, worker: usize, watermark: i64) {
        self.closed_through[worker] = self.closed_through[worker].max(watermark);
    }

    /// Adds a worker's part of a closed window to the ones collected here.
    pub(crate) fn collect(&mut self, bounds: Bounds, part: Vec<(Bytes, Value)>) {
        let parts = self.collected.entry(bounds).or_default();
        parts.extend(part.into_iter().map(|(key, state)| (key, (state, false))));
    }

    /// Removes and returns the next collected window every worker has closed, if any: its
    /// bounds and its keys' states sorted by key.
    pub(crate) fn pop_collected(&mut self, grace_ms: i64) -> Option<(Bounds, Vec<(Bytes, Value)>)> {
        let everyone = self.closed_through.iter().copied().min()?;
        let (&(end, _), _) = self.collected.first_key_value()?;
        if end.saturating_add(grace_ms) > everyone {
            return None;
        }
        let (bounds, parts) = self.collected.pop_first()?;
        let mut states = Vec::with_capacity(parts.len());
        for (key, (state, stored)) in parts {
            if stored {
                self.flushed_parts.push(part_key(bounds, &key));
            }
            states.push((key, state));
        }
        Some((bounds, states))
    }

    /// Removes and returns the next window closed by the watermark, if any: its bounds and
    /// its keys' states sorted by key.
    pub(crate) fn pop_closed(&mut self, grace_ms: i64) -> Option<(Bounds, Vec<(Bytes, Value)>)> {
        let watermark = self.watermark();
        let (&(end, _), _) = self.open.first_key_value()?;
        if end.saturating_add(grace_ms) > watermark {
            return None;
        }
        let (bounds, states) = self.open.pop_first()?;
        let stored = self.stored.remove(&bounds);
        let mut states: Vec<(Bytes, Value)> = states.into_iter().collect();
        states.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, _) in &states {
            if let Some(sessions) = self.sessions.get_mut(key) {
                sessions.retain(|&open| open != bounds);
                if sessions.is_empty() {
                    self.sessions.remove(key);
                }
            }
            // Its entries in `dirty` stay: the snapshot writes only the states still open.
            if stored {
                self.closed.push((bounds, key.clone()));
            }
        }
        Some((bounds, states))
    }
}

/// Takes `key`'s open sessions that overlap `[start, end)` out of `windows`: their bounds and
/// states, earliest first, and the bounds of the session they make together with it.
pub(crate) fn take_overlapping_sessions(
    windows: &mut Windows,
    key: &Bytes,
    (end, start): Bounds,
) -> (Bounds, Vec<(Bounds, Value)>) {
    let mut merged = (end, start);
    let mut taken = Vec::new();
    if let Some(sessions) = windows.sessions.get_mut(key) {
        sessions.retain(|&(open_end, open_start)| {
            let overlaps = open_start < end && start < open_end;
            if overlaps {
                merged = (merged.0.max(open_end), merged.1.min(open_start));
                taken.push((open_end, open_start));
            }
            !overlaps
        });
    }
    taken.sort_by_key(|&(_, start)| start);
    let mut states = Vec::with_capacity(taken.len());
    for bounds in taken {
        if let Some(keys) = windows.open.get_mut(&bounds) {
            if let Some(state) = keys.remove(key) {
                states.push((bounds, state));
            }
            if keys.is_empty() {
                windows.open.remove(&bounds);
            }
        }
        windows.dirty.remove(&(bounds, key.clone()));
    }
    (merged, states)
}

/// The store key of a key's state in a window: `<start>/<end>/<key>`.
pub(crate) fn state_key((end, start): Bounds, key: &[u8]) -> Bytes {
    let mut bytes = format!("{start}/{end}/").into_bytes();
    bytes.extend_from_slice(key);
    Bytes::from(bytes)
}

/// Store keys of window states ([`state_key`]) made one after another: the window's
/// `<start>/<end>/` is formatted once for a run of keys of the same window, as a snapshot
/// writes them, not once per key.
#[derive(Debug, Default)]
pub(crate) struct StateKeys {
    bounds: Option<Bounds>,
    prefix: Vec<u8>,
}

impl StateKeys {
    /// The store key of `key`'s state in the window `bounds`.
    pub(crate) fn key(&mut self, bounds: Bounds, key: &[u8]) -> Bytes {
        if self.bounds != Some(bounds) {
            let (end, start) = bounds;
            self.prefix = format!("{start}/{end}/").into_bytes();
            self.bounds = Some(bounds);
        }
        let mut bytes = Vec::with_capacity(self.prefix.len() + key.len());
        bytes.extend_from_slice(&self.prefix);
        bytes.extend_from_slice(key);
        Bytes::from(bytes)
    }
}

/// The bounds and key of a store key written by [`state_key`].
pub(crate) fn parse_state_key(stored: &[u8]) -> Option<(Bounds, Bytes)> {
    let mut parts = stored.splitn(3, |&b| b == b'/');
    let start = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let end = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let key = parts.next()?;
    Some(((end, start), Bytes::copy_from_slice(key)))
}

/// The worker that collects the parts of the window `bounds` for a per-window flush.
pub(crate) fn collector(bounds: Bounds, workers: usize) -> usize {
    eddy_types::partition_for_key(&state_key(bounds, b""), workers as u32) as usize
}

/// The store key of a part of a window waiting at its collector: `~flush/<start>/<end>/<key>`.
pub(crate) fn part_key(bounds: Bounds, key: &[u8]) -> Bytes {
    let window = state_key(bounds, key);
    let mut bytes = Vec::with_capacity(7 + window.len());
    bytes.extend_from_slice(b"~flush/");
    bytes.extend_from_slice(&window);
    Bytes::from(bytes)
}

/// The bounds and key of a store key written by [`part_key`].
pub(crate) fn parse_part_key(stored: &[u8]) -> Option<(Bounds, Bytes)> {
    parse_state_key(stored.strip_prefix(b"~flush/")?)
}

/// The store key of a source partition's highest event time.
pub(crate) fn event_time_key(source: u32, partition: u32) -> Bytes {
    Bytes::from(format!("~event-time/{source}/{partition}"))
}

/// The source and partition of a key written by [`event_time_key`].
pub(crate) fn parse_event_time_key(stored: &[u8]) -> Option<(u32, u32)> {
    let rest = std::str::from_utf8(stored.strip_prefix(b"~event-time/")?).ok()?;
    let (source, partition) = rest.split_once('/')?;
    Some((source.parse().ok()?, partition.parse().ok()?))
}

/// The window as expressions see it: `{start, end}`.
pub(crate) fn window_value((end, start): Bounds) -> Value {
    serde_json::json!({"start": start, "end": end})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn active(watermark: i64) -> Announced {
        Announced { watermark, idle: false }
    }

    #[test]
    fn when_every_worker_is_idle_the_highest_watermark_counts_else_the_lowest_active() {
        let mut windows = Windows::new(3);
        windows.announce(0, Announced { watermark: 100, idle: true });
        windows.announce(1, active(40));
        windows.announce(2, Announced { watermark: IDLE, idle: true });
        assert_eq!(windows.watermark(), 40, "an idle worker holds nobody back, an active one does");
        windows.announce(1, Announced { watermark: 70, idle: true });
        assert_eq!(windows.watermark(), 100, "all idle: the highest any saw, as with one worker");
        windows.announce(0, active(90));
        assert_eq!(windows.watermark(), 100, "the watermark never goes back");
    }

    #[test]
    fn store_keys_round_trip_with_negative_times_and_slashes_in_keys() {
        for (bounds, key) in [((10, 0), &b"a"[..]), ((-5, -15), b"x/y/z"), ((i64::MAX, i64::MIN), b"")] {
            assert_eq!(parse_state_key(&state_key(bounds, key)), Some((bounds, Bytes::copy_from_slice(key))));
        }
        assert_eq!(parse_state_key(b"garbage"), None);
        let mut keys = StateKeys::default();
        for (bounds, key) in [((10, 0), &b"a"[..]), ((10, 0), b"b"), ((-5, -15), b"x/y"), ((10, 0), b"a")] {
            assert_eq!(keys.key(bounds, key), state_key(bounds, key));
        }
        assert_eq!(parse_event_time_key(&event_time_key(2, 7)), Some((2, 7)));
        assert_eq!(parse_state_key(&event_time_key(2, 7)), None);
        let part = part_key((10, 0), b"x/y");
        assert_eq!(parse_part_key(&part), Some(((10, 0), Bytes::from_static(b"x/y"))));
        assert_eq!(parse_part_key(&state_key((10, 0), b"x")), None);
        assert_eq!(parse_event_time_key(&part), None);
    }

    #[test]
    fn a_collected_window_flushes_once_every_worker_closed_it() {
        let mut windows = Windows::new(2);
        let part = |key: &'static str, count: u64| vec![(Bytes::from_static(key.as_bytes()), json!(count))];
        windows.collect((10, 0), part("b", 2));
        windows.close_through(0, 10);
        assert_eq!(windows.pop_collected(0), None, "worker 1 may still send a part");
        windows.collect((10, 0), part("a", 1));
        windows.close_through(1, 9);
        assert_eq!(windows.pop_collected(0), None);
        windows.close_through(1, 10);
        let (bounds, states) = windows.pop_collected(0).unwrap();
        assert_eq!(bounds, (10, 0));
        assert_eq!(states, [(Bytes::from_static(b"a"), json!(1)), (Bytes::from_static(b"b"), json!(2))]);
        assert!(windows.flushed_parts.is_empty(), "nothing was stored, nothing to delete");
        assert_eq!(windows.pop_collected(0), None);
        assert!(collector((10, 0), 3) < 3);
    }

    #[test]
    fn overlapping_sessions_are_taken_in_start_order() {
        let mut windows = Windows::new(1);
        let key = Bytes::from_static(b"k");
        for (bounds, state) in [((6, 1), 1), ((17, 12), 2), ((25, 20), 3)] {
            windows.open.entry(bounds).or_default().insert(key.clone(), json!(state));
            windows.sessions.entry(key.clone()).or_default().push(bounds);
        }
        let (merged, states) = take_overlapping_sessions(&mut windows, &key, (9, 4));
        assert_eq!(merged, (9, 1));
        assert_eq!(states, vec![((6, 1), json!(1))]);
        let (merged, states) = take_overlapping_sessions(&mut windows, &key, (13, 5));
        assert_eq!(merged, (17, 5));
        assert_eq!(states, vec![((17, 12), json!(2))]);
        assert_eq!(windows.sessions[&key], vec![(25, 20)]);
    }

    #[test]
    fn windows_computed_from_panes_are_deleted_from_the_store_only_once_stored() {
        let mut windows = Windows::new(1).with_panes(20, 10);
        let key = Bytes::from_static(b"k");
        let panes = windows.panes.as_mut().unwrap();
        panes.put(0, key.clone(), json!(1));
        panes.put(10, key.clone(), json!(2));
        let mut add = |a: &Value, b: &Value| Ok(json!(a.as_i64().unwrap_or(0) + b.as_i64().unwrap_or(0)));
        windows.announce(0, active(10));
        assert!(windows.close_panes(0, &mut add).is_empty());
        assert!(windows.stored.is_empty());
        assert_eq!(windows.pop_closed(0), Some(((10, -10), vec![(key.clone(), json!(1))])));
        assert!(windows.closed.is_empty(), "never stored, nothing to delete");
        windows.announce(0, active(25));
        windows.close_panes(0, &mut add);
        // An epoch closes: the computed window is stored before its flush.
        windows.stored.insert((20, 0));
        assert_eq!(windows.pop_closed(0), Some(((20, 0), vec![(key.clone(), json!(3))])));
        assert_eq!(windows.closed, [((20, 0), key)]);
        assert_eq!(windows.pop_closed(0), None, "[10, 30) is open until 30");
    }

    #[test]
    fn windows_close_in_end_order_once_every_worker_passed_them() {
        let mut windows = Windows::new(2);
        windows.open.entry((20, 10)).or_default().insert(Bytes::from_static(b"b"), json!(1));
        windows.open.entry((20, 10)).or_default().insert(Bytes::from_static(b"a"), json!(2));
        windows.open.entry((10, 0)).or_default().insert(Bytes::from_static(b"a"), json!(3));
        // A snapshot wrote [10, 20); [0, 10) opens and closes between two.
        windows.stored.insert((20, 10));
        windows.announce(0, active(100));
        assert!(windows.pop_closed(0).is_none(), "worker 1 has not passed any window");
        windows.announce(1, active(12));
        assert_eq!(windows.pop_closed(2).map(|(bounds, _)| bounds), Some((10, 0)));
        assert!(windows.pop_closed(2).is_none(), "20 + 2 > 12");
        windows.announce(1, Announced { watermark: IDLE, idle: true });
        assert_eq!(windows.watermark(), 100, "an idle worker holds nobody back");
        windows.announce(1, active(22));
        assert_eq!(windows.watermark(), 100, "the watermark never goes back");
        let (bounds, states) = windows.pop_closed(2).unwrap();
        assert_eq!(bounds, (20, 10));
        assert_eq!(states.iter().map(|(k, _)| k.as_ref()).collect::<Vec<_>>(), [b"a", b"b"]);
        let deleted: Vec<(Bounds, &[u8])> = windows.closed.iter().map(|(b, k)| (*b, k.as_ref())).collect();
        assert_eq!(
            deleted,
            [((20, 10), &b"a"[..]), ((20, 10), &b"b"[..])],
            "only what was stored is deleted"
        );
        assert!(windows.stored.is_empty());
    }
}
