//! The memory limit of one instance, as a wasmtime [`ResourceLimiter`] that remembers what
//! it refused, so a failed call can say it ran out of memory rather than "trapped".

use wasmtime::ResourceLimiter;

/// Refuses to grow a memory past `limit` bytes; a refusal traps the guest at once (rather
/// than returning -1 from `memory.grow`, which most guests turn into an opaque abort).
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    limit: u64,
    refused: Option<u64>,
}

/// Most elements a table may have (function tables of ordinary components have a few
/// hundred).
const TABLE_ELEMENTS_LIMIT: usize = 100_000;

/// The error a refused growth traps with.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit} bytes exceeded: {wanted} bytes requested")]
pub(crate) struct MemoryLimitExceeded {
    limit: u64,
    wanted: u64,
}

impl MemoryLimiter {
    pub(crate) fn new(limit: u64) -> Self {
        MemoryLimiter { limit, refused: None }
    }

    /// The size of the last refused growth, if any; clears it.
    pub(crate) fn take_refused(&mut self) -> Option<u64> {
        self.refused.take()
    }

    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let wanted = u64::try_from(desired).unwrap_or(u64::MAX);
        if wanted > self.limit {
            self.refused = Some(wanted);
            return Err(MemoryLimitExceeded { limit: self.limit, wanted }.into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= TABLE_ELEMENTS_LIMIT)
    }
}
