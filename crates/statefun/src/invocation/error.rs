//! [`ProtocolError`]: a function's reply that breaks the protocol, or an engine call out of order.

use crate::address::Address;

/// What is wrong with a function's reply.
///
/// None of these is retryable: the same request gets the same reply. The batch stays in flight
/// ([`super::Invocations::in_flight`]), so the engine can fail the epoch and resend it after a
/// restart once the function is fixed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A reply arrived for an address with nothing in flight.
    #[error("a reply for `{0}` arrived, but no request is in flight for it")]
    NotInFlight(Address),
    /// The reply holds neither an invocation result nor an incomplete-context answer.
    #[error(
        "the reply from `{address}` is empty: neither `invocation_result` nor `incomplete_invocation_context`"
    )]
    EmptyReply {
        /// The address invoked.
        address: Address,
    },
    /// The reply changes a state the function never declared.
    #[error(
        "the function at `{address}` changed state `{state}`, which it never declared; declare it with a ValueSpec"
    )]
    UndeclaredState {
        /// The address invoked.
        address: Address,
        /// The state named.
        state: String,
    },
    /// A state value of a type other than the declared one.
    #[error(
        "the function at `{address}` wrote state `{state}` as `{found}`, but it is declared as `{declared}`"
    )]
    WrongTypename {
        /// The address invoked.
        address: Address,
        /// The state named.
        state: String,
        /// The declared typename.
        declared: String,
        /// The typename written.
        found: String,
    },
    /// A state declared again with another type.
    #[error(
        "the function type `{function_type}` declares state `{state}` as `{found}`, but it was registered as `{registered}`; state types cannot change"
    )]
    StateTypeChanged {
        /// The function type.
        function_type: String,
        /// The state named.
        state: String,
        /// The typename registered first.
        registered: String,
        /// The typename now declared.
        found: String,
    },
    /// The function asks again for states that were shipped.
    #[error(
        "the function at `{address}` reports state `{state}` missing although the request carried it; the endpoint may serve another version of the function"
    )]
    HandshakeLoop {
        /// The address invoked.
        address: Address,
        /// A state reported missing.
        state: String,
    },
    /// A malformed part of the reply.
    #[error("the reply from `{address}` is malformed: {reason}")]
    Malformed {
        /// The address invoked.
        address: Address,
        /// What is wrong.
        reason: String,
    },
}
