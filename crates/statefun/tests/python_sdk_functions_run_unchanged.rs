//! Functions written with the Statefun Python SDK (`tests/python/functions.py`), served over
//! HTTP, driven through the module file, the HTTP client and the invocation logic.

mod common;

use std::time::Duration;

use common::TestEngine;
use common::python::PythonFunctions;
use eddy_statefun::invocation::{Delayed, OutgoingMessage};
use eddy_statefun::{Module, RemoteFunctions, TypedValue};

fn module(port: u16) -> Module {
    let text = format!(
        "kind: io.statefun.endpoints.v2/http\n\
         spec:\n  functions: example/*\n  urlPathTemplate: http://127.0.0.1:{port}/{{function.name}}\n  maxNumBatchRequests: 10\n\
         ---\n\
         kind: io.statefun.endpoints.v2/http\n\
         spec:\n  functions: shop/*\n  urlPathTemplate: http://127.0.0.1:{port}/shop-{{function.name}}\n  transport:\n    timeouts:\n      call: 20s\n\
         ---\n\
         kind: io.statefun.kafka.v1/egress\nspec:\n  id: example/greetings\n"
    );
    Module::parse("module.yaml", &text).expect("the test module parses")
}

fn json(typename: &str, value: serde_json::Value) -> TypedValue {
    TypedValue::json(typename, &value).expect("JSON serializes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_greeter_counts_visits_batches_its_backlog_and_keeps_state_per_user() {
    let python = PythonFunctions::start().await;
    let mut engine = TestEngine::new(RemoteFunctions::new(&module(python.port).endpoints));

    // Five visits at once: the first goes alone (and triggers the state handshake), the other
    // four wait and leave as one batch.
    for _ in 0..5 {
        engine.send("example/greeter/ann", TypedValue::string("Ann"));
    }
    assert_eq!(engine.invocations.backlog_len(&"example/greeter/ann".parse().unwrap()), 4);
    engine.run_until_idle().await.unwrap();
    assert_eq!(engine.calls, 3, "first batch, the same batch again after the handshake, then the backlog");
    assert_eq!(engine.state_of("example/greeter/ann", "seen"), Some(&TypedValue::int(5)));
    let specs: Vec<_> =
        engine.invocations.registered_states(&"example/greeter".parse().unwrap()).cloned().collect();
    assert_eq!(specs.len(), 1);
    assert_eq!((specs[0].name.as_str(), specs[0].typename.as_str()), ("seen", "io.statefun.types/int"));

    engine.send("example/greeter/bob", TypedValue::string("Bob"));
    engine.run_until_idle().await.unwrap();
    assert_eq!(engine.calls, 4, "the states are registered now: one call");
    assert_eq!(engine.state_of("example/greeter/bob", "seen"), Some(&TypedValue::int(1)));

    let greetings: Vec<_> = engine.egress_records();
    let expected: Vec<_> = (1..=5)
        .map(|n| format!("Hello Ann, visit number {n}"))
        .map(|text| ("example/greetings".to_owned(), "greetings".to_owned(), "ann".to_owned(), text))
        .chain([(
            "example/greetings".to_owned(),
            "greetings".to_owned(),
            "bob".to_owned(),
            "Hello Bob, visit number 1".to_owned(),
        )])
        .collect();
    assert_eq!(greetings, expected);

    let reminder = |id: &str| Delayed::Send {
        delay: Duration::from_secs(3600),
        message: OutgoingMessage {
            target: format!("example/greeter/{id}").parse().unwrap(),
            argument: TypedValue::string("come back"),
        },
        cancellation_token: Some(format!("remind-{id}")),
    };
    let ann: eddy_statefun::Address = "example/greeter/ann".parse().unwrap();
    let bob: eddy_statefun::Address = "example/greeter/bob".parse().unwrap();
    assert_eq!(
        engine.delayed,
        [
            (ann.clone(), reminder("ann")),
            (ann, Delayed::Cancel { cancellation_token: "remind-ann".into() }),
            (bob, reminder("bob")),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_and_an_inventory_reserve_stock_by_messaging_each_other() {
    let python = PythonFunctions::start().await;
    let mut engine = TestEngine::new(RemoteFunctions::new(&module(python.port).endpoints));

    engine.send("shop/inventory/apple", json("shop/Restock", serde_json::json!({"quantity": 3})));
    engine.run_until_idle().await.unwrap();
    assert_eq!(engine.state_of("shop/inventory/apple", "stock"), Some(&TypedValue::int(3)));

    engine.send("shop/cart/ann", json("shop/AddToCart", serde_json::json!({"item": "apple", "quantity": 2})));
    engine.run_until_idle().await.unwrap();
    engine.send("shop/cart/bob", json("shop/AddToCart", serde_json::json!({"item": "apple", "quantity": 2})));
    engine.run_until_idle().await.unwrap();
    assert_eq!(engine.state_of("shop/inventory/apple", "stock"), Some(&TypedValue::int(1)));
    let basket: serde_json::Value =
        engine.state_of("shop/cart/ann", "basket").unwrap().as_json("shop/Basket").unwrap();
    assert_eq!(basket, serde_json::json!({"apple": 2}));
    assert_eq!(engine.state_of("shop/cart/bob", "basket"), None, "bob got nothing");

    engine.send("shop/cart/ann", json("shop/Checkout", serde_json::json!({})));
    engine.run_until_idle().await.unwrap();
    assert_eq!(engine.state_of("shop/cart/ann", "basket"), None, "checkout deletes the basket");

    let record = |topic: &str, key: &str, value: &str| {
        ("shop/receipts".to_owned(), topic.to_owned(), key.to_owned(), value.to_owned())
    };
    assert_eq!(
        engine.egress_records(),
        [
            record("receipts", "ann", "ann apple x2 IN_STOCK"),
            record("receipts", "bob", "bob apple x2 OUT_OF_STOCK"),
            record("orders", "ann", "apple=2"),
        ]
    );
    assert!(engine.delayed.is_empty());
}
