//! Stateful functions (world `eddy:function/function`): declared states are read at load,
//! a batch returns its effects, a failure (trap, fuel, memory, `err`) fails only that call
//! and the next runs on a fresh instance; a component of another world is refused at load
//! with what it should export.

use eddy_wasm::{
    Address, CallError, Context, Effects, EgressValue, Error, Expiration, Message, StateValue, TypedValue,
};

use crate::guests::{guest, host};

fn string(text: &str) -> TypedValue {
    // A Statefun string: field 1, length-delimited.
    let mut value = vec![0x0a, u8::try_from(text.len()).expect("short")];
    value.extend_from_slice(text.as_bytes());
    TypedValue { typename: "io.statefun.types/string".into(), value }
}

fn long(value: i64) -> TypedValue {
    // A Statefun long: field 1, sfixed64.
    let mut bytes = vec![0x09];
    bytes.extend_from_slice(&value.to_le_bytes());
    TypedValue { typename: "io.statefun.types/long".into(), value: bytes }
}

fn address(name: &str, id: &str) -> Address {
    Address { namespace: "example".into(), name: name.into(), id: id.into() }
}

fn from_ingress(text: &str) -> Message {
    Message { caller: None, argument: string(text) }
}

fn context(name: &str, states: Vec<StateValue>) -> Context {
    Context { address: address(name, "ann"), states }
}

#[test]
fn a_greeter_counts_and_answers_its_caller_or_egresses() {
    let function = host().load(&guest("fn-greeter")).expect("load").function().expect("a function");
    assert_eq!(function.states().len(), 1);
    assert_eq!(function.states()[0].name, "seen");
    assert!(matches!(function.states()[0].expiration, Expiration::Never));
    let mut instance = function.instance();
    let seen = StateValue { name: "seen".into(), value: Some(long(2)) };
    let from_bob = Message { caller: Some(address("caller", "bob")), argument: string("bob") };
    let effects: Effects =
        instance.invoke(&context("greeter", vec![seen]), &[from_ingress("ann"), from_bob]).expect("invoke");
    let counts: Vec<_> = effects.states.iter().map(|state| state.value.clone()).collect();
    assert_eq!(counts, vec![Some(long(3)), Some(long(4))]);
    let [egress] = effects.egress.as_slice() else { panic!("one egress record: {:?}", effects.egress) };
    assert_eq!(egress.egress, "example/greets");
    let EgressValue::Topic(record) = &egress.value else { panic!("a topic record") };
    assert_eq!((record.topic.as_str(), record.key.as_deref()), ("greetings", Some("ann")));
    assert_eq!(record.value, b"Hello ann, #3");
    let [reply] = effects.messages.as_slice() else { panic!("one reply: {:?}", effects.messages) };
    assert_eq!(reply.target, address("caller", "bob"));
    assert_eq!(reply.argument, string("Hello bob, #4"));
}

#[test]
fn a_failing_call_fails_alone_and_the_next_runs_on_a_fresh_instance() {
    let function = host().load(&guest("fn-faulty")).expect("load").function().expect("a function");
    let mut instance = function.instance();
    let fine = |instance: &mut eddy_wasm::FunctionInstance| {
        let effects =
            instance.invoke(&context("faulty", Vec::new()), &[from_ingress("x")]).expect("a good call");
        assert_eq!(effects.states[0].value, Some(long(1)));
    };
    fine(&mut instance);
    for (message, check) in [
        ("trap", (|e: &CallError| matches!(e, CallError::Trapped(_))) as fn(&CallError) -> bool),
        ("spin", |e| matches!(e, CallError::OutOfFuel { .. })),
        ("grow", |e| matches!(e, CallError::MemoryLimit { .. })),
    ] {
        let error = instance
            .invoke(&context("faulty", Vec::new()), &[from_ingress("x"), from_ingress(message)])
            .expect_err(message);
        assert!(check(&error), "{message}: {error:?}");
        assert!(error.replaced_instance(), "{message}: {error}");
        fine(&mut instance);
    }
    let error =
        instance.invoke(&context("faulty", Vec::new()), &[from_ingress("refuse")]).expect_err("refuse");
    assert_eq!(error, CallError::Returned("refused on purpose".into()));
    fine(&mut instance);
}

#[test]
fn components_of_another_world_are_refused_with_what_to_export() {
    let host = host();
    let error = host.load(&guest("map")).expect("load").function().expect_err("a map operator");
    assert!(matches!(error, Error::NotAFunction { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("`invoke: func(context: context"), "{message}");
    assert!(message.contains("it exports: map"), "{message}");
    let error = host.load(&guest("fn-wrong")).expect("load").function().expect_err("wrong types");
    assert!(matches!(error, Error::WrongSignature { .. }), "{error:?}");
}
