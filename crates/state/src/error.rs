//! Errors of the state store.

use std::path::{Path, PathBuf};

/// Result type of the state store.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the state store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another open store (in this or another process) holds the directory.
    #[error(
        "state directory {} is in use by another Eddy process (or already open in this one); \
         stop that process or use another data directory",
        path.display()
    )]
    InUse {
        /// The store's directory.
        path: PathBuf,
    },
    /// An earlier write failed to reach the disk, so the store refuses further writes.
    #[error(
        "an earlier write to the state store in {} failed to reach the disk; it refuses further \
         writes: restart to resume from the last committed epoch",
        path.display()
    )]
    Poisoned {
        /// The store's directory.
        path: PathBuf,
    },
    /// The storage engine failed (I/O error, damaged files, ...).
    #[error("state store in {}: {source}", path.display())]
    Storage {
        /// The store's directory.
        path: PathBuf,
        /// The storage engine's error.
        #[source]
        source: fjall::Error,
    },
    /// A stored value or key does not have the shape this version writes.
    #[error(
        "state store in {}: corrupt {what}: {reason}; restore the data directory from a backup \
         or delete it to start over",
        path.display()
    )]
    Corrupt {
        /// The store's directory.
        path: PathBuf,
        /// Which entry is damaged.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The directory was written by a different, unknown format version.
    #[error(
        "state store in {} has format version {found}, this Eddy reads version {supported}; \
         use a matching Eddy or delete the data directory to start over",
        path.display()
    )]
    UnsupportedFormat {
        /// The store's directory.
        path: PathBuf,
        /// The version found on disk.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A commit's epoch is not after the last committed one.
    #[error("epoch {epoch} cannot be committed: epoch {last} is already committed and epochs must increase")]
    EpochNotAfter {
        /// The rejected batch's epoch.
        epoch: u64,
        /// The last committed epoch.
        last: u64,
    },
    /// A state key is longer than the storage engine accepts.
    #[error(
        "key of {len} bytes in state '{state}' of service '{service}' is too long: with the names \
         it may be at most {limit} bytes"
    )]
    KeyTooLong {
        /// The service.
        service: String,
        /// The state.
        state: String,
        /// Length of the stored key (names and raw key).
        len: usize,
        /// The storage engine's limit on stored keys.
        limit: usize,
    },
    /// A value, or the names in a metadata key, are longer than the storage engine accepts.
    #[error("{what} is {len} bytes long, more than the {limit} bytes the state store accepts")]
    TooLarge {
        /// What is too large.
        what: String,
        /// Its length.
        len: usize,
        /// The limit.
        limit: usize,
    },
}

impl Error {
    /// Maps a fjall error on the store in `path`, singling out the lock and poison errors.
    pub(crate) fn fjall(path: &Path, source: fjall::Error) -> Error {
        let path = path.to_path_buf();
        match source {
            fjall::Error::Locked => Error::InUse { path },
            fjall::Error::Poisoned => Error::Poisoned { path },
            source => Error::Storage { path, source },
        }
    }

    /// A [`Error::Corrupt`] of the store in `path`.
    pub(crate) fn corrupt(path: &Path, what: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Corrupt { path: path.to_path_buf(), what: what.into(), reason: reason.into() }
    }
}
