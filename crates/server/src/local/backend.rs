//! The seam between the protocol and the process that serves it.

use std::ops::Range;

use eddy_types::{Offset, PartitionId, Record};

/// What a serving process offers its local clients. The engine implements it; so does
/// [`testing::LogBackend`](super::testing::LogBackend), over a plain log.
///
/// Every method may be called from many connection threads at once.
pub trait Backend: Send + Sync + 'static {
    /// The log, for reads (consume, topic list and describe) and topic admin (create,
    /// delete, retention after a produce).
    fn log(&self) -> &eddy_log::Log;

    /// Appends `records` to a partition as one batch and returns, once they are durable
    /// and visible to readers, the offsets they got. In the engine this goes through its
    /// commit thread: an implementation never appends to the log behind the engine's back.
    ///
    /// # Errors
    /// An unknown topic or partition, a batch too large, a failed write.
    fn produce(
        &self,
        topic: &str,
        partition: PartitionId,
        records: Vec<Record>,
    ) -> Result<Range<Offset>, BackendError>;

    /// The committed value of `key` in state `state` of service `service`, as JSON;
    /// `None` if the key has no value.
    ///
    /// # Errors
    /// [`BackendError::UnknownState`] if the service has no such state.
    fn state_get(
        &self,
        service: &str,
        state: &str,
        key: &[u8],
    ) -> Result<Option<serde_json::Value>, BackendError>;

    /// Every committed entry of a state, ordered by key.
    ///
    /// # Errors
    /// [`BackendError::UnknownState`] if the service has no such state.
    fn state_list(
        &self,
        service: &str,
        state: &str,
    ) -> Result<Vec<(Vec<u8>, serde_json::Value)>, BackendError>;
}

/// Why a [`Backend`] refused a request. The client shows its message as it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The log refused.
    #[error(transparent)]
    Log(#[from] eddy_log::Error),
    /// No state of that name in that service.
    #[error("service '{service}' has no state '{state}'")]
    UnknownState {
        /// The service asked for.
        service: String,
        /// The state asked for.
        state: String,
    },
    /// Anything else, with the message to show.
    #[error("{0}")]
    Other(String),
}
