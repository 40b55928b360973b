//! What can go wrong: [`Error`] when setting up the host or loading a component (the
//! dataflow cannot start), [`CallError`] when running one record (that record fails, the
//! runtime goes on).

use std::path::PathBuf;

/// A failure to set up the host or to load a component.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The wasmtime engine could not be configured.
    #[error("could not set up the WebAssembly engine: {0}")]
    Engine(String),
    /// The compilation cache could not be set up in its directory.
    #[error("could not use `{}` as the WebAssembly compilation cache: {reason}", dir.display())]
    Cache {
        /// The cache directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// A component file could not be read.
    #[error("could not read the component `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a valid WebAssembly component (a core module, say, or garbage).
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// The component exports neither form of the operator function the dataflow asks for.
    #[error(
        "the component does not export `{export}` nor `{batch}`: a {operator} operator needs one of \
         them (see world `{operator}` in eddy:dataflow); it exports: {found}"
    )]
    MissingExport {
        /// The operator kind, as in the dataflow file.
        operator: &'static str,
        /// The single-record export looked for.
        export: String,
        /// The batch export looked for.
        batch: String,
        /// What the component exports instead.
        found: String,
    },
    /// The component exports the function with another signature.
    #[error("the component's export `{export}` has the wrong type: expected `{expected}` ({reason})")]
    WrongSignature {
        /// The export.
        export: String,
        /// The signature the operator needs, in WIT.
        expected: &'static str,
        /// What wasmtime found different.
        reason: String,
    },
    /// The component imports something the host does not provide.
    #[error(
        "the component imports `{import}`, which Eddy does not provide: components may import \
         `eddy:dataflow/state` (and WASI interfaces, which fail when called)"
    )]
    UnknownImport {
        /// The import's name.
        import: String,
    },
    /// The component does not export both functions of the world `eddy:function/function`.
    #[error(
        "the component is not a stateful function: the world `function` of eddy:function exports \
         {expected}; it exports: {found}"
    )]
    NotAFunction {
        /// The exports needed, in WIT.
        expected: &'static str,
        /// What the component exports instead.
        found: String,
    },
    /// A stateful function's `states` export failed.
    #[error("the function's `states` export failed: {0}")]
    FunctionStates(CallError),
    /// The component's imports of `eddy:dataflow` do not match this host's.
    #[error("the component's imports do not match Eddy's `eddy:dataflow` interfaces: {0}")]
    ImportMismatch(String),
}

/// Why one call (one record, or one batch) failed. The pool has replaced its instance when
/// [`CallError::replaced_instance`] says so; the next call works on a fresh one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The component returned `err(message)`.
    #[error("the component returned an error: {0}")]
    Returned(String),
    /// The component trapped (a panic, an `unreachable`, a division by zero, a call to an
    /// import Eddy does not provide...).
    #[error("the component trapped: {0}")]
    Trapped(String),
    /// The component called a function Eddy does not provide: a WASI function its
    /// toolchain linked in.
    #[error(
        "the component called `{import}`, which Eddy does not provide: components run without \
         WASI (a Rust component does this when it panics, to print the message: return an `Err` \
         instead)"
    )]
    UnprovidedImport {
        /// The function, as `interface#name`.
        import: String,
    },
    /// The call used up its fuel: a loop that does not end, or more work than one record
    /// should take.
    #[error(
        "the component ran out of fuel ({fuel} units; an endless loop?): raise the fuel per call \
         if the work is legitimate"
    )]
    OutOfFuel {
        /// The fuel each call gets.
        fuel: u64,
    },
    /// The component tried to grow its memory past the limit.
    #[error(
        "the component needed {wanted} bytes of memory, over its limit of {limit} bytes: raise \
         the memory limit if the work is legitimate"
    )]
    MemoryLimit {
        /// The memory size it asked for.
        wanted: u64,
        /// The limit.
        limit: u64,
    },
    /// A fresh instance could not be created.
    #[error("could not instantiate the component: {0}")]
    Instantiate(String),
    /// The operator was called the wrong way: records to a `flush`, a window to another kind.
    #[error("a {operator} operator cannot be run with `{call}`")]
    WrongCall {
        /// The operator's kind.
        operator: &'static str,
        /// The method used.
        call: &'static str,
    },
    /// A batch call returned a different number of results than it got records; every
    /// record of the batch fails with this.
    #[error("the component's batch call returned {got} results for {expected} records")]
    BatchLength {
        /// Records in the batch.
        expected: usize,
        /// Results returned.
        got: usize,
    },
    /// A batch call's result for this record is unreadable: a span outside what the call
    /// returned. The other records of the batch keep their results.
    #[error(
        "the component's batch call returned a malformed result for record {index} of the batch: {reason}"
    )]
    MalformedResult {
        /// The record's position in the batch, from 0.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
}

impl CallError {
    /// Whether the failure discarded the instance: a trap, fuel or memory; the next call
    /// runs on a fresh one.
    pub fn replaced_instance(&self) -> bool {
        matches!(
            self,
            CallError::Trapped(_)
                | CallError::UnprovidedImport { .. }
                | CallError::OutOfFuel { .. }
                | CallError::MemoryLimit { .. }
        )
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
