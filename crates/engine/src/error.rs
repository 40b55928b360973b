//! The engine's errors.

use std::path::PathBuf;

/// What stops the engine from starting or running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The event log failed.
    #[error(transparent)]
    Log(#[from] eddy_log::Error),
    /// The state store failed.
    #[error(transparent)]
    State(#[from] eddy_state::Error),
    /// A topic exists with another partition count than the dataflow declares.
    #[error(
        "topic '{topic}' exists with {existing} partitions but the dataflow declares {declared}; \
         delete it (`eddy topic delete {topic}`) or declare {existing}"
    )]
    PartitionMismatch {
        /// The topic.
        topic: String,
        /// Partitions it has.
        existing: u32,
        /// Partitions the dataflow declares.
        declared: u32,
    },
    /// A generator source's settings differ from those its committed positions were made
    /// under: resuming would make a different stream.
    #[error(
        "source '{source_name}' of service '{service}' has committed positions made with other settings \
         ({committed}; now {now}); give the source a new `id` to start it over, or restore its settings"
    )]
    SourceChanged {
        /// The service.
        service: String,
        /// The source (`nexmark:<id>`).
        source_name: String,
        /// The settings the positions were committed under.
        committed: String,
        /// The settings in the file.
        now: String,
    },
    /// A topic is neither declared by the running dataflow nor present in the log.
    #[error("unknown topic '{0}'")]
    UnknownTopic(String),
    /// A worker thread or the committer stopped unexpectedly.
    #[error("engine failure: {0}")]
    Internal(String),
    /// The engine is shutting down or has stopped.
    #[error("the dataflow is not running")]
    Stopped,
    /// A WebAssembly component could not be loaded or does not fit its step.
    #[error("{0}")]
    Wasm(String),
    /// A thread could not be started.
    #[error("cannot start thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The state directory could not be prepared.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
