//! The on-disk record batch: encoding, validation and zero-copy decoding.
//!
//! A batch is the unit of append, checksum and recovery. Layout (all integers little-endian):
//!
//! ```text
//! offset  size  field
//!      0     4  length         bytes after the first 8 (everything the CRC covers)
//!      4     4  crc            CRC32C of bytes 8 .. 8 + length
//!      8     1  magic          1
//!      9     1  attributes     0 (no compression)
//!     10     2  reserved       0
//!     12     4  record_count   > 0
//!     16     8  base_offset    offset of the first record
//!     24     8  first_timestamp
//!     32     8  max_timestamp
//!     40     …  records
//!
//! record := varint(zigzag(timestamp - first_timestamp))
//!           varint(key_len + 1, 0 = no key) key
//!           varint(value_len) value
//!           varint(header_count) { varint(name_len) name varint(value_len) value }*
//! ```

use bytes::Bytes;
use eddy_types::{Header, Offset, RecordRef, Timestamp};

/// Bytes before the CRC-covered region: `length` and `crc`.
pub(crate) const PREFIX_LEN: usize = 8;
/// Size of the fixed batch header, prefix included.
pub(crate) const HEADER_LEN: usize = 40;
/// The only batch format version so far.
const MAGIC: u8 = 1;
/// Largest batch accepted on append or read; protects readers from absurd lengths in
/// damaged files.
pub const MAX_BATCH_BYTES: usize = 64 << 20;

/// Header fields of a batch, read without decoding its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchHeader {
    /// Total bytes of the batch on disk, prefix included.
    pub(crate) total_len: usize,
    pub(crate) record_count: u32,
    pub(crate) base_offset: Offset,
    pub(crate) max_timestamp: Timestamp,
}

impl BatchHeader {
    /// One past the last offset in the batch.
    pub(crate) fn next_offset(&self) -> Offset {
        self.base_offset + u64::from(self.record_count)
    }
}

/// Why bytes are not a valid batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// Fewer bytes than the batch says it has: a torn write at the end of a file.
    Incomplete,
    /// The bytes are there but wrong.
    Corrupt(&'static str),
}

impl Invalid {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Invalid::Incomplete => "batch extends past the end of the file",
            Invalid::Corrupt(reason) => reason,
        }
    }
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

fn u64_at(buf: &[u8], at: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(bytes)
}

/// Reads the total length of the batch starting at `buf[0]`, if the prefix is there.
pub(crate) fn peek_len(buf: &[u8]) -> Option<usize> {
    (buf.len() >= 4).then(|| u32_at(buf, 0) as usize + PREFIX_LEN)
}

/// Validates the batch at the start of `buf` (checksum included) and returns its header.
pub(crate) fn check(buf: &[u8]) -> Result<BatchHeader, Invalid> {
    if buf.len() < HEADER_LEN {
        return Err(Invalid::Incomplete);
    }
    let length = u32_at(buf, 0) as usize;
    let total_len = length + PREFIX_LEN;
    if !(HEADER_LEN..=MAX_BATCH_BYTES).contains(&total_len) {
        return Err(Invalid::Corrupt("batch length out of range"));
    }
    if buf.len() < total_len {
        return Err(Invalid::Incomplete);
    }
    if crc32c::crc32c(&buf[PREFIX_LEN..total_len]) != u32_at(buf, 4) {
        return Err(Invalid::Corrupt("checksum mismatch"));
    }
    if buf[8] != MAGIC {
        return Err(Invalid::Corrupt("unknown batch format version"));
    }
    let record_count = u32_at(buf, 12);
    if record_count == 0 {
        return Err(Invalid::Corrupt("batch has no records"));
    }
    Ok(BatchHeader {
        total_len,
        record_count,
        base_offset: u64_at(buf, 16),
        max_timestamp: u64_at(buf, 32) as i64,
    })
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Appends one encoded batch of `records` (numbered from `base_offset`) to `out`.
/// Returns the header of what was written, or `None` if `records` is empty.
pub(crate) fn encode<'a>(
    out: &mut Vec<u8>,
    base_offset: Offset,
    records: impl IntoIterator<Item = RecordRef<'a>>,
) -> Option<BatchHeader> {
    let start = out.len();
    out.extend_from_slice(&[0u8; HEADER_LEN]);
    let mut count: u32 = 0;
    let mut first_timestamp = 0;
    let mut max_timestamp = i64::MIN;
    for record in records {
        if count == 0 {
            first_timestamp = record.timestamp;
        }
        count += 1;
        max_timestamp = max_timestamp.max(record.timestamp);
        out.reserve(record.value.len() + record.key.map_or(0, <[u8]>::len) + 16);
        put_varint(out, zigzag(record.timestamp.wrapping_sub(first_timestamp)));
        match record.key {
            Some(key) => {
                put_varint(out, key.len() as u64 + 1);
                out.extend_from_slice(key);
            }
            None => put_varint(out, 0),
        }
        put_varint(out, record.value.len() as u64);
        out.extend_from_slice(record.value);
        encode_headers(out, record.headers);
    }
    if count == 0 {
        out.truncate(start);
        return None;
    }
    let total_len = out.len() - start;
    let header = &mut out[start..start + HEADER_LEN];
    header[0..4].copy_from_slice(&((total_len - PREFIX_LEN) as u32).to_le_bytes());
    header[8] = MAGIC;
    header[12..16].copy_from_slice(&count.to_le_bytes());
    header[16..24].copy_from_slice(&base_offset.to_le_bytes());
    header[24..32].copy_from_slice(&first_timestamp.to_le_bytes());
    header[32..40].copy_from_slice(&max_timestamp.to_le_bytes());
    let crc = crc32c::crc32c(&out[start + PREFIX_LEN..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Some(BatchHeader { total_len, record_count: count, base_offset, max_timestamp })
}

fn encode_headers(out: &mut Vec<u8>, headers: &[Header]) {
    put_varint(out, headers.len() as u64);
    for header in headers {
        put_varint(out, header.name.len() as u64);
        out.extend_from_slice(header.name.as_bytes());
        put_varint(out, header.value.len() as u64);
        out.extend_from_slice(&header.value);
    }
}

/// A checksum-verified batch read from a partition. Cheap to clone; records borrow from it.
#[derive(Debug, Clone)]
pub struct Batch {
    bytes: Bytes,
    base_offset: Offset,
    record_count: u32,
}

impl Batch {
    pub(crate) fn new(bytes: Bytes, header: &BatchHeader) -> Self {
        Batch { bytes, base_offset: header.base_offset, record_count: header.record_count }
    }

    /// Offset of the first record.
    pub fn base_offset(&self) -> Offset {
        self.base_offset
    }

    /// One past the offset of the last record.
    pub fn next_offset(&self) -> Offset {
        self.base_offset + u64::from(self.record_count)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.record_count as usize
    }

    /// Always false: a batch holds at least one record.
    pub fn is_empty(&self) -> bool {
        self.record_count == 0
    }

    /// Size of the batch on disk, in bytes.
    pub fn size_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The records of the batch, in offset order.
    pub fn records(&self) -> Records<'_> {
        self.records_from(ReadPosition {
            at: HEADER_LEN,
            next_offset: self.base_offset,
            remaining: self.record_count,
        })
    }

    /// The records from `position`, which [`Records::position`] gave for this batch: a batch
    /// read in several goes. A position this batch cannot have given yields nothing.
    pub fn records_from(&self, position: ReadPosition) -> Records<'_> {
        let first_timestamp = u64_at(&self.bytes, 24) as i64;
        let fits = (HEADER_LEN..=self.bytes.len()).contains(&position.at)
            && position.next_offset >= self.base_offset
            && position.next_offset + u64::from(position.remaining)
                == self.base_offset + u64::from(self.record_count);
        Records {
            rest: if fits { &self.bytes[position.at..] } else { &[] },
            batch_len: self.bytes.len(),
            next_offset: position.next_offset,
            remaining: if fits { position.remaining } else { 0 },
            first_timestamp,
        }
    }
}

/// Where a [`Records`] iterator stands in its batch, to go on from there later with
/// [`Batch::records_from`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPosition {
    /// Byte offset of the next record in the batch.
    at: usize,
    next_offset: Offset,
    remaining: u32,
}

impl ReadPosition {
    /// The offset of the next record.
    pub fn next_offset(&self) -> Offset {
        self.next_offset
    }

    /// Whether every record of the batch was read.
    pub fn is_end(&self) -> bool {
        self.remaining == 0
    }
}

/// A record as stored in a partition, borrowed from its [`Batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredRecord<'a> {
    /// Offset within the partition.
    pub offset: Offset,
    /// Event time, milliseconds since the Unix epoch.
    pub timestamp: Timestamp,
    /// Key, if the record has one.
    pub key: Option<&'a [u8]>,
    /// Value.
    pub value: &'a [u8],
    headers: &'a [u8],
    header_count: u64,
}

impl<'a> StoredRecord<'a> {
    /// The record's headers as `(name, value)` pairs.
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> {
        let mut rest = self.headers;
        (0..self.header_count).map_while(move |_| {
            let name = take_bytes(&mut rest)?;
            let value = take_bytes(&mut rest)?;
            Some((name, value))
        })
    }
}

/// Iterator over the records of a [`Batch`].
#[derive(Debug)]
pub struct Records<'a> {
    rest: &'a [u8],
    /// The length of the whole batch, of which `rest` is the end.
    batch_len: usize,
    next_offset: Offset,
    remaining: u32,
    first_timestamp: Timestamp,
}

fn take_varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, byte) in buf.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *buf = &buf[i + 1..];
            return Some(value);
        }
    }
    None
}

fn take_bytes<'a>(buf: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::try_from(take_varint(buf)?).ok()?;
    if buf.len() < len {
        return None;
    }
    let (head, tail) = buf.split_at(len);
    *buf = tail;
    Some(head)
}

impl<'a> Records<'a> {
    /// Where the iteration stands (see [`Batch::records_from`]).
    pub fn position(&self) -> ReadPosition {
        ReadPosition {
            at: self.batch_len - self.rest.len(),
            next_offset: self.next_offset,
            remaining: self.remaining,
        }
    }

    fn decode_one(&mut self) -> Option<StoredRecord<'a>> {
        let buf = &mut self.rest;
        let timestamp = self.first_timestamp.wrapping_add(unzigzag(take_varint(buf)?));
        let key = match take_varint(buf)? {
            0 => None,
            n => {
                let len = usize::try_from(n - 1).ok()?;
                if buf.len() < len {
                    return None;
                }
                let (key, tail) = buf.split_at(len);
                *buf = tail;
                Some(key)
            }
        };
        let value = take_bytes(buf)?;
        let header_count = take_varint(buf)?;
        let headers_start = *buf;
        for _ in 0..header_count {
            take_bytes(buf)?;
            take_bytes(buf)?;
        }
        let headers = &headers_start[..headers_start.len() - buf.len()];
        Some(StoredRecord { offset: self.next_offset, timestamp, key, value, headers, header_count })
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = StoredRecord<'a>;

    fn next(&mut self) -> Option<StoredRecord<'a>> {
        if self.remaining == 0 {
            return None;
        }
        // The batch passed its checksum, so a decoding failure means a writer bug; stop
        // rather than yield garbage.
        let record = self.decode_one()?;
        self.remaining -= 1;
        self.next_offset += 1;
        Some(record)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<eddy_types::Record> {
        let mut with_headers = eddy_types::Record::new(Some("k2"), "v2", 90);
        with_headers.headers.push(Header { name: "trace".into(), value: Bytes::from_static(b"abc") });
        vec![
            eddy_types::Record::new(Some("k1"), "v1", 100),
            with_headers,
            eddy_types::Record::new(None::<&str>, "", 105),
        ]
    }

    #[test]
    fn encoded_batch_round_trips() {
        let records = sample();
        let mut buf = Vec::new();
        let header = encode(&mut buf, 7, records.iter().map(|r| r.as_ref())).unwrap();
        assert_eq!(header.total_len, buf.len());
        assert_eq!(check(&buf), Ok(header));
        assert_eq!(header.max_timestamp, 105);
        let batch = Batch::new(Bytes::from(buf), &header);
        let decoded: Vec<_> = batch.records().collect();
        assert_eq!(decoded.len(), 3);
        assert_eq!(decoded[0].offset, 7);
        assert_eq!(decoded[1].key, Some(&b"k2"[..]));
        assert_eq!(decoded[1].timestamp, 90);
        assert_eq!(decoded[1].headers().collect::<Vec<_>>(), vec![(&b"trace"[..], &b"abc"[..])]);
        assert_eq!(decoded[2].key, None);
        assert_eq!(decoded[2].value, b"");
    }

    #[test]
    fn a_batch_read_in_several_goes_yields_each_record_once() {
        let records = sample();
        let mut buf = Vec::new();
        let header = encode(&mut buf, 7, records.iter().map(|r| r.as_ref())).unwrap();
        let batch = Batch::new(Bytes::from(buf), &header);
        let whole: Vec<_> = batch.records().collect();
        let mut records = batch.records();
        let first = records.next().unwrap();
        let position = records.position();
        assert_eq!(position.next_offset(), 8);
        assert!(!position.is_end());
        let rest: Vec<_> = batch.records_from(position).collect();
        assert_eq!([vec![first], rest].concat(), whole);
        let mut all = batch.records();
        all.by_ref().for_each(drop);
        assert!(all.position().is_end());
        assert_eq!(batch.records_from(all.position()).count(), 0);
    }

    #[test]
    fn a_position_of_another_batch_yields_nothing() {
        let mut buf = Vec::new();
        let header = encode(&mut buf, 7, sample().iter().map(|r| r.as_ref())).unwrap();
        let batch = Batch::new(Bytes::from(buf), &header);
        let mut other_buf = Vec::new();
        let other_header = encode(&mut other_buf, 100, sample()[..1].iter().map(|r| r.as_ref())).unwrap();
        let other = Batch::new(Bytes::from(other_buf), &other_header);
        let mut records = batch.records();
        records.next();
        assert_eq!(other.records_from(records.position()).count(), 0);
        let far = ReadPosition { at: usize::MAX, next_offset: 8, remaining: 2 };
        assert_eq!(batch.records_from(far).count(), 0);
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        let mut buf = Vec::new();
        encode(&mut buf, 0, sample().iter().map(|r| r.as_ref())).unwrap();
        for i in 0..buf.len() {
            let mut damaged = buf.clone();
            damaged[i] ^= 0x10;
            assert!(check(&damaged).is_err(), "flip at byte {i} went unnoticed");
        }
    }

    #[test]
    fn truncated_batch_is_incomplete() {
        let mut buf = Vec::new();
        encode(&mut buf, 0, sample().iter().map(|r| r.as_ref())).unwrap();
        for len in 0..buf.len() {
            assert_eq!(check(&buf[..len]), Err(Invalid::Incomplete), "length {len}");
        }
    }

    #[test]
    fn empty_input_writes_nothing() {
        let mut buf = vec![1, 2, 3];
        assert!(encode(&mut buf, 0, std::iter::empty()).is_none());
        assert_eq!(buf, vec![1, 2, 3]);
    }
}
