//! [`Error`]: why a module stopped or could not start.

use eddy_statefun::{Address, ProtocolError};

/// Why the runtime failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The log failed.
    #[error(transparent)]
    Log(#[from] eddy_log::Error),
    /// The state store failed.
    #[error(transparent)]
    State(#[from] eddy_state::Error),
    /// Rolling the egress topics back to the last committed epoch failed.
    #[error("cannot roll back the uncommitted epoch: {0}")]
    RollBack(#[from] eddy_engine::Error),
    /// A call to a function failed for good (the HTTP client retries until the endpoint's
    /// call timeout first). The batch stays in flight in the last committed epoch: it is sent
    /// again when the module runs again.
    #[error("the call to function `{address}` failed: {reason}")]
    Call {
        /// The address invoked.
        address: Address,
        /// What the client said.
        reason: String,
    },
    /// A WebAssembly component of the module cannot serve its functions.
    #[error("the component `{}`: {reason}", component.display())]
    Wasm {
        /// The component file.
        component: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A function's reply broke the protocol.
    #[error(transparent)]
    Protocol(#[from] Box<ProtocolError>),
    /// A function sent a message to an egress the module does not declare.
    #[error("function `{address}` sent a message to egress `{egress}`, which the module does not declare")]
    UnknownEgress {
        /// The sender.
        address: Address,
        /// The egress it named.
        egress: String,
    },
    /// A function sent an egress a value it cannot read.
    #[error("function `{address}` sent egress `{egress}` a value it cannot use: {reason}")]
    BadEgressValue {
        /// The sender.
        address: Address,
        /// The egress.
        egress: String,
        /// Why the value is refused.
        reason: String,
    },
    /// Something the runtime stored cannot be read back.
    #[error("the stored {what} cannot be read: {reason}")]
    Corrupt {
        /// What was read.
        what: String,
        /// Why it is refused.
        reason: String,
    },
    /// The module asks for something this runtime does not do.
    #[error("{0}")]
    Unsupported(String),
    /// A thread or the async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Start(std::io::Error),
    /// A playground port cannot be listened on.
    #[error("cannot listen on port {port} for the playground ingress or egress: {source}")]
    Listen {
        /// The port.
        port: u16,
        /// Why.
        source: std::io::Error,
    },
    /// A message for a function type no function of the running module serves.
    #[error("no function of the running module serves `{function_type}`")]
    Unserved {
        /// The type asked for.
        function_type: eddy_statefun::FunctionType,
    },
    /// A bug: something that cannot happen did.
    #[error("internal error: {0}")]
    Internal(String),
    /// The runtime stopped because another part of it failed.
    #[error("the functions runtime stopped")]
    Stopped,
}

/// A result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
