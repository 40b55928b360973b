//! One segment file: a run of batches starting at a base offset, named `<base:020>.log`.
//!
//! ```text
//!  0                         len (committed)          file end
//!  | batch | batch | ... | batch |  (nothing: uncommitted data stays in memory)
//!  ^ index entries point at batch starts
//! ```
//! Bytes below `len` never change once written, except by an explicit truncation, so
//! readers copy them out without holding any lock.

use std::{
    fs::{File, OpenOptions},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::{RwLock, RwLockReadGuard, RwLockWriteGuard},
};

use bytes::Bytes;
use eddy_types::{Offset, Timestamp};

use crate::{
    Error, Result,
    batch::{self, Batch, Invalid},
    index::{self, IndexEntry, SealedIndex},
};

/// The smallest read issued; batches are read in chunks of at least this size.
const MIN_READ: usize = 64 << 10;

/// Mutable facts about a segment, changed only by the partition's writer.
#[derive(Debug, Clone)]
pub(crate) struct SegmentState {
    /// Bytes of committed batches.
    pub(crate) len: u64,
    /// One past the last committed offset.
    pub(crate) next_offset: Offset,
    /// Newest timestamp in the segment (`i64::MIN` if empty).
    pub(crate) max_timestamp: Timestamp,
    pub(crate) index: Vec<IndexEntry>,
    /// Position of the last index entry (or 0).
    pub(crate) last_indexed: u64,
}

/// A segment file with its in-memory index.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) base_offset: Offset,
    pub(crate) path: PathBuf,
    pub(crate) file: File,
    state: RwLock<SegmentState>,
}

/// Outcome of scanning a segment file from its start.
#[derive(Debug)]
pub(crate) struct Scan {
    pub(crate) state: SegmentState,
    /// Where the first invalid batch starts, and why, if the file does not end cleanly.
    pub(crate) invalid: Option<(u64, Invalid)>,
    /// The batch the scan stopped at because it reaches past the requested offset.
    pub(crate) stopped_at: Option<batch::BatchHeader>,
}

pub(crate) fn segment_file_name(base_offset: Offset) -> String {
    format!("{base_offset:020}.log")
}

impl Segment {
    /// Creates a new, empty segment file.
    pub(crate) fn create(dir: &Path, base_offset: Offset) -> Result<Segment> {
        let path = dir.join(segment_file_name(base_offset));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(Error::io(&path))?;
        let state = SegmentState {
            len: 0,
            next_offset: base_offset,
            max_timestamp: i64::MIN,
            index: Vec::new(),
            last_indexed: 0,
        };
        Ok(Segment { base_offset, path, file, state: RwLock::new(state) })
    }

    /// Opens an existing segment file without reading it.
    pub(crate) fn open(path: PathBuf, base_offset: Offset) -> Result<Segment> {
        let file = OpenOptions::new().read(true).write(true).open(&path).map_err(Error::io(&path))?;
        let state = SegmentState {
            len: 0,
            next_offset: base_offset,
            max_timestamp: i64::MIN,
            index: Vec::new(),
            last_indexed: 0,
        };
        Ok(Segment { base_offset, path, file, state: RwLock::new(state) })
    }

    pub(crate) fn state(&self) -> RwLockReadGuard<'_, SegmentState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn state_mut(&self) -> RwLockWriteGuard<'_, SegmentState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn index_path(&self) -> PathBuf {
        self.path.with_extension("index")
    }

    /// Size of the file on disk.
    pub(crate) fn file_len(&self) -> Result<u64> {
        Ok(self.file.metadata().map_err(Error::io(&self.path))?.len())
    }

    /// Reads every batch from the start, verifying each, and rebuilds the index.
    pub(crate) fn scan(&self, index_interval: u64) -> Result<Scan> {
        self.scan_to(Offset::MAX, index_interval)
    }

    /// Like [`scan`](Self::scan), but stops before the first batch holding offset `stop`
    /// or later. Damage found before that point is an error.
    pub(crate) fn scan_until(
        &self,
        stop: Offset,
        index_interval: u64,
    ) -> Result<(SegmentState, Option<batch::BatchHeader>)> {
        let scan = self.scan_to(stop, index_interval)?;
        if let Some((offset, invalid)) = scan.invalid {
            return Err(Error::Corruption {
                file: self.path.clone(),
                offset,
                reason: invalid.reason().to_owned(),
            });
        }
        Ok((scan.state, scan.stopped_at))
    }

    fn scan_to(&self, stop: Offset, index_interval: u64) -> Result<Scan> {
        let file_len = self.file_len()?;
        let mut state = SegmentState {
            len: 0,
            next_offset: self.base_offset,
            max_timestamp: i64::MIN,
            index: Vec::new(),
            last_indexed: 0,
        };
        let mut buf = Vec::new();
        let mut buf_start = 0u64;
        let chunk = 4 << 20;
        loop {
            let pos = state.len;
            if pos == file_len {
                return Ok(Scan { state, invalid: None, stopped_at: None });
            }
            // Make sure the buffer holds the batch at `pos`, or as much of the file as exists.
            let in_buf = (pos - buf_start) as usize;
            let available = &buf[in_buf.min(buf.len())..];
            let wanted = batch::peek_len(available).unwrap_or(batch::HEADER_LEN).min(batch::MAX_BATCH_BYTES);
            if available.len() < wanted && buf_start + (buf.len() as u64) < file_len {
                let read_len = (file_len - pos).min(wanted.max(chunk) as u64) as usize;
                buf.resize(read_len, 0);
                self.file.read_exact_at(&mut buf, pos).map_err(Error::io(&self.path))?;
                buf_start = pos;
                continue;
            }
            let header = match batch::check(available) {
                Ok(header) if header.base_offset == state.next_offset => header,
                Ok(_) => {
                    let invalid = Some((pos, Invalid::Corrupt("offsets out of sequence")));
                    return Ok(Scan { state, invalid, stopped_at: None });
                }
                Err(invalid) => return Ok(Scan { state, invalid: Some((pos, invalid)), stopped_at: None }),
            };
            if header.next_offset() > stop {
                return Ok(Scan { state, invalid: None, stopped_at: Some(header) });
            }
            record_batch(&mut state, self.base_offset, pos, &header, index_interval);
            state.len = pos + header.total_len as u64;
            state.next_offset = header.next_offset();
        }
    }

    /// Loads the sealed index file, if present and consistent with the segment file.
    pub(crate) fn load_sealed_index(&self) -> Result<Option<SealedIndex>> {
        let path = self.index_path();
        let buf = match std::fs::read(&path) {
            Ok(buf) => buf,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Io { path, source }),
        };
        Ok(index::decode(self.base_offset, &buf))
    }

    /// Writes the index file of a segment that will not grow any more.
    pub(crate) fn save_sealed_index(&self) -> Result<()> {
        let state = self.state().clone();
        let sealed = SealedIndex {
            next_offset: state.next_offset,
            max_timestamp: state.max_timestamp,
            segment_len: state.len,
            entries: state.index,
        };
        let path = self.index_path();
        std::fs::write(&path, index::encode(self.base_offset, &sealed)).map_err(Error::io(&path))
    }

    pub(crate) fn install(&self, state: SegmentState) {
        *self.state_mut() = state;
    }

    /// Reads committed batches holding offsets `>= from`, about `max_bytes` of them (at
    /// least one batch if any exists).
    ///
    /// The sparse index may point some batches before the one holding `from`: windows are
    /// read one after the other until a batch reaching past `from` turns up.
    pub(crate) fn read(&self, from: Offset, max_bytes: usize) -> Result<Vec<Batch>> {
        let (len, mut start) = {
            let state = self.state();
            if from >= state.next_offset {
                return Ok(Vec::new());
            }
            let relative = u32::try_from(from.saturating_sub(self.base_offset)).unwrap_or(u32::MAX);
            (state.len, u64::from(index::lookup(&state.index, relative)))
        };
        while start < len {
            let (batches, consumed) = self.read_window(from, start, len, max_bytes)?;
            if !batches.is_empty() || consumed == 0 {
                return Ok(batches);
            }
            start += consumed as u64;
        }
        Ok(Vec::new())
    }

    /// Reads the whole batches in about `max_bytes` from byte `start` (at least the first
    /// one), keeping those that reach past `from`; returns them and the bytes they took.
    fn read_window(
        &self,
        from: Offset,
        start: u64,
        len: u64,
        max_bytes: usize,
    ) -> Result<(Vec<Batch>, usize)> {
        let mut read_len = (len - start).min(max_bytes.max(MIN_READ) as u64) as usize;
        let mut buf = vec![0u8; read_len];
        self.file.read_exact_at(&mut buf, start).map_err(Error::io(&self.path))?;
        if let Some(first) = batch::peek_len(&buf)
            && first > buf.len()
            && (first as u64) <= len - start
        {
            read_len = first;
            buf.resize(read_len, 0);
            self.file.read_exact_at(&mut buf, start).map_err(Error::io(&self.path))?;
        }
        let bytes = Bytes::from(buf);
        let mut batches = Vec::new();
        let mut pos = 0usize;
        while pos < bytes.len() {
            let rest = &bytes[pos..];
            match batch::check(rest) {
                Ok(header) => {
                    if header.next_offset() > from {
                        batches.push(Batch::new(bytes.slice(pos..pos + header.total_len), &header));
                    }
                    pos += header.total_len;
                }
                Err(Invalid::Incomplete) if !batches.is_empty() || pos > 0 => break,
                Err(invalid) => {
                    return Err(Error::Corruption {
                        file: self.path.clone(),
                        offset: start + pos as u64,
                        reason: invalid.reason().to_owned(),
                    });
                }
            }
        }
        Ok((batches, pos))
    }
}

/// Accounts for a batch written at `pos` in the segment's state (index entry, timestamp).
pub(crate) fn record_batch(
    state: &mut SegmentState,
    base_offset: Offset,
    pos: u64,
    header: &batch::BatchHeader,
    index_interval: u64,
) {
    if pos == 0 || pos - state.last_indexed >= index_interval {
        if pos > 0 {
            state.index.push(IndexEntry {
                relative_offset: (header.base_offset - base_offset) as u32,
                position: pos as u32,
            });
        }
        state.last_indexed = pos;
    }
    state.max_timestamp = state.max_timestamp.max(header.max_timestamp);
}
