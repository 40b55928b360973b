//! The byte layout of keys and values in the two keyspaces (see the crate docs for the table).
//!
//! A stored state key is the state's id (a big-endian `u32`, registered in the meta keyspace)
//! followed by the raw key: short keys stay short (fjall keeps keys of up to 20 bytes inline,
//! which makes memtable inserts and point reads about twice as fast as with the names in
//! every key), and the keys of one state are one contiguous range.
//!
//! A *name* (service, state or topic) in a meta key is written as its length in a big-endian
//! `u16` followed by its UTF-8 bytes, so one name can never be mistaken for the prefix of
//! another: service `a` + state `bc` and service `ab` + state `c` give different keys.
//! Numbers are big-endian so that keys sort by them.

/// Name of the keyspace of keyed state.
pub(crate) const STATE_KEYSPACE: &str = "state";
/// Name of the keyspace of commit metadata.
pub(crate) const META_KEYSPACE: &str = "meta";

/// Meta key of the on-disk format version.
pub(crate) const FORMAT_KEY: &[u8] = b"V";
/// The format version this crate writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Meta key of the last committed epoch.
pub(crate) const EPOCH_KEY: &[u8] = b"E";
/// First byte of every meta key mapping a (service, state) name pair to its state id.
pub(crate) const STATE_NAME_TAG: u8 = b'N';
/// First byte of every source-offset meta key.
pub(crate) const SOURCE_OFFSET_TAG: u8 = b'O';
/// First byte of every sink-end meta key.
pub(crate) const SINK_END_TAG: u8 = b'S';

/// The longest key fjall accepts.
pub(crate) const MAX_KEY_LEN: usize = u16::MAX as usize;
/// The longest value fjall accepts.
pub(crate) const MAX_VALUE_LEN: usize = u32::MAX as usize;

/// Appends `name` as a big-endian `u16` length and its bytes. A name longer than
/// `u16::MAX` bytes gets the length `u16::MAX`: the key it is part of is then longer than
/// [`MAX_KEY_LEN`], which every caller checks before using the key.
fn push_name(buf: &mut Vec<u8>, name: &str) {
    let len = u16::try_from(name.len()).unwrap_or(u16::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(name.as_bytes());
}

/// Splits a length-prefixed name off the front of `bytes`.
fn split_name(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes(*len));
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// Length of the state id in front of every key of the state keyspace.
pub(crate) const STATE_ID_LEN: usize = 4;
/// The longest raw key of a state.
pub(crate) const MAX_STATE_KEY_LEN: usize = MAX_KEY_LEN - STATE_ID_LEN;

/// Appends the stored key of `key` in the state whose id is `id`.
pub(crate) fn push_state_key(buf: &mut Vec<u8>, id: u32, key: &[u8]) {
    buf.extend_from_slice(&id.to_be_bytes());
    buf.extend_from_slice(key);
}

/// Splits a stored state key into the state id and the raw key.
#[cfg(test)]
pub(crate) fn split_state_key(key: &[u8]) -> Option<(u32, &[u8])> {
    let (id, rest) = key.split_first_chunk::<STATE_ID_LEN>()?;
    Some((u32::from_be_bytes(*id), rest))
}

/// Length of the meta key [`push_state_name_key`] writes.
pub(crate) fn state_name_key_len(service: &str, state: &str) -> usize {
    1 + 2 + service.len() + 2 + state.len()
}

/// Appends the meta key that maps state `state` of service `service` to its id.
pub(crate) fn push_state_name_key(buf: &mut Vec<u8>, service: &str, state: &str) {
    buf.push(STATE_NAME_TAG);
    push_name(buf, service);
    push_name(buf, state);
}

/// Splits a state-name meta key into service and state. `None` if it is not shaped like one.
pub(crate) fn split_state_name_key(key: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = key.strip_prefix(&[STATE_NAME_TAG])?;
    let (service, rest) = split_name(rest)?;
    let (state, rest) = split_name(rest)?;
    rest.is_empty().then_some((service, state))
}

/// The meta key of the next offset service `service` reads in `topic` partition `partition`.
pub(crate) fn source_offset_key(service: &str, topic: &str, partition: u32) -> Vec<u8> {
    let mut buf = Vec::with_capacity(1 + 2 + service.len() + 2 + topic.len() + 4);
    push_source_offset_key(&mut buf, service, topic, partition);
    buf
}

/// Appends the key of [`source_offset_key`] to `buf`.
pub(crate) fn push_source_offset_key(buf: &mut Vec<u8>, service: &str, topic: &str, partition: u32) {
    buf.push(SOURCE_OFFSET_TAG);
    push_name(buf, service);
    push_name(buf, topic);
    buf.extend_from_slice(&partition.to_be_bytes());
}

/// Appends the meta key of the sink end of `topic` partition `partition` to `buf`.
pub(crate) fn push_sink_end_key(buf: &mut Vec<u8>, topic: &str, partition: u32) {
    buf.push(SINK_END_TAG);
    push_name(buf, topic);
    buf.extend_from_slice(&partition.to_be_bytes());
}

/// Splits a sink-end meta key into topic and partition. `None` if it is not shaped like one.
pub(crate) fn split_sink_end_key(key: &[u8]) -> Option<(&[u8], u32)> {
    let rest = key.strip_prefix(&[SINK_END_TAG])?;
    let (topic, rest) = split_name(rest)?;
    let partition: [u8; 4] = rest.try_into().ok()?;
    Some((topic, u32::from_be_bytes(partition)))
}

/// Decodes an 8-byte big-endian number, or says what is wrong.
pub(crate) fn decode_u64(value: &[u8]) -> Result<u64, String> {
    let bytes: [u8; 8] = value.try_into().map_err(|_| format!("expected 8 bytes, found {}", value.len()))?;
    Ok(u64::from_be_bytes(bytes))
}

/// Decodes a 4-byte big-endian number, or says what is wrong.
pub(crate) fn decode_u32(value: &[u8]) -> Result<u32, String> {
    let bytes: [u8; 4] = value.try_into().map_err(|_| format!("expected 4 bytes, found {}", value.len()))?;
    Ok(u32::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_key_is_the_state_id_then_the_raw_key() {
        let mut key = Vec::new();
        push_state_key(&mut key, 258, b"k\x00");
        assert_eq!(key, b"\x00\x00\x01\x02k\x00");
        assert_eq!(split_state_key(&key), Some((258, &b"k\x00"[..])));
        assert_eq!(split_state_key(b"\x00\x00\x01"), None);
    }

    #[test]
    fn a_state_name_key_is_two_length_prefixed_names() {
        let mut key = Vec::new();
        push_state_name_key(&mut key, "svc", "st");
        assert_eq!(key, b"N\x00\x03svc\x00\x02st");
        assert_eq!(key.len(), state_name_key_len("svc", "st"));
        assert_eq!(split_state_name_key(&key), Some((&b"svc"[..], &b"st"[..])));
    }

    #[test]
    fn names_that_share_a_prefix_give_different_state_name_keys() {
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        push_state_name_key(&mut a, "a", "bc");
        push_state_name_key(&mut b, "ab", "c");
        push_state_name_key(&mut c, "a", "");
        assert_ne!(a, b);
        assert!(!a.starts_with(&c) && !b.starts_with(&c));
    }

    #[test]
    fn malformed_state_name_keys_do_not_split() {
        assert_eq!(split_state_name_key(b""), None);
        assert_eq!(split_state_name_key(b"N\x00"), None);
        assert_eq!(split_state_name_key(b"N\x00\x05ab"), None);
        assert_eq!(split_state_name_key(b"N\x00\x01a\x00"), None);
        assert_eq!(split_state_name_key(b"N\x00\x01a\x00\x01bc"), None);
        assert_eq!(split_state_name_key(b"S\x00\x01a\x00\x01b"), None);
    }

    #[test]
    fn a_name_longer_than_u16_max_makes_an_overlong_key() {
        let mut key = Vec::new();
        push_state_name_key(&mut key, &"x".repeat(70_000), "s");
        assert!(key.len() > MAX_KEY_LEN);
    }

    #[test]
    fn source_offset_keys_sort_by_partition_within_a_topic() {
        let k1 = source_offset_key("svc", "t", 1);
        let k256 = source_offset_key("svc", "t", 256);
        assert_eq!(k1, b"O\x00\x03svc\x00\x01t\x00\x00\x00\x01");
        assert!(k1 < k256);
    }

    #[test]
    fn a_sink_end_key_round_trips() {
        let mut key = Vec::new();
        push_sink_end_key(&mut key, "out", 7);
        assert_eq!(key, b"S\x00\x03out\x00\x00\x00\x07");
        assert_eq!(split_sink_end_key(&key), Some((&b"out"[..], 7)));
    }

    #[test]
    fn malformed_sink_end_keys_do_not_split() {
        assert_eq!(split_sink_end_key(b"S\x00\x03out\x00\x00\x07"), None);
        assert_eq!(split_sink_end_key(b"S\x00\x03out\x00\x00\x00\x07\x00"), None);
        assert_eq!(split_sink_end_key(b"O\x00\x03out\x00\x00\x00\x07"), None);
        assert_eq!(split_sink_end_key(b"S\x00"), None);
    }

    #[test]
    fn numbers_decode_only_from_the_exact_width() {
        assert_eq!(decode_u64(&42u64.to_be_bytes()), Ok(42));
        assert_eq!(decode_u64(b"1234567"), Err("expected 8 bytes, found 7".to_owned()));
        assert_eq!(decode_u32(&7u32.to_be_bytes()), Ok(7));
        assert!(decode_u32(b"").is_err());
    }
}
