//! Embedded functions as WebAssembly components: the function types a module's
//! `io.eddy.endpoints.v1/wasm` documents name run in Eddy's WebAssembly sandbox (the world
//! `function` of the WIT package `eddy:function`), with the same model and exactly-once
//! epochs as remote functions.
//!
//! [`WasmFunctions`] implements [`Functions`] as [`crate::native::NativeFunctions`] does: it
//! answers the runtime's `ToFunction` with a `FromFunction` without HTTP or protobuf in
//! between. A request lacking a declared state is answered with the states to register; any
//! other calls the component's `invoke` once per batch (the batch's messages, the address's
//! state values) and turns the returned effects into the reply. Calls run on the runtime's
//! loop ([`crate::functions::Call::Now`]), each on an instance taken from the function's pool
//! of idle instances (created on demand).
//!
//! A call that fails (the component's `err`, a trap, running out of fuel or memory) fails
//! the request with the component's path and the reason, as a remote function that fails for
//! good does: the runtime stops with [`crate::Error::Call`], the batch stays in flight in the
//! last committed epoch, and the failed instance is replaced.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use eddy_statefun::egress::PLAYGROUND_EGRESS_RECORD;
use eddy_statefun::module::{PLAYGROUND_EGRESS_ID, WasmEndpoint};
use eddy_statefun::proto::egress::KafkaProducerRecord;
use eddy_statefun::proto::reqreply::from_function::persisted_value_mutation::MutationType;
use eddy_statefun::proto::reqreply::from_function::{
    DelayedInvocation, EgressMessage, IncompleteInvocationContext, Invocation, InvocationResponse,
    PersistedValueMutation, Response,
};
use eddy_statefun::proto::reqreply::to_function::Request;
use eddy_statefun::proto::reqreply::{self, FromFunction, ToFunction};
use eddy_statefun::state_spec::{Expiration, StateSpec};
use eddy_statefun::value::typenames;
use eddy_statefun::{Address, FunctionType, Module, RemoteFunctions, TypeName};
use eddy_wasm::{DelayedChange, EgressValue, FunctionInstance, Host, StatefulFunction};

use crate::functions::{Call, Functions, InvokeError, Reply, invoke_remote, target_type};
use crate::{Error, Result};

/// Functions run as WebAssembly components, and remote functions for the other types.
#[derive(Clone)]
pub struct WasmFunctions {
    module: Arc<Module>,
    /// One per `module.wasm_endpoints`, in the same order.
    served: Vec<Arc<Served>>,
    remote: Option<RemoteFunctions>,
}

impl std::fmt::Debug for WasmFunctions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let components: Vec<_> = self.served.iter().map(|served| &served.component).collect();
        f.debug_struct("WasmFunctions").field("components", &components).finish_non_exhaustive()
    }
}

/// One wasm endpoint's component, ready to call.
struct Served {
    component: PathBuf,
    function: StatefulFunction,
    states: Vec<StateSpec>,
    max_batch: usize,
    /// Instances between calls.
    idle: Mutex<Vec<FunctionInstance>>,
}

impl WasmFunctions {
    /// Loads the components of `module`'s wasm endpoints with `host` (compiled, or taken from
    /// its cache), checks they implement the world `function`, and reads their states.
    ///
    /// # Errors
    /// [`Error::Wasm`] naming the component and what is wrong with it.
    pub fn load(module: &Module, host: &Host) -> Result<Self> {
        let served = module
            .wasm_endpoints
            .iter()
            .map(|endpoint| load_endpoint(endpoint, host).map(Arc::new))
            .collect::<Result<_>>()?;
        Ok(Self { module: Arc::new(module.clone()), served, remote: None })
    }

    /// Calls `remote` for the types no component serves.
    #[must_use]
    pub fn or_remote(mut self, remote: RemoteFunctions) -> Self {
        self.remote = Some(remote);
        self
    }

    fn served_for(&self, function_type: &FunctionType) -> Option<&Arc<Served>> {
        let endpoint = self.module.wasm_endpoint_for(function_type)?;
        let index = self.module.wasm_endpoints.iter().position(|known| std::ptr::eq(known, endpoint))?;
        self.served.get(index)
    }
}

fn load_endpoint(endpoint: &WasmEndpoint, host: &Host) -> Result<Served> {
    let failed = |reason: String| Error::Wasm { component: endpoint.component.clone(), reason };
    let function = host
        .load_file(&endpoint.component)
        .and_then(|component| component.function())
        .map_err(|error| failed(error.to_string()))?;
    let states = function
        .states()
        .iter()
        .map(|spec| {
            let expiration = match spec.expiration {
                eddy_wasm::Expiration::Never => Expiration::Never,
                eddy_wasm::Expiration::AfterWrite(ms) => Expiration::AfterWrite(Duration::from_millis(ms)),
                eddy_wasm::Expiration::AfterCall(ms) => Expiration::AfterInvoke(Duration::from_millis(ms)),
            };
            StateSpec { name: spec.name.clone(), typename: spec.typename.clone(), expiration }
        })
        .collect::<Vec<_>>();
    let mut names = HashSet::new();
    if let Some(twice) = states.iter().find(|spec| !names.insert(spec.name.as_str())) {
        return Err(failed(format!("the component declares the state `{}` twice", twice.name)));
    }
    Ok(Served {
        component: endpoint.component.clone(),
        function,
        states,
        max_batch: endpoint.max_num_batch_requests,
        idle: Mutex::new(Vec::new()),
    })
}

impl Served {
    /// Runs one batch: the states the component declares must all be in the request, else
    /// the runtime is told to register them (and sends the batch again).
    fn run(&self, request: ToFunction) -> Result<FromFunction, InvokeError> {
        let Some(Request::Invocation(batch)) = request.request else {
            return Err("a request without invocations".into());
        };
        let target = batch.target.as_ref().ok_or("a request without a target")?;
        let provided: HashSet<&str> = batch.state.iter().map(|state| state.state_name.as_str()).collect();
        let missing: Vec<_> = self
            .states
            .iter()
            .filter(|spec| !provided.contains(spec.name.as_str()))
            .map(StateSpec::to_proto)
            .collect();
        if !missing.is_empty() {
            return Ok(FromFunction {
                response: Some(Response::IncompleteInvocationContext(IncompleteInvocationContext {
                    missing_values: missing,
                })),
            });
        }
        let context = eddy_wasm::Context {
            address: to_wit_address(target),
            states: batch
                .state
                .into_iter()
                .map(|state| eddy_wasm::StateValue {
                    name: state.state_name,
                    value: state.state_value.filter(|value| value.has_value).map(to_wit_value),
                })
                .collect(),
        };
        let messages = batch
            .invocations
            .into_iter()
            .map(|invocation| {
                Ok(eddy_wasm::Message {
                    caller: invocation.caller.as_ref().map(to_wit_address),
                    argument: invocation
                        .argument
                        .map(to_wit_value)
                        .ok_or("an invocation without argument")?,
                })
            })
            .collect::<Result<Vec<_>, InvokeError>>()?;
        let address = format!("{}/{}/{}", target.namespace, target.r#type, target.id);
        let failed = |reason: String| -> InvokeError {
            format!("{address}: the component {}: {reason}", self.component.display()).into()
        };
        let effects = self.call(&context, &messages).map_err(|error| failed(error.to_string()))?;
        let response = self.response(effects).map_err(failed)?;
        Ok(FromFunction { response: Some(Response::InvocationResult(response)) })
    }

    /// Calls the component on an idle instance (a new one if none is idle).
    fn call(
        &self,
        context: &eddy_wasm::Context,
        messages: &[eddy_wasm::Message],
    ) -> Result<eddy_wasm::Effects, eddy_wasm::CallError> {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut instance = idle.unwrap_or_else(|| self.function.instance());
        let result = instance.invoke(context, messages);
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(instance);
        if let Err(error) = &result {
            tracing::warn!(component = %self.component.display(), %error, "a WebAssembly function failed");
        }
        result
    }

    /// The protocol's form of what the component returned.
    fn response(&self, effects: eddy_wasm::Effects) -> Result<InvocationResponse, String> {
        let mut response = InvocationResponse::default();
        for change in effects.states {
            if !self.states.iter().any(|spec| spec.name == change.name) {
                return Err(format!(
                    "the component changed the state `{}`, which it does not declare",
                    change.name
                ));
            }
            let (mutation_type, state_value) = match change.value {
                Some(value) => (MutationType::Modify, Some(to_proto_value(value))),
                None => (MutationType::Delete, None),
            };
            response.state_mutations.retain(|mutation| mutation.state_name != change.name);
            response.state_mutations.push(PersistedValueMutation {
                mutation_type: mutation_type as i32,
                state_name: change.name,
                state_value,
            });
        }
        for message in effects.messages {
            response.outgoing_messages.push(Invocation {
                target: Some(to_proto_address(&message.target)?),
                argument: Some(to_proto_value(message.argument)),
            });
        }
        for change in effects.delayed {
            response.delayed_invocations.push(match change {
                DelayedChange::Send(delayed) => DelayedInvocation {
                    is_cancellation_request: false,
                    cancellation_token: delayed.cancellation_token.unwrap_or_default(),
                    delay_in_ms: i64::try_from(delayed.delay_ms).unwrap_or(i64::MAX),
                    target: Some(to_proto_address(&delayed.target)?),
                    argument: Some(to_proto_value(delayed.argument)),
                },
                DelayedChange::Cancel(token) => DelayedInvocation {
                    is_cancellation_request: true,
                    cancellation_token: token,
                    ..DelayedInvocation::default()
                },
            });
        }
        for egress in effects.egress {
            let id: TypeName =
                egress.egress.parse().map_err(|error| format!("the egress `{}`: {error}", egress.egress))?;
            let argument = match egress.value {
                EgressValue::Typed(value) => to_proto_value(value),
                EgressValue::Topic(record) => topic_record(&id, record)?,
            };
            response.outgoing_egresses.push(EgressMessage {
                egress_namespace: id.namespace().to_owned(),
                egress_type: id.name().to_owned(),
                argument: Some(argument),
            });
        }
        Ok(response)
    }
}

/// A topic record as egress `id` reads it: a playground egress record (JSON, the payload as
/// text) or a Kafka producer record.
fn topic_record(id: &TypeName, record: eddy_wasm::TopicRecord) -> Result<reqreply::TypedValue, String> {
    if id.to_string() == PLAYGROUND_EGRESS_ID {
        let payload = String::from_utf8(record.value)
            .map_err(|_| format!("a record for `{id}` whose value is not UTF-8"))?;
        let json = serde_json::json!({"topic": record.topic, "payload": payload});
        return Ok(reqreply::TypedValue {
            typename: PLAYGROUND_EGRESS_RECORD.to_owned(),
            has_value: true,
            value: json.to_string().into(),
        });
    }
    let producer_record = KafkaProducerRecord {
        key: record.key.unwrap_or_default(),
        value_bytes: record.value.into(),
        topic: record.topic,
    };
    Ok(reqreply::TypedValue {
        typename: typenames::KAFKA_PRODUCER_RECORD.to_owned(),
        has_value: true,
        value: prost::Message::encode_to_vec(&producer_record).into(),
    })
}

fn to_wit_address(address: &reqreply::Address) -> eddy_wasm::Address {
    eddy_wasm::Address {
        namespace: address.namespace.clone(),
        name: address.r#type.clone(),
        id: address.id.clone(),
    }
}

fn to_wit_value(value: reqreply::TypedValue) -> eddy_wasm::TypedValue {
    eddy_wasm::TypedValue { typename: value.typename, value: value.value.into() }
}

fn to_proto_value(value: eddy_wasm::TypedValue) -> reqreply::TypedValue {
    reqreply::TypedValue { typename: value.typename, has_value: true, value: value.value.into() }
}

/// A checked address: a component naming an invalid one fails its call.
fn to_proto_address(address: &eddy_wasm::Address) -> Result<reqreply::Address, String> {
    let invalid = |error: eddy_statefun::NameError| {
        format!("the address `{}/{}/{}`: {error}", address.namespace, address.name, address.id)
    };
    let function_type = FunctionType::new(&address.namespace, &address.name).map_err(invalid)?;
    Ok(Address::new(function_type, address.id.clone()).map_err(invalid)?.to_proto())
}

impl Functions for WasmFunctions {
    fn invoke(&self, request: ToFunction) -> Reply {
        match self.call(request) {
            Call::Now(reply) => Box::pin(std::future::ready(reply)),
            Call::Later(reply) => reply,
        }
    }

    fn call(&self, request: ToFunction) -> Call {
        let function_type = target_type(&request);
        match function_type.as_ref().and_then(|function_type| self.served_for(function_type)) {
            Some(served) => Call::Now(served.run(request)),
            None => Call::Later(invoke_remote(self.remote.as_ref(), function_type, request)),
        }
    }

    fn max_batch(&self, function_type: &FunctionType) -> usize {
        match (self.served_for(function_type), &self.remote) {
            (Some(served), _) => served.max_batch,
            (None, Some(remote)) => RemoteFunctions::max_batch(remote, function_type),
            (None, None) => 1000,
        }
    }

    fn serves(&self, function_type: &FunctionType) -> bool {
        self.served_for(function_type).is_some()
            || self.remote.as_ref().is_some_and(|remote| remote.endpoint_for(function_type).is_some())
    }

    fn call_stats(&self) -> Vec<(String, Arc<eddy_statefun::http::CallStats>)> {
        self.remote.as_ref().map(RemoteFunctions::call_stats).unwrap_or_default()
    }
}
