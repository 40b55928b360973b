//! What the integration tests share: a tiny engine that drives [`Invocations`] over real HTTP,
//! keeping state in a map and delivering messages between addresses.

#![allow(dead_code, unreachable_pub)]

pub mod fake_endpoint;
pub mod python;

use std::collections::HashMap;

use eddy_statefun::invocation::{Delayed, StateView};
use eddy_statefun::{
    Address, CallError, Completion, Enqueued, Invocations, Message, ProtocolError, RemoteFunctions,
    TopicRecord, TypeName, TypedValue,
};
use tokio::task::JoinSet;

/// A failure the engine stops on.
#[derive(Debug)]
pub enum EngineError {
    /// A call failed.
    Call(Address, CallError),
    /// A reply broke the protocol.
    Protocol(ProtocolError),
}

/// Plays the engine: one task, state in a map, every effect recorded.
pub struct TestEngine {
    pub invocations: Invocations,
    pub remote: RemoteFunctions,
    pub state: HashMap<(Address, String), TypedValue>,
    pub egress: Vec<(TypeName, TypedValue)>,
    pub delayed: Vec<(Address, Delayed)>,
    pub calls: usize,
    in_flight: JoinSet<(Address, Result<eddy_statefun::proto::reqreply::FromFunction, CallError>)>,
}

struct MapView<'a>(&'a HashMap<(Address, String), TypedValue>);

impl StateView for MapView<'_> {
    fn get(&self, address: &Address, name: &str) -> Option<TypedValue> {
        self.0.get(&(address.clone(), name.to_owned())).cloned()
    }
}

impl TestEngine {
    pub fn new(remote: RemoteFunctions) -> Self {
        let limits = remote.clone();
        Self {
            invocations: Invocations::new(move |function_type| limits.max_batch(function_type)),
            remote,
            state: HashMap::new(),
            egress: Vec::new(),
            delayed: Vec::new(),
            calls: 0,
            in_flight: JoinSet::new(),
        }
    }

    /// Delivers a message from outside (no caller).
    pub fn send(&mut self, target: &str, argument: TypedValue) {
        let target: Address = target.parse().expect("a valid address");
        self.deliver(target, Message { caller: None, argument });
    }

    fn deliver(&mut self, target: Address, message: Message) {
        if let Enqueued::Send(batch) = self.invocations.enqueue(target, message) {
            self.dispatch(&batch);
        }
    }

    fn dispatch(&mut self, batch: &eddy_statefun::Batch) {
        let request = self.invocations.request(batch, &MapView(&self.state));
        let remote = self.remote.clone();
        let target = batch.target.clone();
        self.calls += 1;
        self.in_flight.spawn(async move {
            let reply = remote.invoke(&request).await;
            (target, reply)
        });
    }

    /// Runs until nothing is in flight.
    pub async fn run_until_idle(&mut self) -> Result<(), EngineError> {
        while let Some(joined) = self.in_flight.join_next().await {
            let (target, reply) = joined.expect("the call task does not panic");
            let reply = reply.map_err(|error| EngineError::Call(target.clone(), error))?;
            match self.invocations.complete(&target, reply).map_err(EngineError::Protocol)? {
                Completion::Resend(batch) => self.dispatch(&batch),
                Completion::Done { effects, next } => {
                    for change in effects.state {
                        let key = (target.clone(), change.name);
                        match change.value {
                            Some(value) => {
                                self.state.insert(key, value);
                            }
                            None => {
                                self.state.remove(&key);
                            }
                        }
                    }
                    for egress in effects.egress {
                        self.egress.push((egress.egress, egress.argument));
                    }
                    for delayed in effects.delayed {
                        self.delayed.push((target.clone(), delayed));
                    }
                    for message in effects.messages {
                        self.deliver(
                            message.target,
                            Message { caller: Some(target.clone()), argument: message.argument },
                        );
                    }
                    if let Some(next) = next {
                        self.dispatch(&next);
                    }
                }
            }
        }
        assert!(self.invocations.is_idle());
        Ok(())
    }

    /// The state value `name` of `address`.
    pub fn state_of(&self, address: &str, name: &str) -> Option<&TypedValue> {
        self.state.get(&(address.parse().expect("a valid address"), name.to_owned()))
    }

    /// Egress records as `(egress id, topic, key, value text)`.
    pub fn egress_records(&self) -> Vec<(String, String, String, String)> {
        self.egress
            .iter()
            .map(|(id, value)| {
                let record = TopicRecord::from_kafka_egress(value).expect("a Kafka producer record");
                let key =
                    String::from_utf8(record.key.map(|k| k.to_vec()).unwrap_or_default()).expect("UTF-8 key");
                let value = String::from_utf8(record.value.to_vec()).expect("UTF-8 value");
                (id.to_string(), record.topic, key, value)
            })
            .collect()
    }
}
