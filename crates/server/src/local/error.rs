//! Errors of the local protocol, on both ends.

use std::path::PathBuf;

/// Result type of the local protocol.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong serving or using a data directory locally.
///
/// Failures of the socket are kept as text, never as an `io::Error` source: a broken pipe
/// to the serving process must not look like a closed stdout to the CLI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The log refused (reading it in-process).
    #[error(transparent)]
    Log(#[from] eddy_log::Error),
    /// The serving process refused the request; the message is the one to show.
    #[error("{0}")]
    Remote(String),
    /// The socket cannot be created.
    #[error("cannot listen on {}: {reason}", path.display())]
    Bind {
        /// The socket file.
        path: PathBuf,
        /// What the operating system said.
        reason: String,
    },
    /// Another live process already listens on the socket.
    #[error("another process already serves {}", path.display())]
    AlreadyServed {
        /// The socket file.
        path: PathBuf,
    },
    /// The connection to the serving process failed or broke.
    #[error("{0}")]
    Connection(String),
    /// The other end did not follow the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Connection threads of a server panicked (found at shutdown).
    #[error("{0} connection thread(s) panicked")]
    Panicked(usize),
}

/// `error` and its causes joined with ": ", skipping a cause whose text its parent already
/// includes (some errors print their source as part of their own message). The CLI prints
/// errors this way, and the server sends them this way, so both read the same.
pub fn error_message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = String::new();
    let mut cause = Some(error);
    while let Some(error) = cause {
        let text = error.to_string();
        if !message.ends_with(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        cause = error.source();
    }
    message
}
