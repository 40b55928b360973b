//! The sparse offset index of a segment and its file.
//!
//! In memory: one `(offset, position)` entry per `index_interval_bytes` of batches, each
//! pointing at the start of a batch. The active segment's index is rebuilt by scanning on
//! open; a sealed segment's index is saved beside it as `<base>.index`:
//!
//! ```text
//! offset  size  field
//!      0     8  magic "EDDYIDX1"
//!      8     8  base_offset
//!     16     8  next_offset     one past the segment's last offset
//!     24     8  max_timestamp
//!     32     8  segment_len     bytes of the .log file
//!     40     4  entry_count
//!     44     4  crc             CRC32C of bytes 0..44 and of the entries
//!     48  8×n   entries         (offset - base_offset: u32, position: u32)
//! ```
//! A missing or damaged index file is rebuilt from the segment.

use eddy_types::{Offset, Timestamp};

const MAGIC: &[u8; 8] = b"EDDYIDX1";
const HEADER_LEN: usize = 48;

/// Where the batch holding (or preceding) an offset starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub(crate) relative_offset: u32,
    pub(crate) position: u32,
}

/// Summary of a sealed segment, stored with its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SealedIndex {
    pub(crate) next_offset: Offset,
    pub(crate) max_timestamp: Timestamp,
    pub(crate) segment_len: u64,
    pub(crate) entries: Vec<IndexEntry>,
}

/// The position to start scanning from to find `relative_offset`.
pub(crate) fn lookup(entries: &[IndexEntry], relative_offset: u32) -> u32 {
    let i = entries.partition_point(|e| e.relative_offset <= relative_offset);
    if i == 0 { 0 } else { entries[i - 1].position }
}

pub(crate) fn encode(base_offset: Offset, index: &SealedIndex) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 8 * index.entries.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&base_offset.to_le_bytes());
    out.extend_from_slice(&index.next_offset.to_le_bytes());
    out.extend_from_slice(&index.max_timestamp.to_le_bytes());
    out.extend_from_slice(&index.segment_len.to_le_bytes());
    out.extend_from_slice(&(index.entries.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    for entry in &index.entries {
        out.extend_from_slice(&entry.relative_offset.to_le_bytes());
        out.extend_from_slice(&entry.position.to_le_bytes());
    }
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out[..44]), &out[HEADER_LEN..]);
    out[44..48].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Parses an index file; `None` if it is damaged or belongs to another segment.
pub(crate) fn decode(base_offset: Offset, buf: &[u8]) -> Option<SealedIndex> {
    if buf.len() < HEADER_LEN || &buf[..8] != MAGIC {
        return None;
    }
    let u64_at = |at: usize| u64::from_le_bytes(buf[at..at + 8].try_into().unwrap_or([0; 8]));
    let u32_at = |at: usize| u32::from_le_bytes(buf[at..at + 4].try_into().unwrap_or([0; 4]));
    let count = u32_at(40) as usize;
    if buf.len() != HEADER_LEN + 8 * count || u64_at(8) != base_offset {
        return None;
    }
    let crc = crc32c::crc32c_append(crc32c::crc32c(&buf[..44]), &buf[HEADER_LEN..]);
    if crc != u32_at(44) {
        return None;
    }
    let entries = (0..count)
        .map(|i| IndexEntry {
            relative_offset: u32_at(HEADER_LEN + 8 * i),
            position: u32_at(HEADER_LEN + 8 * i + 4),
        })
        .collect();
    Some(SealedIndex {
        next_offset: u64_at(16),
        max_timestamp: u64_at(24) as i64,
        segment_len: u64_at(32),
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_the_closest_preceding_entry() {
        let entries = [
            IndexEntry { relative_offset: 10, position: 100 },
            IndexEntry { relative_offset: 20, position: 200 },
        ];
        assert_eq!(lookup(&entries, 0), 0);
        assert_eq!(lookup(&entries, 10), 100);
        assert_eq!(lookup(&entries, 19), 100);
        assert_eq!(lookup(&entries, 25), 200);
    }

    #[test]
    fn index_file_round_trips_and_rejects_damage() {
        let index = SealedIndex {
            next_offset: 42,
            max_timestamp: -5,
            segment_len: 4096,
            entries: vec![IndexEntry { relative_offset: 3, position: 99 }],
        };
        let buf = encode(7, &index);
        assert_eq!(decode(7, &buf), Some(index));
        assert_eq!(decode(8, &buf), None, "wrong segment");
        for i in 0..buf.len() {
            let mut damaged = buf.clone();
            damaged[i] ^= 1;
            assert_eq!(decode(7, &damaged), None, "flip at {i}");
        }
        assert_eq!(decode(7, &buf[..buf.len() - 1]), None);
    }
}
