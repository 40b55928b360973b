//! One partition: an ordered list of segments, a writer, and the committed end.
//!
//! ```text
//!  start_offset                      committed_end        next_offset
//!  |  sealed segments | active segment |  write buffer (appended, not committed)  |
//!  ^ retention removes whole          ^ readers stop here
//!    segments from the left
//! ```
//! `append` encodes records into the write buffer and assigns offsets. `commit` writes the
//! buffer to the active segment in one call, fsyncs according to the [`FsyncPolicy`], and
//! only then moves the committed end, so readers never see data that could vanish in a
//! process crash.

use std::{
    ops::Range,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::{Arc, Condvar, Mutex, MutexGuard, RwLock},
    time::{Duration, Instant},
};

use eddy_types::{Offset, PartitionId, RecordRef, Timestamp};

use crate::{
    Error, FsyncPolicy, Result,
    batch::{self, Batch, MAX_BATCH_BYTES},
    checkpoint::{Checkpoint, CheckpointFile},
    segment::{self, Segment},
};

/// Settings a partition needs, resolved from the log's options and the topic's config.
#[derive(Debug, Clone)]
pub(crate) struct PartitionSettings {
    pub(crate) fsync: FsyncPolicy,
    pub(crate) segment_bytes: u64,
    pub(crate) index_interval_bytes: u64,
    pub(crate) retention_time: Option<Duration>,
    pub(crate) retention_bytes: Option<u64>,
}

/// Sizes and offsets of a partition, for `topic describe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionStats {
    /// First stored offset.
    pub start_offset: Offset,
    /// One past the last committed offset.
    pub end_offset: Offset,
    /// Bytes of committed data on disk.
    pub size_bytes: u64,
    /// Number of segment files.
    pub segments: usize,
}

/// What a retention pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// Segments deleted.
    pub segments_removed: usize,
    /// Bytes freed.
    pub bytes_removed: u64,
}

#[derive(Debug)]
struct Writer {
    buffer: Vec<u8>,
    /// Batches in `buffer`: (position in buffer, header).
    pending: Vec<(usize, batch::BatchHeader)>,
    next_offset: Offset,
    last_sync: Instant,
    unsynced: bool,
    poisoned: bool,
    checkpoint: CheckpointFile,
}

/// A partition of a topic. Shared between threads: one writer at a time, any number of
/// readers.
#[derive(Debug)]
pub struct Partition {
    topic: String,
    id: PartitionId,
    dir: PathBuf,
    settings: PartitionSettings,
    writer: Mutex<Writer>,
    /// Ordered by base offset; the last one is the active segment.
    segments: RwLock<Vec<Arc<Segment>>>,
    committed: Mutex<Offset>,
    committed_changed: Condvar,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Partition {
    /// Opens the partition in `dir`, recovering from a crash if needed.
    pub(crate) fn open(
        topic: &str,
        id: PartitionId,
        dir: &Path,
        settings: PartitionSettings,
    ) -> Result<Partition> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let mut bases = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(Error::io(dir))? {
            let entry = entry.map_err(Error::io(dir))?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".log")) else { continue };
            let base: Offset = stem.parse().map_err(|_| Error::Corruption {
                file: entry.path(),
                offset: 0,
                reason: "segment file name is not an offset".into(),
            })?;
            bases.push(base);
        }
        bases.sort_unstable();
        let (checkpoint_file, checkpoint) = CheckpointFile::open(dir)?;
        let mut segments = Vec::with_capacity(bases.len().max(1));
        for (i, &base) in bases.iter().enumerate() {
            let segment = Segment::open(dir.join(segment::segment_file_name(base)), base)?;
            if i + 1 < bases.len() {
                open_sealed(&segment, bases[i + 1], settings.index_interval_bytes)?;
            } else {
                recover_active(&segment, checkpoint, settings.index_interval_bytes)?;
            }
            segments.push(Arc::new(segment));
        }
        if segments.is_empty() {
            let base = checkpoint.map_or(0, |c| c.next_offset);
            segments.push(Arc::new(Segment::create(dir, base)?));
            sync_dir(dir)?;
        }
        let active = segments.last().map(|s| s.state().clone());
        let next_offset = active.as_ref().map_or(0, |s| s.next_offset);
        let partition = Partition {
            topic: topic.to_owned(),
            id,
            dir: dir.to_owned(),
            settings,
            writer: Mutex::new(Writer {
                buffer: Vec::new(),
                pending: Vec::new(),
                next_offset,
                last_sync: Instant::now(),
                unsynced: true,
                poisoned: false,
                checkpoint: checkpoint_file,
            }),
            segments: RwLock::new(segments),
            committed: Mutex::new(next_offset),
            committed_changed: Condvar::new(),
        };
        // Record what recovery found as durable, so later damage before it is detected. A
        // partition that recovery left as the checkpoint describes needs no write, which keeps
        // read-only opens read-only.
        if checkpoint.map(|c| c.next_offset) != Some(next_offset) {
            partition.sync()?;
        }
        Ok(partition)
    }

    /// The partition's number within its topic.
    pub fn id(&self) -> PartitionId {
        self.id
    }

    fn segments(&self) -> Vec<Arc<Segment>> {
        self.segments.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn active(&self) -> Arc<Segment> {
        let segments = self.segments.read().unwrap_or_else(|e| e.into_inner());
        Arc::clone(segments.last().expect("a partition always has an active segment"))
    }

    /// Encodes `records` as one batch and assigns their offsets. They become visible to
    /// readers (and durable) only with the next [`commit`](Self::commit).
    ///
    /// Returns the offsets assigned (empty if `records` is empty).
    ///
    /// # Errors
    /// [`Error::BatchTooLarge`] if the batch exceeds 64 MiB; [`Error::Poisoned`] after an
    /// earlier write failure.
    pub fn append<'a>(&self, records: impl IntoIterator<Item = RecordRef<'a>>) -> Result<Range<Offset>> {
        let mut writer = lock(&self.writer);
        self.check_poisoned(&writer)?;
        Self::append_locked(&mut writer, records)
    }

    /// Encodes `records` as one batch, assigns their offsets and writes the batch (with any
    /// appended before it) to the active segment now, without fsyncing and without making
    /// it visible: [`append`](Self::append) followed by the write half of
    /// [`flush`](Self::flush). A caller writing many records before a flush uses it so that
    /// the write buffer holds one batch at a time, not all of them; the `flush` that follows
    /// fsyncs them, and [`publish_to`](Self::publish_to) makes them visible.
    ///
    /// Written records are like flushed ones: a process crash leaves them on disk, where
    /// recovery keeps them, and whoever owns the two-phase commit rolls them back with
    /// [`truncate`](Self::truncate).
    ///
    /// # Errors
    /// As [`append`](Self::append); an I/O error poisons the partition as in
    /// [`commit`](Self::commit).
    pub fn write<'a>(&self, records: impl IntoIterator<Item = RecordRef<'a>>) -> Result<Range<Offset>> {
        let mut writer = lock(&self.writer);
        self.check_poisoned(&writer)?;
        let offsets = Self::append_locked(&mut writer, records)?;
        if !writer.pending.is_empty() {
            self.write_buffer(&mut writer)?;
            self.roll_if_full(&mut writer)?;
        }
        Ok(offsets)
    }

    fn append_locked<'a>(
        writer: &mut Writer,
        records: impl IntoIterator<Item = RecordRef<'a>>,
    ) -> Result<Range<Offset>> {
        let start = writer.buffer.len();
        let base = writer.next_offset;
        let Some(header) = batch::encode(&mut writer.buffer, base, records) else {
            return Ok(base..base);
        };
        if header.total_len > MAX_BATCH_BYTES {
            writer.buffer.truncate(start);
            return Err(Error::BatchTooLarge { size: header.total_len, limit: MAX_BATCH_BYTES });
        }
        writer.pending.push((start, header));
        writer.next_offset = header.next_offset();
        Ok(base..writer.next_offset)
    }

    /// Writes appended batches to disk and makes them visible to readers; fsyncs according
    /// to the fsync policy. Returns the new committed end.
    ///
    /// # Errors
    /// An I/O error poisons the partition: it refuses further writes until reopened, and
    /// recovery on reopen discards the partial write.
    pub fn commit(&self) -> Result<Offset> {
        let mut writer = lock(&self.writer);
        self.check_poisoned(&writer)?;
        self.write_locked(&mut writer, false)?;
        self.publish(writer.next_offset);
        Ok(writer.next_offset)
    }

    /// Writes appended batches to disk and fsyncs them, *without* making them visible:
    /// the first half of a two-phase commit. Returns the end written. Readers go on
    /// stopping at the committed end until [`publish_to`](Self::publish_to) moves it.
    ///
    /// A crash after `flush` leaves the written batches on disk, where recovery keeps them;
    /// whoever owns the two-phase commit (the engine, which records the ends it committed)
    /// rolls them back with [`truncate`](Self::truncate).
    ///
    /// # Errors
    /// As [`commit`](Self::commit).
    pub fn flush(&self) -> Result<Offset> {
        let mut writer = lock(&self.writer);
        self.check_poisoned(&writer)?;
        self.write_locked(&mut writer, true)?;
        Ok(writer.next_offset)
    }

    /// Makes records before `end` visible to readers: the second half of a two-phase
    /// commit. `end` is clamped to what was written; the committed end never moves back.
    pub fn publish_to(&self, end: Offset) {
        let written = self.active().state().next_offset;
        let end = end.min(written);
        let mut committed = lock(&self.committed);
        if end > *committed {
            *committed = end;
            self.committed_changed.notify_all();
        }
    }

    fn write_locked(&self, writer: &mut Writer, force_sync: bool) -> Result<()> {
        if writer.pending.is_empty() {
            return if force_sync { self.sync_locked(writer) } else { Ok(()) };
        }
        self.write_buffer(writer)?;
        let sync_now = force_sync
            || match self.settings.fsync {
                FsyncPolicy::EveryCommit => true,
                FsyncPolicy::Interval(interval) => writer.last_sync.elapsed() >= interval,
                FsyncPolicy::Never => false,
            };
        if sync_now {
            self.sync_locked(writer)?;
        }
        self.roll_if_full(writer)
    }

    /// Writes the appended batches to the active segment, unsynced.
    fn write_buffer(&self, writer: &mut Writer) -> Result<()> {
        let active = self.active();
        // Only this writer changes `len`, so it cannot move while we write.
        let pos = active.state().len;
        if let Err(source) = active.file.write_all_at(&writer.buffer, pos) {
            writer.poisoned = true;
            return Err(Error::Io { path: active.path.clone(), source });
        }
        {
            let mut state = active.state_mut();
            for (at, header) in &writer.pending {
                segment::record_batch(
                    &mut state,
                    active.base_offset,
                    pos + *at as u64,
                    header,
                    self.settings.index_interval_bytes,
                );
            }
            state.len = pos + writer.buffer.len() as u64;
            state.next_offset = writer.next_offset;
        }
        writer.buffer.clear();
        writer.pending.clear();
        writer.unsynced = true;
        Ok(())
    }

    /// Seals the active segment once it reached `segment_bytes`.
    fn roll_if_full(&self, writer: &mut Writer) -> Result<()> {
        if self.active().state().len >= self.settings.segment_bytes {
            self.roll(writer)?;
        }
        Ok(())
    }

    /// Forces committed data to stable storage and records the checkpoint.
    ///
    /// # Errors
    /// An fsync failure poisons the partition.
    pub fn sync(&self) -> Result<()> {
        let mut writer = lock(&self.writer);
        self.check_poisoned(&writer)?;
        self.sync_locked(&mut writer)
    }

    fn sync_locked(&self, writer: &mut Writer) -> Result<()> {
        if !writer.unsynced {
            return Ok(());
        }
        let active = self.active();
        if let Err(source) = active.file.sync_data() {
            writer.poisoned = true;
            return Err(Error::Io { path: active.path.clone(), source });
        }
        let state = active.state();
        writer.checkpoint.write(
            Checkpoint {
                segment_base: active.base_offset,
                position: state.len,
                next_offset: state.next_offset,
            },
            false,
        )?;
        writer.last_sync = Instant::now();
        writer.unsynced = false;
        Ok(())
    }

    fn check_poisoned(&self, writer: &Writer) -> Result<()> {
        if writer.poisoned {
            return Err(Error::Poisoned { topic: self.topic.clone(), partition: self.id });
        }
        Ok(())
    }

    fn publish(&self, end: Offset) {
        *lock(&self.committed) = end;
        self.committed_changed.notify_all();
    }

    /// Seals the active segment and starts a new one at the next offset.
    fn roll(&self, writer: &mut Writer) -> Result<()> {
        let active = self.active();
        writer.unsynced = true;
        self.sync_locked(writer)?;
        active.save_sealed_index()?;
        let next = active.state().next_offset;
        let segment = Arc::new(Segment::create(&self.dir, next)?);
        sync_dir(&self.dir)?;
        self.segments.write().unwrap_or_else(|e| e.into_inner()).push(segment);
        writer.unsynced = true;
        self.sync_locked(writer)
    }

    /// One past the last committed offset: readers never see records at or beyond it.
    pub fn committed_end(&self) -> Offset {
        *lock(&self.committed)
    }

    /// The first offset still stored (retention removes older segments).
    pub fn start_offset(&self) -> Offset {
        let segments = self.segments.read().unwrap_or_else(|e| e.into_inner());
        segments.first().map_or(0, |s| s.base_offset)
    }

    /// Waits until the committed end passes `offset` or `timeout` elapses; returns whether
    /// data at `offset` is now readable.
    pub fn wait_for(&self, offset: Offset, timeout: Duration) -> bool {
        let guard = lock(&self.committed);
        let (guard, _) = self
            .committed_changed
            .wait_timeout_while(guard, timeout, |end| *end <= offset)
            .unwrap_or_else(|e| e.into_inner());
        *guard > offset
    }

    /// Reads committed batches containing offsets from `from` on, about `max_bytes` worth
    /// (always at least one batch when one exists). The first batch may start before
    /// `from`: skip records with a smaller offset. An empty result means `from` is the
    /// committed end.
    ///
    /// # Errors
    /// [`Error::OffsetOutOfRange`] if `from` is below the start or past the committed end;
    /// [`Error::Corruption`] naming the file and byte offset if stored data fails its checksum.
    pub fn read(&self, from: Offset, max_bytes: usize) -> Result<Vec<Batch>> {
        let end = self.committed_end();
        let segments = self.segments();
        let start = segments.first().map_or(0, |s| s.base_offset);
        if from < start || from > end {
            return Err(Error::OffsetOutOfRange {
                topic: self.topic.clone(),
                partition: self.id,
                requested: from,
                start,
                end,
            });
        }
        let first = segments.partition_point(|s| s.base_offset <= from).saturating_sub(1);
        for segment in &segments[first..] {
            let batches = segment.read(from, max_bytes)?;
            if !batches.is_empty() {
                return Ok(batches.into_iter().take_while(|b| b.base_offset() < end).collect());
            }
        }
        Ok(Vec::new())
    }

    /// Drops every record at offset `end` and beyond, committed or not: used to roll the
    /// log back to a known state (e.g. the end recorded by the last completed epoch). A
    /// batch that straddles `end` is rewritten with its records below `end`.
    ///
    /// # Errors
    /// [`Error::OffsetOutOfRange`] if `end` is below the start offset.
    pub fn truncate(&self, end: Offset) -> Result<()> {
        let mut writer = lock(&self.writer);
        self.check_poisoned(&writer)?;
        writer.buffer.clear();
        writer.pending.clear();
        let committed = self.committed_end();
        // What is on disk: the committed records plus any flushed but not yet published.
        let written = self.active().state().next_offset;
        writer.next_offset = written;
        if end >= written {
            return Ok(());
        }
        let start = self.start_offset();
        if end < start {
            return Err(Error::OffsetOutOfRange {
                topic: self.topic.clone(),
                partition: self.id,
                requested: end,
                start,
                end: written,
            });
        }
        let active = {
            let mut segments = self.segments.write().unwrap_or_else(|e| e.into_inner());
            // Segments entirely past `end` go; the one holding `end` becomes active again.
            while segments.len() > 1 && segments.last().is_some_and(|s| s.base_offset >= end) {
                if let Some(removed) = segments.pop() {
                    remove_segment_files(&removed)?;
                }
            }
            Arc::clone(segments.last().expect("a partition always has an active segment"))
        };
        let (state, straddling) = active.scan_until(end, self.settings.index_interval_bytes)?;
        let keep: Vec<OwnedRecord> = match straddling {
            Some(header) if header.base_offset < end => active
                .read(header.base_offset, header.total_len)?
                .first()
                .map(|b| b.records().take_while(|r| r.offset < end).map(OwnedRecord::from).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let cut = state.len;
        writer.checkpoint.write(
            Checkpoint { segment_base: active.base_offset, position: cut, next_offset: state.next_offset },
            true,
        )?;
        active.file.set_len(cut).map_err(Error::io(&active.path))?;
        active.file.sync_data().map_err(Error::io(&active.path))?;
        remove_if_exists(&active.index_path())?;
        writer.next_offset = state.next_offset;
        active.install(state);
        if !keep.is_empty() {
            let start = writer.buffer.len();
            let base = writer.next_offset;
            if let Some(header) =
                batch::encode(&mut writer.buffer, base, keep.iter().map(OwnedRecord::as_ref))
            {
                writer.pending.push((start, header));
                writer.next_offset = header.next_offset();
            }
            self.write_locked(&mut writer, true)?;
        }
        self.publish(writer.next_offset.min(committed));
        Ok(())
    }

    /// Removes whole segments that fall outside the topic's retention, oldest first. The
    /// active segment is sealed first if everything in it has expired. `now` is the current
    /// time in milliseconds since the epoch.
    ///
    /// # Errors
    /// I/O errors deleting files.
    pub fn enforce_retention(&self, now: Timestamp) -> Result<RetentionOutcome> {
        let mut outcome = RetentionOutcome::default();
        if self.settings.retention_time.is_none() && self.settings.retention_bytes.is_none() {
            return Ok(outcome);
        }
        let mut writer = lock(&self.writer);
        self.check_poisoned(&writer)?;
        let cutoff = self
            .settings
            .retention_time
            .map(|t| now.saturating_sub(i64::try_from(t.as_millis()).unwrap_or(i64::MAX)));
        let expired = |s: &Segment| cutoff.is_some_and(|c| s.state().max_timestamp < c);
        let active = self.active();
        if active.state().len > 0 && expired(&active) {
            self.roll(&mut writer)?;
        }
        let mut segments = self.segments.write().unwrap_or_else(|e| e.into_inner());
        let mut total: u64 = segments.iter().map(|s| s.state().len).sum();
        while segments.len() > 1 {
            let oldest = &segments[0];
            let len = oldest.state().len;
            let over_size = self.settings.retention_bytes.is_some_and(|limit| total > limit);
            if !(over_size || expired(oldest)) {
                break;
            }
            let removed = segments.remove(0);
            remove_segment_files(&removed)?;
            total -= len;
            outcome.segments_removed += 1;
            outcome.bytes_removed += len;
        }
        Ok(outcome)
    }

    /// Offsets and sizes.
    pub fn stats(&self) -> PartitionStats {
        let segments = self.segments();
        PartitionStats {
            start_offset: segments.first().map_or(0, |s| s.base_offset),
            end_offset: self.committed_end(),
            size_bytes: segments.iter().map(|s| s.state().len).sum(),
            segments: segments.len(),
        }
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        let mut writer = lock(&self.writer);
        if !writer.poisoned
            && let Err(error) = self.sync_locked(&mut writer)
        {
            tracing::warn!(%error, "could not sync partition {}/{} on close", self.topic, self.id);
        }
    }
}

/// An owned copy of a stored record, for rewriting.
struct OwnedRecord {
    key: Option<Vec<u8>>,
    value: Vec<u8>,
    timestamp: Timestamp,
    headers: Vec<eddy_types::Header>,
}

impl OwnedRecord {
    fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            key: self.key.as_deref(),
            value: &self.value,
            timestamp: self.timestamp,
            headers: &self.headers,
        }
    }
}

impl From<batch::StoredRecord<'_>> for OwnedRecord {
    fn from(r: batch::StoredRecord<'_>) -> Self {
        OwnedRecord {
            key: r.key.map(<[u8]>::to_vec),
            value: r.value.to_vec(),
            timestamp: r.timestamp,
            headers: r
                .headers()
                .map(|(name, value)| eddy_types::Header {
                    name: String::from_utf8_lossy(name).into_owned(),
                    value: bytes::Bytes::copy_from_slice(value),
                })
                .collect(),
        }
    }
}

/// Loads a sealed segment: from its index file when that is consistent, else by a full
/// scan. Sealed segments were fsynced before the next one was created, so any damage is
/// corruption of committed data.
fn open_sealed(segment: &Segment, next_base: Offset, index_interval: u64) -> Result<()> {
    let file_len = segment.file_len()?;
    if let Some(sealed) = segment.load_sealed_index()?
        && sealed.next_offset == next_base
    {
        if file_len != sealed.segment_len {
            return Err(Error::Corruption {
                file: segment.path.clone(),
                offset: file_len.min(sealed.segment_len),
                reason: format!("sealed segment is {file_len} bytes, its index says {}", sealed.segment_len),
            });
        }
        let last_indexed = sealed.entries.last().map_or(0, |e| u64::from(e.position));
        segment.install(segment::SegmentState {
            len: sealed.segment_len,
            next_offset: sealed.next_offset,
            max_timestamp: sealed.max_timestamp,
            index: sealed.entries,
            last_indexed,
        });
        return Ok(());
    }
    let scan = segment.scan(index_interval)?;
    if let Some((offset, invalid)) = scan.invalid {
        return Err(Error::Corruption {
            file: segment.path.clone(),
            offset,
            reason: invalid.reason().to_owned(),
        });
    }
    if scan.state.next_offset != next_base {
        return Err(Error::Corruption {
            file: segment.path.clone(),
            offset: scan.state.len,
            reason: format!(
                "segment ends at offset {} but the next segment starts at {next_base}",
                scan.state.next_offset
            ),
        });
    }
    segment.install(scan.state);
    segment.save_sealed_index()
}

/// Scans the active segment: damage before the checkpoint is an error; a bad tail after it
/// is what a crash leaves behind, and is cut off with a warning.
fn recover_active(segment: &Segment, checkpoint: Option<Checkpoint>, index_interval: u64) -> Result<()> {
    let durable = match checkpoint {
        Some(c) if c.segment_base == segment.base_offset => c.position,
        _ => 0,
    };
    let scan = segment.scan(index_interval)?;
    let file_len = segment.file_len()?;
    if let Some((offset, invalid)) = scan.invalid {
        if offset < durable {
            return Err(Error::Corruption {
                file: segment.path.clone(),
                offset,
                reason: format!("{} (inside the {durable} bytes recorded as committed)", invalid.reason()),
            });
        }
        tracing::warn!(
            file = %segment.path.display(),
            offset,
            dropped_bytes = file_len - offset,
            "truncating torn tail: {}",
            invalid.reason()
        );
        segment.file.set_len(offset).map_err(Error::io(&segment.path))?;
        segment.file.sync_data().map_err(Error::io(&segment.path))?;
    }
    if scan.state.len < durable {
        return Err(Error::Corruption {
            file: segment.path.clone(),
            offset: scan.state.len,
            reason: format!("segment is shorter than the {durable} bytes recorded as committed"),
        });
    }
    remove_if_exists(&segment.index_path())?;
    segment.install(scan.state);
    Ok(())
}

fn remove_segment_files(segment: &Segment) -> Result<()> {
    remove_if_exists(&segment.path)?;
    remove_if_exists(&segment.index_path())
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::Io { path: path.to_owned(), source: e })
        }
        _ => Ok(()),
    }
}

/// Makes a directory's entries (created or removed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(Error::io(dir))
}
