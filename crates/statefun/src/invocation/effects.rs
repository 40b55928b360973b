//! [`Effects`]: what a function's `InvocationResponse` asks for, checked against the declared
//! states and turned into plain data for the engine to apply and commit.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::ProtocolError;
use crate::address::{Address, TypeName};
use crate::proto::reqreply::from_function::{self, persisted_value_mutation::MutationType};
use crate::state_spec::StateSpec;
use crate::value::TypedValue;

/// The effects of one batch, for the engine to apply atomically with the epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effects {
    /// State changes of the invoked address, in reply order.
    pub state: Vec<StateChange>,
    /// Messages to functions; the invoked address is their caller.
    pub messages: Vec<OutgoingMessage>,
    /// Delayed messages and cancellations, in reply order.
    pub delayed: Vec<Delayed>,
    /// Messages to egresses.
    pub egress: Vec<EgressMessage>,
}

/// A change to one state value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    /// The state's name.
    pub name: String,
    /// The new value, or `None` to delete it.
    pub value: Option<TypedValue>,
}

/// A message to a function instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// The receiver.
    pub target: Address,
    /// The payload.
    pub argument: TypedValue,
}

/// A delayed message, or the cancellation of one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delayed {
    /// Deliver `message` after `delay`.
    Send {
        /// How long to wait.
        delay: Duration,
        /// The message.
        message: OutgoingMessage,
        /// The token that cancels it, if any.
        cancellation_token: Option<String>,
    },
    /// Drop the pending delayed message with this token, if it is still pending
    /// (a message already delivered is not affected).
    Cancel {
        /// The token.
        cancellation_token: String,
    },
}

/// A message to an egress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EgressMessage {
    /// The egress id, as declared in the module.
    pub egress: TypeName,
    /// The payload.
    pub argument: TypedValue,
}

impl Effects {
    /// Checks and converts a response for `address`, whose declared states are `specs`.
    pub(crate) fn from_response(
        address: &Address,
        specs: &BTreeMap<String, StateSpec>,
        response: from_function::InvocationResponse,
    ) -> Result<Self, ProtocolError> {
        let malformed = |reason: String| ProtocolError::Malformed { address: address.clone(), reason };
        let mut effects = Effects::default();
        for mutation in response.state_mutations {
            let spec = specs.get(&mutation.state_name).ok_or_else(|| ProtocolError::UndeclaredState {
                address: address.clone(),
                state: mutation.state_name.clone(),
            })?;
            let value = match MutationType::try_from(mutation.mutation_type) {
                Ok(MutationType::Delete) => None,
                Ok(MutationType::Modify) => {
                    let value = mutation.state_value.ok_or_else(|| {
                        malformed(format!("the MODIFY of state `{}` carries no value", mutation.state_name))
                    })?;
                    if value.typename != spec.typename {
                        return Err(ProtocolError::WrongTypename {
                            address: address.clone(),
                            state: mutation.state_name,
                            declared: spec.typename.clone(),
                            found: value.typename,
                        });
                    }
                    Some(TypedValue::from_proto(value))
                }
                Err(_) => {
                    return Err(malformed(format!(
                        "state `{}` has the unknown mutation type {}",
                        mutation.state_name, mutation.mutation_type
                    )));
                }
            };
            effects.state.push(StateChange { name: mutation.state_name, value });
        }
        for outgoing in response.outgoing_messages {
            effects.messages.push(outgoing_message(outgoing.target, outgoing.argument).map_err(&malformed)?);
        }
        for delayed in response.delayed_invocations {
            effects.delayed.push(delayed_message(delayed).map_err(&malformed)?);
        }
        for egress in response.outgoing_egresses {
            let id = TypeName::new(&egress.egress_namespace, &egress.egress_type)
                .map_err(|error| malformed(format!("an egress message names a bad egress: {error}")))?;
            let argument = egress
                .argument
                .ok_or_else(|| malformed(format!("the message to egress `{id}` has no argument")))?;
            effects.egress.push(EgressMessage { egress: id, argument: TypedValue::from_proto(argument) });
        }
        Ok(effects)
    }
}

fn outgoing_message(
    target: Option<crate::proto::reqreply::Address>,
    argument: Option<crate::proto::reqreply::TypedValue>,
) -> Result<OutgoingMessage, String> {
    let target = target.ok_or("an outgoing message has no target")?;
    let target =
        Address::from_proto(&target).map_err(|error| format!("an outgoing message's target: {error}"))?;
    let argument = argument.ok_or_else(|| format!("the message to `{target}` has no argument"))?;
    Ok(OutgoingMessage { target, argument: TypedValue::from_proto(argument) })
}

fn delayed_message(delayed: from_function::DelayedInvocation) -> Result<Delayed, String> {
    if delayed.is_cancellation_request {
        if delayed.cancellation_token.is_empty() {
            return Err("a delayed-message cancellation has no token".to_owned());
        }
        return Ok(Delayed::Cancel { cancellation_token: delayed.cancellation_token });
    }
    let delay = u64::try_from(delayed.delay_in_ms)
        .map_err(|_| format!("a delayed message has the negative delay {} ms", delayed.delay_in_ms))?;
    let message = outgoing_message(delayed.target, delayed.argument)?;
    let cancellation_token = Some(delayed.cancellation_token).filter(|token| !token.is_empty());
    Ok(Delayed::Send { delay: Duration::from_millis(delay), message, cancellation_token })
}
