//! Native functions: stateful functions written in Rust and run in the runtime's process,
//! when Eddy is used as a library. They get the same model as remote ones (addresses, state
//! declared up front and shipped with each call, messages to any address, delayed messages,
//! egress) and the same exactly-once epochs, without HTTP or protobuf encoding in between.
//!
//! ```
//! use eddy_functions::native::{Context, Function, NativeFunctions};
//! use eddy_statefun::state_spec::{Expiration, StateSpec};
//! use eddy_statefun::TypedValue;
//!
//! struct Counter;
//!
//! impl Function for Counter {
//!     fn states(&self) -> Vec<StateSpec> {
//!         let typename = "io.statefun.types/long".to_owned();
//!         vec![StateSpec { name: "count".to_owned(), typename, expiration: Expiration::Never }]
//!     }
//!     fn invoke(&self, context: &mut Context<'_>, _message: TypedValue) -> Result<(), String> {
//!         let count = context.get("count").and_then(|value| value.as_long().ok()).unwrap_or(0);
//!         context.set("count", TypedValue::long(count + 1));
//!         Ok(())
//!     }
//! }
//!
//! let functions = NativeFunctions::new().with("example/counter".parse().unwrap(), Counter);
//! // eddy_functions::start_with(&module, log, store, options, move |_| std::sync::Arc::new(functions))
//! # drop(functions);
//! ```
//!
//! A function type with no native function goes to the remote functions given with
//! [`NativeFunctions::or_remote`], as the module's endpoints declare them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use eddy_statefun::proto::reqreply::from_function::persisted_value_mutation::MutationType;
use eddy_statefun::proto::reqreply::from_function::{
    DelayedInvocation, EgressMessage, IncompleteInvocationContext, Invocation, InvocationResponse,
    PersistedValueMutation, Response,
};
use eddy_statefun::proto::reqreply::to_function::Request;
use eddy_statefun::proto::reqreply::{FromFunction, ToFunction};
use eddy_statefun::state_spec::StateSpec;
use eddy_statefun::{Address, FunctionType, RemoteFunctions, TypeName, TypedValue};

use crate::functions::{Call, Functions, InvokeError, Reply, invoke_remote, target_type};

/// A stateful function in Rust.
pub trait Function: Send + Sync + 'static {
    /// The states each instance keeps; the runtime ships their values with every call.
    fn states(&self) -> Vec<StateSpec>;

    /// Handles one message sent to `context.address()`.
    ///
    /// # Errors
    /// A reason; the call fails, and the runtime stops as it does when a remote function
    /// fails for good.
    fn invoke(&self, context: &mut Context<'_>, message: TypedValue) -> Result<(), String>;
}

/// What a native function sees and does during one call.
pub struct Context<'a> {
    address: &'a Address,
    caller: Option<Address>,
    states: &'a mut HashMap<String, Option<TypedValue>>,
    /// The states set or deleted in this batch, each once: their mutations are built when
    /// the batch ends, from their last value.
    changed: &'a mut Vec<String>,
    response: &'a mut InvocationResponse,
}

impl Context<'_> {
    /// The instance being called.
    pub fn address(&self) -> &Address {
        self.address
    }

    /// Who sent the message: a function, or `None` for an ingress record.
    pub fn caller(&self) -> Option<&Address> {
        self.caller.as_ref()
    }

    /// The value of a declared state, if it has one.
    pub fn get(&self, state: &str) -> Option<&TypedValue> {
        self.states.get(state).and_then(Option::as_ref)
    }

    /// Sets a declared state's value.
    pub fn set(&mut self, state: &str, value: TypedValue) {
        self.mutate(state, Some(value));
    }

    /// Clears a declared state.
    pub fn delete(&mut self, state: &str) {
        self.mutate(state, None);
    }

    fn mutate(&mut self, state: &str, value: Option<TypedValue>) {
        if !self.changed.iter().any(|name| name == state) {
            self.changed.push(state.to_owned());
        }
        match self.states.get_mut(state) {
            Some(cell) => *cell = value,
            None => {
                self.states.insert(state.to_owned(), value);
            }
        }
    }

    /// Sends `value` to `target` (itself included).
    pub fn send(&mut self, target: &Address, value: TypedValue) {
        self.response
            .outgoing_messages
            .push(Invocation { target: Some(target.to_proto()), argument: Some(value.to_proto()) });
    }

    /// Sends `value` to `target` after `delay`; a later `send_after` or [`cancel`](Self::cancel)
    /// with the same `cancellation_token` replaces or cancels it.
    pub fn send_after(
        &mut self,
        delay: Duration,
        target: &Address,
        value: TypedValue,
        cancellation_token: Option<&str>,
    ) {
        self.response.delayed_invocations.push(DelayedInvocation {
            is_cancellation_request: false,
            cancellation_token: cancellation_token.unwrap_or_default().to_owned(),
            delay_in_ms: i64::try_from(delay.as_millis()).unwrap_or(i64::MAX),
            target: Some(target.to_proto()),
            argument: Some(value.to_proto()),
        });
    }

    /// Cancels the delayed message sent with `cancellation_token`, if it is still pending.
    pub fn cancel(&mut self, cancellation_token: &str) {
        self.response.delayed_invocations.push(DelayedInvocation {
            is_cancellation_request: true,
            cancellation_token: cancellation_token.to_owned(),
            ..DelayedInvocation::default()
        });
    }

    /// Sends `value` to the egress `egress` (a Kafka egress's id, or
    /// `io.statefun.playground/egress`).
    pub fn egress(&mut self, egress: &TypeName, value: TypedValue) {
        self.response.outgoing_egresses.push(EgressMessage {
            egress_namespace: egress.namespace().to_owned(),
            egress_type: egress.name().to_owned(),
            argument: Some(value.to_proto()),
        });
    }
}

/// Native functions by type, and remote functions for the other types.
#[derive(Default, Clone)]
pub struct NativeFunctions {
    functions: HashMap<FunctionType, Arc<dyn Function>>,
    remote: Option<RemoteFunctions>,
}

impl NativeFunctions {
    /// No functions yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `function` for `function_type`.
    pub fn with(mut self, function_type: FunctionType, function: impl Function) -> Self {
        self.functions.insert(function_type, Arc::new(function));
        self
    }

    /// Calls `remote` for the types without a native function.
    pub fn or_remote(mut self, remote: RemoteFunctions) -> Self {
        self.remote = Some(remote);
        self
    }

    /// Runs one batch with `function`: the states it declares must all be in the request,
    /// else the runtime is told to register them (and sends the batch again).
    fn run(function: &dyn Function, request: ToFunction) -> Result<FromFunction, InvokeError> {
        let Some(Request::Invocation(batch)) = request.request else {
            return Err("a request without invocations".into());
        };
        let target = batch.target.as_ref().ok_or("a request without a target")?;
        let address = Address::from_proto(target).map_err(|error| format!("the target: {error}"))?;
        let mut states: HashMap<String, Option<TypedValue>> = batch
            .state
            .into_iter()
            .map(|state| (state.state_name, state.state_value.map(TypedValue::from_proto)))
            .collect();
        let declared = function.states();
        let missing: Vec<_> = declared
            .iter()
            .filter(|spec| !states.contains_key(&spec.name))
            .map(StateSpec::to_proto)
            .collect();
        if !missing.is_empty() {
            return Ok(FromFunction {
                response: Some(Response::IncompleteInvocationContext(IncompleteInvocationContext {
                    missing_values: missing,
                })),
            });
        }
        let mut response = InvocationResponse::default();
        let mut changed = Vec::new();
        for invocation in batch.invocations {
            let caller = invocation
                .caller
                .as_ref()
                .map(Address::from_proto)
                .transpose()
                .map_err(|error| format!("the caller: {error}"))?;
            let argument =
                invocation.argument.map(TypedValue::from_proto).ok_or("an invocation without argument")?;
            let mut context = Context {
                address: &address,
                caller,
                states: &mut states,
                changed: &mut changed,
                response: &mut response,
            };
            function.invoke(&mut context, argument).map_err(|reason| format!("{address}: {reason}"))?;
        }
        response.state_mutations = changed
            .into_iter()
            .map(|name| {
                let value = states.get(&name).and_then(Option::as_ref);
                let mutation_type = if value.is_some() { MutationType::Modify } else { MutationType::Delete };
                PersistedValueMutation {
                    mutation_type: mutation_type as i32,
                    state_value: value.map(TypedValue::to_proto),
                    state_name: name,
                }
            })
            .collect();
        Ok(FromFunction { response: Some(Response::InvocationResult(response)) })
    }
}

impl Functions for NativeFunctions {
    fn invoke(&self, request: ToFunction) -> Reply {
        match self.call(request) {
            Call::Now(reply) => Box::pin(std::future::ready(reply)),
            Call::Later(reply) => reply,
        }
    }

    fn call(&self, request: ToFunction) -> Call {
        let function_type = target_type(&request);
        match function_type.as_ref().and_then(|function_type| self.functions.get(function_type)) {
            Some(function) => Call::Now(Self::run(function.as_ref(), request)),
            None => Call::Later(invoke_remote(self.remote.as_ref(), function_type, request)),
        }
    }

    fn serves(&self, function_type: &FunctionType) -> bool {
        self.functions.contains_key(function_type)
            || self.remote.as_ref().is_some_and(|remote| remote.endpoint_for(function_type).is_some())
    }

    fn max_batch(&self, function_type: &FunctionType) -> usize {
        match (&self.remote, self.functions.contains_key(function_type)) {
            (Some(remote), false) => RemoteFunctions::max_batch(remote, function_type),
            _ => 1000,
        }
    }

    fn call_stats(&self) -> Vec<(String, Arc<eddy_statefun::http::CallStats>)> {
        self.remote.as_ref().map(RemoteFunctions::call_stats).unwrap_or_default()
    }
}
