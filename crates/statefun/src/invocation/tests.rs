//! The invocation state machine, driven by hand-written replies.

use super::*;
use crate::proto::reqreply::from_function::{
    DelayedInvocation, EgressMessage as WireEgress, IncompleteInvocationContext,
    Invocation as WireInvocation, InvocationResponse, PersistedValueMutation, PersistedValueSpec, Response,
};
use crate::proto::reqreply::to_function;
use crate::value::TypedValue;

fn address(text: &str) -> Address {
    text.parse().unwrap()
}

fn message(text: &str) -> Message {
    Message { caller: None, argument: TypedValue::string(text) }
}

fn texts(batch: &Batch) -> Vec<String> {
    batch.messages.iter().map(|m| m.argument.as_string().unwrap()).collect()
}

fn result(response: InvocationResponse) -> FromFunction {
    FromFunction { response: Some(Response::InvocationResult(response)) }
}

fn missing(specs: &[(&str, &str)]) -> FromFunction {
    FromFunction {
        response: Some(Response::IncompleteInvocationContext(IncompleteInvocationContext {
            missing_values: specs
                .iter()
                .map(|(name, typename)| PersistedValueSpec {
                    state_name: (*name).into(),
                    expiration_spec: None,
                    type_typename: (*typename).into(),
                })
                .collect(),
        })),
    }
}

fn modify(name: &str, value: TypedValue) -> PersistedValueMutation {
    PersistedValueMutation { mutation_type: 1, state_name: name.into(), state_value: Some(value.to_proto()) }
}

fn no_state(_: &Address, _: &str) -> Option<TypedValue> {
    None
}

fn batch_of(request: &ToFunction) -> &to_function::InvocationBatchRequest {
    match request.request.as_ref().unwrap() {
        to_function::Request::Invocation(batch) => batch,
    }
}

/// Registers `seen: int` for the greeter and completes the first batch.
fn registered_greeter() -> (Invocations, Address) {
    let mut invocations = Invocations::with_max_batch(10);
    let target = address("ex/greeter/ann");
    let Enqueued::Send(_) = invocations.enqueue(target.clone(), message("a")) else { panic!() };
    let Completion::Resend(_) =
        invocations.complete(&target, missing(&[("seen", "io.statefun.types/int")])).unwrap()
    else {
        panic!()
    };
    (invocations, target)
}

#[test]
fn one_request_in_flight_per_address_and_the_backlog_leaves_as_the_next_batch() {
    let mut invocations = Invocations::with_max_batch(10);
    let ann = address("ex/greeter/ann");
    let bob = address("ex/greeter/bob");
    assert_eq!(
        invocations.enqueue(ann.clone(), message("1")),
        Enqueued::Send(Arc::new(Batch { target: ann.clone(), messages: vec![message("1")] }))
    );
    assert_eq!(
        invocations.enqueue(ann.clone(), message("2")),
        Enqueued::Queued { backlog: 1, back_pressure: false }
    );
    assert_eq!(
        invocations.enqueue(ann.clone(), message("3")),
        Enqueued::Queued { backlog: 2, back_pressure: false }
    );
    assert!(matches!(invocations.enqueue(bob.clone(), message("x")), Enqueued::Send(_)));

    let Completion::Done { next: Some(next), .. } =
        invocations.complete(&ann, result(InvocationResponse::default())).unwrap()
    else {
        panic!("expected the backlog as the next batch")
    };
    assert_eq!(texts(&next), ["2", "3"]);
    assert_eq!(invocations.in_flight(&ann), Some(&*next));
    let Completion::Done { next: None, .. } =
        invocations.complete(&ann, result(InvocationResponse::default())).unwrap()
    else {
        panic!()
    };
    assert!(invocations.in_flight(&ann).is_none());
    assert!(!invocations.is_idle(), "bob is still in flight");
    let _ = invocations.complete(&bob, result(InvocationResponse::default())).unwrap();
    assert!(invocations.is_idle());
}

#[test]
fn a_full_backlog_asks_for_back_pressure_and_batches_stay_within_the_limit() {
    let mut invocations = Invocations::with_max_batch(2);
    let ann = address("ex/greeter/ann");
    let _ = invocations.enqueue(ann.clone(), message("0"));
    assert_eq!(
        invocations.enqueue(ann.clone(), message("1")),
        Enqueued::Queued { backlog: 1, back_pressure: false }
    );
    assert_eq!(
        invocations.enqueue(ann.clone(), message("2")),
        Enqueued::Queued { backlog: 2, back_pressure: true }
    );
    assert_eq!(
        invocations.enqueue(ann.clone(), message("3")),
        Enqueued::Queued { backlog: 3, back_pressure: true }
    );
    assert!(invocations.is_back_pressured());

    let Completion::Done { next: Some(next), .. } =
        invocations.complete(&ann, result(InvocationResponse::default())).unwrap()
    else {
        panic!()
    };
    assert_eq!(texts(&next), ["1", "2"]);
    assert_eq!(invocations.backlog_len(&ann), 1);
    assert!(!invocations.is_back_pressured());
}

#[test]
fn the_state_handshake_registers_missing_states_and_resends_the_same_batch() {
    let mut invocations = Invocations::with_max_batch(10);
    let ann = address("ex/greeter/ann");
    let Enqueued::Send(batch) = invocations.enqueue(ann.clone(), message("hi")) else { panic!() };
    let first = invocations.request(&batch, &no_state);
    assert!(batch_of(&first).state.is_empty());
    assert_eq!(batch_of(&first).invocations.len(), 1);

    let completion = invocations
        .complete(&ann, missing(&[("seen", "io.statefun.types/int"), ("name", "io.statefun.types/string")]));
    assert_eq!(completion, Ok(Completion::Resend(batch.clone())));

    let stored = |_: &Address, name: &str| (name == "seen").then(|| TypedValue::int(3));
    let second = invocations.request(&batch, &stored);
    let state = &batch_of(&second).state;
    assert_eq!(state.len(), 2);
    assert_eq!(state[0].state_name, "name");
    assert_eq!(state[0].state_value, None, "a registered but empty state travels as a bare name");
    assert_eq!(state[1].state_name, "seen");
    assert_eq!(state[1].state_value, Some(TypedValue::int(3).to_proto()));
    assert_eq!(batch_of(&second).invocations, batch_of(&first).invocations);
}

#[test]
fn asking_again_for_a_shipped_state_or_changing_its_type_is_an_error() {
    let (mut invocations, ann) = registered_greeter();
    assert_eq!(
        invocations.complete(&ann, missing(&[("seen", "io.statefun.types/int")])),
        Err(ProtocolError::HandshakeLoop { address: ann.clone(), state: "seen".into() })
    );
    assert!(matches!(
        invocations.complete(&ann, missing(&[("seen", "io.statefun.types/long")])),
        Err(ProtocolError::StateTypeChanged { .. })
    ));
    assert!(invocations.in_flight(&ann).is_some(), "a failed reply leaves the batch in flight");
}

#[test]
fn mutations_of_undeclared_states_or_of_the_wrong_type_are_refused() {
    let (mut invocations, ann) = registered_greeter();
    let undeclared = InvocationResponse {
        state_mutations: vec![modify("visits", TypedValue::int(1))],
        ..Default::default()
    };
    assert_eq!(
        invocations.complete(&ann, result(undeclared)),
        Err(ProtocolError::UndeclaredState { address: ann.clone(), state: "visits".into() })
    );
    let wrong = InvocationResponse {
        state_mutations: vec![modify("seen", TypedValue::string("1"))],
        ..Default::default()
    };
    let error = invocations.complete(&ann, result(wrong)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the function at `ex/greeter/ann` wrote state `seen` as `io.statefun.types/string`, but it is declared as `io.statefun.types/int`"
    );
    assert!(invocations.in_flight(&ann).is_some());
}

#[test]
fn a_reply_becomes_plain_effects() {
    let (mut invocations, ann) = registered_greeter();
    let wire_address = address("ex/other/7").to_proto();
    let response = InvocationResponse {
        state_mutations: vec![
            modify("seen", TypedValue::int(4)),
            PersistedValueMutation { mutation_type: 0, state_name: "seen".into(), state_value: None },
        ],
        outgoing_messages: vec![WireInvocation {
            target: Some(wire_address.clone()),
            argument: Some(TypedValue::string("m").to_proto()),
        }],
        delayed_invocations: vec![
            DelayedInvocation {
                is_cancellation_request: false,
                cancellation_token: "tok".into(),
                delay_in_ms: 1500,
                target: Some(wire_address),
                argument: Some(TypedValue::int(1).to_proto()),
            },
            DelayedInvocation {
                is_cancellation_request: true,
                cancellation_token: "tok".into(),
                ..Default::default()
            },
        ],
        outgoing_egresses: vec![WireEgress {
            egress_namespace: "ex".into(),
            egress_type: "out".into(),
            argument: Some(TypedValue::string("e").to_proto()),
        }],
    };
    let Completion::Done { effects, next: None } = invocations.complete(&ann, result(response)).unwrap()
    else {
        panic!()
    };
    let other = address("ex/other/7");
    assert_eq!(
        effects,
        Effects {
            state: vec![
                StateChange { name: "seen".into(), value: Some(TypedValue::int(4)) },
                StateChange { name: "seen".into(), value: None },
            ],
            messages: vec![OutgoingMessage { target: other.clone(), argument: TypedValue::string("m") }],
            delayed: vec![
                Delayed::Send {
                    delay: std::time::Duration::from_millis(1500),
                    message: OutgoingMessage { target: other, argument: TypedValue::int(1) },
                    cancellation_token: Some("tok".into()),
                },
                Delayed::Cancel { cancellation_token: "tok".into() },
            ],
            egress: vec![EgressMessage {
                egress: "ex/out".parse().unwrap(),
                argument: TypedValue::string("e")
            }],
        }
    );
}

#[test]
fn malformed_replies_are_errors() {
    let (mut invocations, ann) = registered_greeter();
    assert_eq!(
        invocations.complete(&ann, FromFunction { response: None }),
        Err(ProtocolError::EmptyReply { address: ann.clone() })
    );
    let no_target = InvocationResponse {
        outgoing_messages: vec![WireInvocation { target: None, argument: None }],
        ..Default::default()
    };
    assert!(matches!(invocations.complete(&ann, result(no_target)), Err(ProtocolError::Malformed { .. })));
    let negative = InvocationResponse {
        delayed_invocations: vec![DelayedInvocation { delay_in_ms: -5, ..Default::default() }],
        ..Default::default()
    };
    assert!(matches!(invocations.complete(&ann, result(negative)), Err(ProtocolError::Malformed { .. })));
    let nobody = address("ex/greeter/nobody");
    assert_eq!(
        invocations.complete(&nobody, result(InvocationResponse::default())),
        Err(ProtocolError::NotInFlight(nobody))
    );
}

#[test]
fn a_snapshot_restores_what_was_in_flight_and_what_was_waiting() {
    let (mut invocations, ann) = registered_greeter();
    let _ = invocations.enqueue(ann.clone(), message("b"));
    let _ = invocations.enqueue(ann.clone(), message("c"));
    let bob = address("ex/greeter/bob");
    let _ = invocations.enqueue(bob.clone(), message("x"));
    let snapshot = invocations.snapshot();
    let json = serde_json::to_string(&snapshot).unwrap();
    let restored: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(restored, snapshot);

    let (mut again, resend) = Invocations::restore(restored, |_| 10);
    assert_eq!(resend.iter().map(|b| b.target.clone()).collect::<Vec<_>>(), [ann.clone(), bob]);
    assert_eq!(texts(&resend[0]), ["a"]);
    assert_eq!(
        again.registered_states(&ann.function_type).map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["seen"]
    );
    let Completion::Done { next: Some(next), .. } =
        again.complete(&ann, result(InvocationResponse::default())).unwrap()
    else {
        panic!()
    };
    assert_eq!(texts(&next), ["b", "c"]);
    assert_eq!(again.snapshot(), {
        let mut expected = invocations.snapshot();
        expected.in_flight[0] = Batch::clone(&next);
        expected.backlog.clear();
        expected
    });
}

#[test]
fn requests_built_before_the_states_were_registered_are_sent_again_not_refused() {
    let mut invocations = Invocations::with_max_batch(10);
    let ann = address("ex/greeter/ann");
    let bob = address("ex/greeter/bob");
    let Enqueued::Send(_) = invocations.enqueue(ann.clone(), message("a")) else { panic!() };
    let Enqueued::Send(bob_batch) = invocations.enqueue(bob.clone(), message("b")) else { panic!() };
    let seen = [("seen", "io.statefun.types/int")];
    assert!(matches!(invocations.complete(&ann, missing(&seen)), Ok(Completion::Resend(_))));
    // Bob's request left before the registration: it could not carry `seen`.
    assert_eq!(invocations.complete(&bob, missing(&seen)), Ok(Completion::Resend(bob_batch)));
    // Sent again with `seen`, asking for it once more is a loop.
    assert_eq!(
        invocations.complete(&bob, missing(&seen)),
        Err(ProtocolError::HandshakeLoop { address: bob.clone(), state: "seen".into() })
    );
}

#[test]
fn the_backlog_of_an_address_is_readable_in_order() {
    let mut invocations = Invocations::with_max_batch(10);
    let ann = address("ex/greeter/ann");
    for text in ["a", "b", "c"] {
        let _ = invocations.enqueue(ann.clone(), message(text));
    }
    let waiting: Vec<_> = invocations.backlog(&ann).cloned().collect();
    assert_eq!(waiting, [message("b"), message("c")]);
    assert_eq!(invocations.backlog(&address("ex/greeter/bob")).count(), 0);
}

#[test]
fn messages_enqueued_together_travel_together_up_to_the_batch_limit() {
    let mut invocations = Invocations::with_max_batch(3);
    let target = address("ex/greeter/ann");
    let all = |names: &[&str]| names.iter().map(|name| message(name)).collect::<Vec<_>>();
    assert_eq!(
        invocations.enqueue_all(target.clone(), Vec::new()),
        Enqueued::Queued { backlog: 0, back_pressure: false }
    );
    assert!(invocations.is_idle(), "nothing given, nothing kept");
    let Enqueued::Send(first) = invocations.enqueue_all(target.clone(), all(&["a", "b", "c", "d"])) else {
        panic!("nothing was in flight")
    };
    assert_eq!(texts(&first), ["a", "b", "c"]);
    assert_eq!(invocations.backlog_len(&target), 1);
    assert_eq!(
        invocations.enqueue_all(target.clone(), all(&["e", "f"])),
        Enqueued::Queued { backlog: 3, back_pressure: true }
    );
    assert!(invocations.is_back_pressured());
    let Completion::Done { next: Some(next), .. } =
        invocations.complete(&target, result(InvocationResponse::default())).unwrap()
    else {
        panic!("the backlog is next")
    };
    assert_eq!(texts(&next), ["d", "e", "f"]);
    assert!(!invocations.is_back_pressured());
}
