//! What can go wrong building a dataflow's functions: [`Error`], and [`CodeError`], a
//! problem in one snippet, placed in the dataflow file.

use std::fmt;
use std::path::PathBuf;

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The dataflow file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The dataflow file is not YAML or does not fit the model.
    #[error("{0}")]
    Dataflow(#[from] eddy_dataflow::Diagnostics),
    /// Writing the generated code or the components failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `cargo` could not be run.
    #[error(
        "cannot run `{cargo}` ({reason}), which compiles the dataflow's Rust functions: install Rust \
         (https://rustup.rs), then run `rustup target add {target}`"
    )]
    CargoMissing {
        /// The command tried.
        cargo: String,
        /// Why it could not run.
        reason: String,
        /// The target the functions are compiled for.
        target: String,
    },
    /// The toolchain lacks the WebAssembly target.
    #[error(
        "the Rust target `{target}` is not installed (looked in {sysroot}/lib/rustlib), so the dataflow's \
         Rust functions cannot be compiled: run `rustup target add {target}`"
    )]
    TargetMissing {
        /// The target.
        target: String,
        /// The toolchain's sysroot, as `rustc --print sysroot` said.
        sysroot: String,
    },
    /// Snippets that do not compile, or cannot be compiled; each names its place in the file.
    #[error("{}", lines(.0))]
    Code(Vec<CodeError>),
    /// cargo failed for a reason that is not in a snippet (a dependency that cannot be
    /// fetched, a broken toolchain).
    #[error("`cargo build` in {} failed ({status}):\n{output}", dir.display())]
    Cargo {
        /// The generated workspace.
        dir: PathBuf,
        /// cargo's exit status.
        status: String,
        /// What cargo printed (its errors).
        output: String,
    },
}

fn lines(errors: &[CodeError]) -> String {
    errors.iter().map(CodeError::to_string).collect::<Vec<_>>().join("\n")
}

/// A problem in one `run:` snippet, placed in the dataflow file (or in a package function
/// a `uses:` step runs, placed in the package's file):
///
/// ```text
/// dataflow.yaml:23:15: services.hot.transforms[0].run: error[E0425]: cannot find value `x` in this scope
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeError {
    /// The dataflow file, as given.
    pub file: String,
    /// 1-based line in the file; 0 when the problem has no single place.
    pub line: usize,
    /// 1-based column in the file.
    pub column: usize,
    /// The step (`services.hot.transforms[0]`), or the section (`types`).
    pub origin: String,
    /// What the error is reported on: `services.hot.transforms[0].run`, `types`, or a
    /// package function's field (`functions.shout.run (package acme/text@0.1.0, used by
    /// services.hot.transforms[0])`).
    pub field: String,
    /// The compiler's error code (`E0425`), if any.
    pub code: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl CodeError {
    /// A problem with a section rather than a place.
    pub(crate) fn whole_file(file: &str, origin: &str, message: String) -> Self {
        CodeError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            origin: origin.to_owned(),
            field: origin.to_owned(),
            code: None,
            message,
        }
    }
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}: ", self.file, self.field)?,
            line => write!(f, "{}:{line}:{}: {}: ", self.file, self.column, self.field)?,
        }
        match &self.code {
            Some(code) => write!(f, "error[{code}]: {}", self.message),
            None => write!(f, "error: {}", self.message),
        }
    }
}
