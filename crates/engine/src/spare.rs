//! Emptied vectors kept for reuse across threads: the thread that empties one (the committer
//! after writing a block of sink records, a worker after handling a peer's records) gives
//! it back, and the thread that fills one takes it before allocating.
//!
//! Memory freed on one thread and allocated on another is fresh memory to the allocator,
//! pages it has to set up (and the system to zero) again; a vector passed back keeps its
//! capacity instead, and a full vector never grows by copying itself.

use std::sync::{Mutex, MutexGuard};

/// Empty vectors of room for `CAPACITY` items, at most `KEEP` of them kept.
#[derive(Debug)]
pub(crate) struct Spare<T, const CAPACITY: usize, const KEEP: usize> {
    spare: Mutex<Vec<Vec<T>>>,
}

impl<T, const CAPACITY: usize, const KEEP: usize> Default for Spare<T, CAPACITY, KEEP> {
    fn default() -> Self {
        Spare { spare: Mutex::new(Vec::new()) }
    }
}

impl<T, const CAPACITY: usize, const KEEP: usize> Spare<T, CAPACITY, KEEP> {
    /// An empty vector with room for `CAPACITY` items.
    pub(crate) fn take(&self) -> Vec<T> {
        self.lock().pop().unwrap_or_else(|| Vec::with_capacity(CAPACITY))
    }

    /// Keeps `items`, emptied, for [`take`](Self::take) (unless it is smaller than
    /// `CAPACITY` or `KEEP` are kept already).
    pub(crate) fn give_back(&self, mut items: Vec<T>) {
        if items.capacity() < CAPACITY {
            return;
        }
        items.clear();
        let mut spare = self.lock();
        if spare.len() < KEEP {
            spare.push(items);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Vec<T>>> {
        self.spare.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vector_given_back_is_taken_again_empty_and_small_ones_are_not_kept() {
        let spare: Spare<u32, 8, 1> = Spare::default();
        let mut items = spare.take();
        assert!(items.capacity() >= 8);
        items.push(1);
        let at = items.as_ptr();
        spare.give_back(items);
        let again = spare.take();
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), at);
        spare.give_back(Vec::with_capacity(2));
        assert!(spare.take().capacity() >= 8, "a vector too small is not kept");
        spare.give_back(Vec::with_capacity(8));
        spare.give_back(Vec::with_capacity(8));
        assert_eq!(spare.lock().len(), 1, "no more than KEEP are kept");
    }
}
