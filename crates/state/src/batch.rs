//! [`CommitBatch`]: everything one epoch writes, committed at once by
//! [`StateStore::commit`](crate::StateStore::commit).

use crate::{
    Error,
    encoding::{self, MAX_KEY_LEN, MAX_STATE_KEY_LEN, MAX_VALUE_LEN},
};

/// What a write changes: a key of a state (by its index in the batch's table of states), or
/// a meta key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Target {
    State(u32),
    Meta,
}

/// One put or delete. Its key is `bytes[start..key_end]` (the raw key for a state, the whole
/// meta key otherwise) and its value `bytes[key_end..end]`.
#[derive(Debug, Clone, Copy)]
struct Write {
    target: Target,
    delete: bool,
    start: usize,
    key_end: usize,
    end: usize,
}

/// A (service, state) pair the batch writes to.
#[derive(Debug)]
pub(crate) struct BatchState {
    pub(crate) service: String,
    pub(crate) state: String,
    /// Whether the batch puts a key in it (a state that only sees deletes needs no id).
    pub(crate) has_put: bool,
}

/// Everything one epoch commits: state puts and deletes, source offsets and sink ends,
/// under one epoch number. Nothing is written until [`StateStore::commit`]; then all of it
/// becomes visible and durable together, or none of it does.
///
/// Within a batch, the last write of a key wins (a `put_state` after a `delete_state` of
/// the same key stores the value, and the other way round).
///
/// Recording a write copies its raw key and value into one buffer the batch owns, so
/// [`put_state`](Self::put_state) allocates nothing once the buffer has grown to its working
/// size (see [`with_capacity`](Self::with_capacity)), except the first time the batch sees a
/// (service, state) pair. Consecutive writes to the same state are the fast path; a batch is
/// meant for the tens of states of a dataflow, not for thousands.
///
/// [`StateStore::commit`]: crate::StateStore::commit
#[derive(Default)]
pub struct CommitBatch {
    epoch: u64,
    /// The states written, in order of first use; a write refers to one by index.
    states: Vec<BatchState>,
    /// Index in `states` of the last state written.
    last_state: u32,
    /// Raw keys and values of all writes, back to back.
    bytes: Vec<u8>,
    writes: Vec<Write>,
    /// The first write that could not be recorded; `commit` reports it and writes nothing.
    rejected: Option<Error>,
}

impl std::fmt::Debug for CommitBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the bytes: a batch may hold a million keys.
        f.debug_struct("CommitBatch")
            .field("epoch", &self.epoch)
            .field("writes", &self.writes.len())
            .field("bytes", &self.bytes.len())
            .field("states", &self.states.len())
            .field("rejected", &self.rejected)
            .finish()
    }
}

impl CommitBatch {
    /// An empty batch of epoch `epoch`.
    pub fn new(epoch: u64) -> CommitBatch {
        CommitBatch { epoch, ..CommitBatch::default() }
    }

    /// An empty batch of epoch `epoch` with room for `writes` writes whose raw keys and
    /// values take `bytes` bytes in all.
    pub fn with_capacity(epoch: u64, writes: usize, bytes: usize) -> CommitBatch {
        CommitBatch {
            epoch,
            bytes: Vec::with_capacity(bytes),
            writes: Vec::with_capacity(writes),
            ..CommitBatch::default()
        }
    }

    /// The epoch this batch commits.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Number of writes recorded (state puts and deletes, source offsets, sink ends).
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// Whether no write is recorded. An empty batch still commits its epoch number.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Sets `key` in state `state` of service `service` to `value`.
    ///
    /// The storage engine limits stored keys and values: a key longer than 65,531 bytes, a
    /// value longer than `u32::MAX` bytes, or service and state names longer than 65,530
    /// bytes together make [`StateStore::commit`] fail with [`Error::KeyTooLong`] or
    /// [`Error::TooLarge`] and write nothing.
    ///
    /// [`StateStore::commit`]: crate::StateStore::commit
    pub fn put_state(&mut self, service: &str, state: &str, key: &[u8], value: &[u8]) {
        if key.len() > MAX_STATE_KEY_LEN {
            self.reject(|| Error::KeyTooLong {
                service: service.to_owned(),
                state: state.to_owned(),
                len: key.len(),
                limit: MAX_STATE_KEY_LEN,
            });
            return;
        }
        if value.len() > MAX_VALUE_LEN {
            self.reject(|| Error::TooLarge {
                what: format!("a value in state '{state}' of service '{service}'"),
                len: value.len(),
                limit: MAX_VALUE_LEN,
            });
            return;
        }
        let Some(index) = self.state_index(service, state) else { return };
        if let Some(entry) = self.states.get_mut(index as usize) {
            entry.has_put = true;
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(key);
        let key_end = self.bytes.len();
        self.bytes.extend_from_slice(value);
        let end = self.bytes.len();
        self.writes.push(Write { target: Target::State(index), delete: false, start, key_end, end });
    }

    /// Removes `key` from state `state` of service `service` (nothing happens if it is absent).
    pub fn delete_state(&mut self, service: &str, state: &str, key: &[u8]) {
        if key.len() > MAX_STATE_KEY_LEN {
            // Such a key cannot have been stored: deleting it changes nothing.
            return;
        }
        let Some(index) = self.state_index(service, state) else { return };
        let start = self.bytes.len();
        self.bytes.extend_from_slice(key);
        let end = self.bytes.len();
        self.writes.push(Write { target: Target::State(index), delete: true, start, key_end: end, end });
    }

    /// Records that service `service` resumes reading `topic` partition `partition` at
    /// offset `next`.
    pub fn set_source_offset(&mut self, service: &str, topic: &str, partition: u32, next: u64) {
        let start = self.bytes.len();
        encoding::push_source_offset_key(&mut self.bytes, service, topic, partition);
        self.push_meta(start, next, || {
            format!("the source offset key of service '{service}' and topic '{topic}'")
        });
    }

    /// Records that sink `topic` partition `partition` ends at offset `end`: on start, the
    /// engine truncates the partition to this end.
    pub fn set_sink_end(&mut self, topic: &str, partition: u32, end: u64) {
        let start = self.bytes.len();
        encoding::push_sink_end_key(&mut self.bytes, topic, partition);
        self.push_meta(start, end, || format!("the sink end key of topic '{topic}'"));
    }

    /// The index of (service, state) in the batch's table of states, adding it if new;
    /// `None` (and the batch rejected) if the names are too long to store.
    fn state_index(&mut self, service: &str, state: &str) -> Option<u32> {
        let is = |s: &BatchState| s.service == service && s.state == state;
        if self.states.get(self.last_state as usize).is_some_and(is) {
            return Some(self.last_state);
        }
        let index = match self.states.iter().position(is) {
            Some(index) => index,
            None => {
                let len = encoding::state_name_key_len(service, state);
                if len > MAX_KEY_LEN {
                    self.reject(|| Error::TooLarge {
                        what: format!("the names of service '{service}' and its state '{state}'"),
                        len,
                        limit: MAX_KEY_LEN,
                    });
                    return None;
                }
                self.states.push(BatchState {
                    service: service.to_owned(),
                    state: state.to_owned(),
                    has_put: false,
                });
                self.states.len() - 1
            }
        };
        // A batch would need four billion states to overflow: treat it as too large.
        let Ok(index) = u32::try_from(index) else {
            self.reject(|| Error::TooLarge {
                what: "the number of states in one batch".to_owned(),
                len: index,
                limit: u32::MAX as usize,
            });
            return None;
        };
        self.last_state = index;
        Some(index)
    }

    /// Finishes a meta write whose key was appended from `start`: appends `value`, or drops
    /// the key and rejects the batch if it is too long.
    fn push_meta(&mut self, start: usize, value: u64, what: impl FnOnce() -> String) {
        let key_end = self.bytes.len();
        if key_end - start > MAX_KEY_LEN {
            self.bytes.truncate(start);
            self.reject(|| Error::TooLarge { what: what(), len: key_end - start, limit: MAX_KEY_LEN });
            return;
        }
        self.bytes.extend_from_slice(&value.to_be_bytes());
        let end = self.bytes.len();
        self.writes.push(Write { target: Target::Meta, delete: false, start, key_end, end });
    }

    fn reject(&mut self, error: impl FnOnce() -> Error) {
        if self.rejected.is_none() {
            self.rejected = Some(error());
        }
    }

    /// The batch's parts, or the first write that could not be recorded.
    pub(crate) fn into_parts(self) -> Result<Parts, Error> {
        match self.rejected {
            Some(error) => Err(error),
            None => {
                Ok(Parts { epoch: self.epoch, states: self.states, bytes: self.bytes, writes: self.writes })
            }
        }
    }
}

/// A batch whose writes were all recorded.
pub(crate) struct Parts {
    pub(crate) epoch: u64,
    /// The states written; [`Target::State`] indexes this.
    pub(crate) states: Vec<BatchState>,
    bytes: Vec<u8>,
    writes: Vec<Write>,
}

impl Parts {
    /// Number of writes.
    pub(crate) fn len(&self) -> usize {
        self.writes.len()
    }

    /// Orders the writes as they will be stored: meta keys last, state keys by `order` of
    /// their state (the store's id), then by raw key. Writes of the same key keep their
    /// order, so the last still wins. fjall's memtable is a skip list: inserting in key
    /// order keeps each insert's search path in the CPU cache, about three times faster than
    /// random order.
    pub(crate) fn sort(&mut self, order: &[u32]) {
        let bytes = &self.bytes;
        let rank = |target: Target| match target {
            Target::State(index) => (0, order.get(index as usize).copied().unwrap_or(u32::MAX)),
            Target::Meta => (1, 0),
        };
        // `sort_by` is stable.
        self.writes.sort_by(|a, b| {
            rank(a.target)
                .cmp(&rank(b.target))
                .then_with(|| bytes[a.start..a.key_end].cmp(&bytes[b.start..b.key_end]))
        });
    }

    /// The writes: target, key, and the value or `None` for a delete. Once sorted, only
    /// the last write of each key: fjall gives all writes of a batch one sequence number, so
    /// two writes of one key must not both reach it.
    pub(crate) fn writes(&self) -> impl Iterator<Item = (Target, &[u8], Option<&[u8]>)> + '_ {
        let key = |write: &Write| &self.bytes[write.start..write.key_end];
        self.writes.iter().enumerate().filter_map(move |(i, write)| {
            let overwritten = self
                .writes
                .get(i + 1)
                .is_some_and(|next| next.target == write.target && key(next) == key(write));
            if overwritten {
                return None;
            }
            let value = &self.bytes[write.key_end..write.end];
            Some((write.target, key(write), (!write.delete).then_some(value)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_come_back_with_their_targets_keys_and_values() {
        let mut batch = CommitBatch::new(3);
        batch.put_state("svc", "st", b"k", b"v");
        batch.delete_state("svc", "st", b"gone");
        batch.put_state("svc", "other", b"k2", b"v2");
        batch.set_source_offset("svc", "in", 2, 10);
        batch.set_sink_end("out", 0, 5);
        assert_eq!(batch.len(), 5);
        let parts = batch.into_parts().unwrap();
        assert_eq!(parts.epoch, 3);
        let names: Vec<_> = parts.states.iter().map(|s| (&*s.service, &*s.state, s.has_put)).collect();
        assert_eq!(names, [("svc", "st", true), ("svc", "other", true)]);
        let writes: Vec<_> = parts.writes().collect();
        assert_eq!(writes[0], (Target::State(0), &b"k"[..], Some(&b"v"[..])));
        assert_eq!(writes[1], (Target::State(0), &b"gone"[..], None));
        assert_eq!(writes[2], (Target::State(1), &b"k2"[..], Some(&b"v2"[..])));
        assert_eq!(
            writes[3],
            (Target::Meta, &encoding::source_offset_key("svc", "in", 2)[..], Some(&10u64.to_be_bytes()[..]))
        );
        assert_eq!(writes[4].2, Some(&5u64.to_be_bytes()[..]));
    }

    #[test]
    fn sorted_writes_go_by_state_id_then_key_and_keep_only_the_last_write_of_a_key() {
        let mut batch = CommitBatch::new(1);
        batch.put_state("s", "first", b"b", b"1");
        batch.set_sink_end("t", 0, 1);
        batch.put_state("s", "second", b"a", b"2");
        batch.put_state("s", "first", b"a", b"3");
        batch.delete_state("s", "first", b"b");
        batch.put_state("s", "first", b"b", b"4");
        let mut parts = batch.into_parts().unwrap();
        // The store gave "second" a lower id than "first".
        parts.sort(&[9, 5]);
        let writes: Vec<_> = parts.writes().map(|(t, k, v)| (t, k.to_vec(), v.map(<[u8]>::to_vec))).collect();
        assert_eq!(
            writes[..3],
            [
                (Target::State(1), b"a".to_vec(), Some(b"2".to_vec())),
                (Target::State(0), b"a".to_vec(), Some(b"3".to_vec())),
                (Target::State(0), b"b".to_vec(), Some(b"4".to_vec())),
            ]
        );
        assert_eq!(writes[3].0, Target::Meta);
        assert_eq!(writes.len(), 4);
    }

    #[test]
    fn a_state_that_only_sees_deletes_has_no_put() {
        let mut batch = CommitBatch::new(1);
        batch.delete_state("s", "t", b"k");
        assert!(!batch.into_parts().unwrap().states[0].has_put);
    }

    #[test]
    fn a_new_batch_is_empty() {
        let batch = CommitBatch::with_capacity(9, 10, 100);
        assert!(batch.is_empty());
        assert_eq!(batch.epoch(), 9);
    }

    #[test]
    fn debug_shows_sizes_not_contents() {
        let mut batch = CommitBatch::new(2);
        batch.put_state("s", "t", b"secret-key", b"secret-value");
        let debug = format!("{batch:?}");
        assert_eq!(debug, "CommitBatch { epoch: 2, writes: 1, bytes: 22, states: 1, rejected: None }");
    }

    #[test]
    fn an_overlong_key_rejects_the_whole_batch() {
        let mut batch = CommitBatch::new(1);
        batch.put_state("svc", "st", b"ok", b"v");
        batch.put_state("svc", "st", &vec![b'k'; MAX_STATE_KEY_LEN + 1], b"v");
        batch.set_sink_end(&"t".repeat(MAX_KEY_LEN), 0, 1);
        assert_eq!(batch.len(), 1);
        match batch.into_parts() {
            Err(Error::KeyTooLong { len, limit, .. }) => assert_eq!((len, limit), (65_532, 65_531)),
            other => panic!("expected KeyTooLong, got {:?}", other.err()),
        }
    }

    #[test]
    fn overlong_names_reject_the_batch() {
        let mut batch = CommitBatch::new(1);
        batch.put_state(&"s".repeat(40_000), &"t".repeat(40_000), b"k", b"v");
        assert!(batch.is_empty());
        assert!(matches!(batch.into_parts(), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn an_overlong_meta_key_is_dropped_and_rejects_the_batch() {
        let mut batch = CommitBatch::new(1);
        batch.set_source_offset("svc", &"t".repeat(MAX_KEY_LEN), 0, 1);
        assert!(batch.is_empty());
        assert!(batch.bytes.is_empty());
        assert!(matches!(batch.into_parts(), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn deleting_an_overlong_key_is_a_no_op() {
        let mut batch = CommitBatch::new(1);
        batch.delete_state("svc", "st", &vec![b'k'; MAX_KEY_LEN]);
        assert!(batch.is_empty());
        assert!(batch.into_parts().is_ok());
    }
}
