//! Event time: milliseconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

/// Event time of a record, in milliseconds since the Unix epoch (UTC).
pub type Timestamp = i64;

/// The wall clock as a [`Timestamp`]. Returns 0 if the clock is set before 1970.
pub fn now_millis() -> Timestamp {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
