//! The partition checkpoint: how much of the active segment is known to be on stable storage.
//!
//! Written after each fsync of the active segment, so it never claims more than the disk
//! holds. On open, damage *before* the checkpoint is corruption of committed data (an
//! error); damage after it is a torn tail from a crash (truncated with a warning).
//!
//! ```text
//! offset  size  field
//!      0     8  segment_base   base offset of the segment the position refers to
//!      8     8  position       bytes of that segment known durable
//!     16     8  next_offset    one past the last durable offset
//!     24     4  crc            CRC32C of bytes 0..24
//!     28     4  zero
//! ```

use std::{
    fs::{File, OpenOptions},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
};

use eddy_types::Offset;

use crate::{Error, Result};

const LEN: usize = 32;

/// A durable position in a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Checkpoint {
    pub(crate) segment_base: Offset,
    pub(crate) position: u64,
    pub(crate) next_offset: Offset,
}

/// The open checkpoint file of one partition.
#[derive(Debug)]
pub(crate) struct CheckpointFile {
    path: PathBuf,
    file: File,
}

impl CheckpointFile {
    /// Opens (creating if needed) the checkpoint in `dir` and reads it. A missing, short or
    /// damaged checkpoint reads as `None`: the whole active segment is then treated as tail.
    pub(crate) fn open(dir: &Path) -> Result<(CheckpointFile, Option<Checkpoint>)> {
        let path = dir.join("checkpoint");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(Error::io(&path))?;
        let mut buf = [0u8; LEN];
        let checkpoint = match file.read_exact_at(&mut buf, 0) {
            Ok(()) => decode(&buf),
            Err(_) => None,
        };
        Ok((CheckpointFile { path, file }, checkpoint))
    }

    /// Overwrites the checkpoint. With `durable`, also fsyncs it (needed before shrinking
    /// a segment below the previous checkpoint).
    pub(crate) fn write(&self, checkpoint: Checkpoint, durable: bool) -> Result<()> {
        self.file.write_all_at(&encode(checkpoint), 0).map_err(Error::io(&self.path))?;
        if durable {
            self.file.sync_data().map_err(Error::io(&self.path))?;
        }
        Ok(())
    }
}

fn encode(c: Checkpoint) -> [u8; LEN] {
    let mut buf = [0u8; LEN];
    buf[0..8].copy_from_slice(&c.segment_base.to_le_bytes());
    buf[8..16].copy_from_slice(&c.position.to_le_bytes());
    buf[16..24].copy_from_slice(&c.next_offset.to_le_bytes());
    let crc = crc32c::crc32c(&buf[..24]);
    buf[24..28].copy_from_slice(&crc.to_le_bytes());
    buf
}

fn decode(buf: &[u8; LEN]) -> Option<Checkpoint> {
    let u64_at = |at: usize| u64::from_le_bytes(buf[at..at + 8].try_into().unwrap_or([0; 8]));
    let crc = u32::from_le_bytes([buf[24], buf[25], buf[26], buf[27]]);
    (crc32c::crc32c(&buf[..24]) == crc).then(|| Checkpoint {
        segment_base: u64_at(0),
        position: u64_at(8),
        next_offset: u64_at(16),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trips_and_damage_reads_as_none() {
        let c = Checkpoint { segment_base: 10, position: 4096, next_offset: 77 };
        let buf = encode(c);
        assert_eq!(decode(&buf), Some(c));
        let mut damaged = buf;
        damaged[9] ^= 4;
        assert_eq!(decode(&damaged), None);
    }
}
