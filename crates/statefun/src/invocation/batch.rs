//! [`Message`] and [`Batch`]: what is sent to one address in one request, and how it becomes a
//! `ToFunction` with the address's state attached.

use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::proto::reqreply::{self, ToFunction, to_function};
use crate::state_spec::StateSpec;
use crate::value::TypedValue;

/// A message for a function instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who sent it: a function, or `None` for an ingress or the outside world.
    pub caller: Option<Address>,
    /// The payload.
    pub argument: TypedValue,
}

/// The messages of one request to one address, in arrival order (at least one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The address invoked.
    pub target: Address,
    /// The messages.
    pub messages: Vec<Message>,
}

/// Read access to the state of addresses, as the engine keeps it.
pub trait StateView {
    /// The current value of state `name` of `address`, `None` when it has none.
    fn get(&self, address: &Address, name: &str) -> Option<TypedValue>;
}

impl<F: Fn(&Address, &str) -> Option<TypedValue>> StateView for F {
    fn get(&self, address: &Address, name: &str) -> Option<TypedValue> {
        self(address, name)
    }
}

impl Batch {
    /// The request for this batch, carrying every registered state of the target's function
    /// type: present values with their typename, empty ones as a bare name.
    pub fn to_request(&self, specs: &[StateSpec], state: &impl StateView) -> ToFunction {
        let state = specs
            .iter()
            .map(|spec| to_function::PersistedValue {
                state_name: spec.name.clone(),
                state_value: state
                    .get(&self.target, &spec.name)
                    .filter(|value| value.value.is_some())
                    .map(|value| value.to_proto()),
            })
            .collect();
        let invocations = self
            .messages
            .iter()
            .map(|message| to_function::Invocation {
                caller: message.caller.as_ref().map(Address::to_proto),
                argument: Some(message.argument.to_proto()),
            })
            .collect();
        ToFunction {
            request: Some(to_function::Request::Invocation(to_function::InvocationBatchRequest {
                target: Some(self.target.to_proto()),
                state,
                invocations,
            })),
        }
    }
}

/// The target address of a request, for routing it to an endpoint.
pub(crate) fn request_target(request: &ToFunction) -> Option<&reqreply::Address> {
    match &request.request {
        Some(to_function::Request::Invocation(batch)) => batch.target.as_ref(),
        None => None,
    }
}
