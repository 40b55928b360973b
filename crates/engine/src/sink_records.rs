//! The records a worker buffers for one sink partition during an epoch, in blocks of a
//! fixed number of records.
//!
//! ```text
//!  worker: push ──▶ [block 4096] [block 4096] [block …]  ── snapshot ──▶ committer
//!            ▲                                                              │
//!            └────── Blocks: emptied blocks, taken again ◀── one batch per block written
//! ```
//!
//! The committer writes each block as one log batch and hands it back emptied; a worker
//! takes a spare block before allocating one. A buffer never grows by copying itself into
//! new memory, and in a steady run the blocks are reused rather than allocated anew (fresh
//! memory is pages the system has to zero).

use eddy_types::Record;

use crate::spare::Spare;

/// Records per block: also the records of one log batch.
pub(crate) const BLOCK_RECORDS: usize = 4096;

/// Emptied blocks kept for reuse, at most (about 100 MB of `Record`s).
const MAX_SPARE_BLOCKS: usize = 256;

/// One sink partition's records of an epoch, in order.
#[derive(Debug, Default)]
pub(crate) struct SinkRecords {
    /// Full blocks but the last.
    blocks: Vec<Vec<Record>>,
    len: usize,
}

impl SinkRecords {
    /// Adds a record at the end, taking a block from `spare` when the last is full.
    pub(crate) fn push(&mut self, record: Record, spare: &Blocks) {
        match self.blocks.last_mut() {
            Some(block) if block.len() < BLOCK_RECORDS => block.push(record),
            _ => {
                let mut block = spare.take();
                block.push(record);
                self.blocks.push(block);
            }
        }
        self.len += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The blocks, in order, each at most [`BLOCK_RECORDS`] records.
    pub(crate) fn into_blocks(self) -> impl Iterator<Item = Vec<Record>> {
        self.blocks.into_iter()
    }
}

/// Emptied blocks, shared by the committer (which returns them) and the workers (which
/// take them).
pub(crate) type Blocks = Spare<Record, BLOCK_RECORDS, MAX_SPARE_BLOCKS>;

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: usize) -> Record {
        Record::new(None::<Vec<u8>>, i.to_string(), 0)
    }

    #[test]
    fn records_come_out_in_order_in_full_blocks() {
        let spare = Blocks::default();
        let mut records = SinkRecords::default();
        assert!(records.is_empty());
        let count = BLOCK_RECORDS * 2 + 5;
        for i in 0..count {
            records.push(record(i), &spare);
        }
        assert_eq!(records.len(), count);
        let blocks: Vec<Vec<Record>> = records.into_blocks().collect();
        let sizes: Vec<usize> = blocks.iter().map(Vec::len).collect();
        assert_eq!(sizes, [BLOCK_RECORDS, BLOCK_RECORDS, 5]);
        let values: Vec<Record> = blocks.into_iter().flatten().collect();
        assert_eq!(values, (0..count).map(record).collect::<Vec<_>>());
    }
}
