//! Reading input as chunks of whole lines, on a background thread.
//!
//! The reader thread appends whatever each read returns to a shared buffer; the consumer
//! takes everything up to the last newline. While the consumer is busy (writing, syncing),
//! input piles up and the next chunk is large; while it waits, every read is handed over
//! at once, so a line typed into a terminal is produced right away.

use std::{
    io::{self, Read},
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread,
};

use indicatif::ProgressBar;

/// Bytes asked for per read.
const READ_BYTES: usize = 1 << 20;
/// The reader pauses while this much complete-line input waits for the consumer.
const MAX_PENDING: usize = 4 << 20;

/// What [`LineChunks::next`] hands out.
#[derive(Debug)]
pub(crate) enum Chunk {
    /// Complete lines, each ending with `\n`.
    Lines(Vec<u8>),
    /// The end of the input: the rest, whose last line may lack its `\n` (possibly empty).
    Last(Vec<u8>),
    /// The input holds a line longer than the limit given to [`LineChunks::spawn`].
    TooLong,
}

#[derive(Default)]
struct State {
    buf: Vec<u8>,
    /// Position of the last `\n` in `buf`.
    last_newline: Option<usize>,
    eof: bool,
    too_long: bool,
    error: Option<io::Error>,
    /// The consumer is gone; the reader should stop.
    closed: bool,
    /// An emptied buffer handed back by the consumer, to reuse its allocation.
    spare: Vec<u8>,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed.wait(guard).unwrap_or_else(|e| e.into_inner())
    }
}

/// Chunks of whole lines read from an input by a background thread.
pub(crate) struct LineChunks {
    shared: Arc<Shared>,
}

impl LineChunks {
    /// Starts reading `input`, counting bytes read on `progress`. A line longer than
    /// `max_line` bytes stops the reading ([`Chunk::TooLong`]).
    pub(crate) fn spawn(
        input: Box<dyn Read + Send>,
        progress: ProgressBar,
        max_line: usize,
    ) -> io::Result<Self> {
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), changed: Condvar::new() });
        let reader = Arc::clone(&shared);
        thread::Builder::new()
            .name("eddy-input".into())
            .spawn(move || read_input(input, &reader, &progress, max_line))?;
        Ok(LineChunks { shared })
    }

    /// Waits for the next chunk.
    ///
    /// # Errors
    /// A read error of the input, after the complete lines read before it.
    pub(crate) fn next(&mut self) -> io::Result<Chunk> {
        let mut state = self.shared.lock();
        loop {
            if state.eof {
                let rest = std::mem::take(&mut state.buf);
                state.last_newline = None;
                return Ok(Chunk::Last(rest));
            }
            if let Some(newline) = state.last_newline.take() {
                let end = newline + 1;
                let mut next = std::mem::take(&mut state.spare);
                next.clear();
                next.extend_from_slice(&state.buf[end..]);
                let mut lines = std::mem::replace(&mut state.buf, next);
                lines.truncate(end);
                self.shared.changed.notify_all();
                return Ok(Chunk::Lines(lines));
            }
            if let Some(error) = state.error.take() {
                return Err(error);
            }
            if state.too_long {
                return Ok(Chunk::TooLong);
            }
            state = self.shared.wait(state);
        }
    }

    /// Hands a processed chunk back so its memory is reused.
    pub(crate) fn recycle(&mut self, mut buf: Vec<u8>) {
        let mut state = self.shared.lock();
        if buf.capacity() > state.spare.capacity() && buf.capacity() <= 2 * (MAX_PENDING + READ_BYTES) {
            buf.clear();
            state.spare = buf;
        }
    }
}

impl Drop for LineChunks {
    fn drop(&mut self) {
        // The reader may be blocked in a read that never returns (a terminal); it is not
        // joined, only told to stop at its next chance.
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
    }
}

fn read_input(mut input: Box<dyn Read + Send>, shared: &Shared, progress: &ProgressBar, max_line: usize) {
    let mut local = vec![0u8; READ_BYTES];
    loop {
        let read = match input.read(&mut local) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                shared.lock().error = Some(e);
                shared.changed.notify_all();
                return;
            }
        };
        progress.inc(read as u64);
        let mut state = shared.lock();
        // Back-pressure: wait while enough whole lines are waiting for the consumer.
        while !state.closed && state.last_newline.is_some() && state.buf.len() >= MAX_PENDING {
            state = shared.wait(state);
        }
        if state.closed {
            return;
        }
        if read == 0 {
            state.eof = true;
            shared.changed.notify_all();
            return;
        }
        let start = state.buf.len();
        state.buf.extend_from_slice(&local[..read]);
        if let Some(i) = memchr::memrchr(b'\n', &local[..read]) {
            state.last_newline = Some(start + i);
        }
        let line_start = state.last_newline.map_or(0, |n| n + 1);
        if state.buf.len() - line_start > max_line {
            state.too_long = true;
            shared.changed.notify_all();
            return;
        }
        shared.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(input: &'static [u8], max_line: usize) -> Vec<Chunk> {
        let mut reader = LineChunks::spawn(Box::new(input), ProgressBar::hidden(), max_line).unwrap();
        let mut out = Vec::new();
        loop {
            let chunk = reader.next().unwrap();
            let done = !matches!(chunk, Chunk::Lines(_));
            out.push(chunk);
            if done {
                return out;
            }
        }
    }

    fn joined(chunks: &[Chunk]) -> Vec<u8> {
        chunks
            .iter()
            .flat_map(|c| match c {
                Chunk::Lines(b) | Chunk::Last(b) => b.clone(),
                Chunk::TooLong => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn chunks_hold_whole_lines_and_the_rest_comes_last() {
        let out = chunks(b"a\nbb\nccc", 100);
        assert_eq!(joined(&out), b"a\nbb\nccc");
        for chunk in &out[..out.len() - 1] {
            assert!(matches!(chunk, Chunk::Lines(b) if b.ends_with(b"\n")));
        }
        assert!(matches!(out.last(), Some(Chunk::Last(b)) if b.ends_with(b"ccc")));
    }

    #[test]
    fn a_line_over_the_limit_stops_reading() {
        let out = chunks(b"ok\nthis line is far too long", 10);
        assert!(matches!(&out[0], Chunk::Lines(b) if b == b"ok\n"));
        assert!(matches!(out.last(), Some(Chunk::TooLong)));
    }
}
