//! How the host runs components: where compiled code is cached, and how much fuel and memory
//! one call may use.

use std::path::PathBuf;

/// The host's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Directory of the on-disk cache of compiled components, keyed by a hash of the
    /// component's bytes, the wasmtime version and the engine's settings. `None` compiles
    /// every load. Default: `None`; the runtime passes `<data-dir>/wasm-cache`.
    pub cache_dir: Option<PathBuf>,
    /// Fuel each call gets, about one unit per WebAssembly instruction; a call that uses it
    /// all fails with [`crate::CallError::OutOfFuel`]. A batch call gets this much per record.
    /// Default: 1 000 000 000 (around a second of work).
    pub fuel_per_call: u64,
    /// Most linear memory an instance may have, in bytes; growing past it fails the call
    /// with [`crate::CallError::MemoryLimit`]. Default: 64 MiB.
    pub memory_limit: u64,
    /// Most stack WebAssembly code may use, in bytes; deeper recursion traps. Default: 512 KiB.
    pub max_wasm_stack: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cache_dir: None,
            fuel_per_call: 1_000_000_000,
            memory_limit: 64 << 20,
            max_wasm_stack: 512 << 10,
        }
    }
}
