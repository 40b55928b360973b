//! The cost of one CEL expression on one record, the unit of work of every CEL operator:
//! a filter, a map literal, a key and a state update, on a 3-field reading; and the
//! filter-maps of Nexmark q0, q1 and q2 and the update of q7 on a generated bid event, on
//! the compiled fast path and in the CEL interpreter (`Expr::interpreted`).
//!
//! `cargo bench -p eddy-bench --bench cel`

#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use eddy_bench as _;
use eddy_dataflow::expr::{Bindings, Expr};
use eddy_nexmark::{Config, Generator};
use serde_json::{Value, json};

const Q0: &str = "value.event_type == 2 ? {'auction': value.bid.auction, 'bidder': value.bid.bidder, \
    'price': value.bid.price, 'dateTime': value.bid.dateTime, 'extra': value.bid.extra} : null";
const Q1: &str = "value.event_type == 2 ? {'auction': value.bid.auction, 'bidder': value.bid.bidder, \
    'price': double(value.bid.price) * 0.908, 'dateTime': value.bid.dateTime, 'extra': value.bid.extra} : null";
const Q2: &str = "value.event_type == 2 && value.bid.auction % 123 == 0 \
    ? {'auction': value.bid.auction, 'price': value.bid.price} : null";
const Q7: &str = "state.bidder == 0 || value.bid.price > state.price \
    || (value.bid.price == state.price && (value.bid.dateTime < state.dateTime \
        || (value.bid.dateTime == state.dateTime && value.bid.bidder < state.bidder))) \
    ? {'price': value.bid.price, 'bidder': value.bid.bidder, 'dateTime': value.bid.dateTime, 'extra': value.bid.extra} \
    : state";

/// The first bid the generator makes, as a source hands it to operators.
fn bid() -> Value {
    let generator = Generator::new(Config { seed: 42, base_time: 1_700_000_000_000, ..Config::default() });
    generator
        .events(0..100)
        .map(|event| event.to_value())
        .find(|event| event["event_type"] == json!(2))
        .expect("a bid among the first 100 events")
}

fn nexmark(c: &mut Criterion) {
    let event = bid();
    let state = json!({"price": 1, "bidder": 1, "dateTime": 0, "extra": ""});
    let mut group = c.benchmark_group("cel-nexmark");
    for (name, source) in [("q0", Q0), ("q1", Q1), ("q2", Q2), ("q7-update", Q7)] {
        let fast = Expr::compile(source).expect("compiles");
        assert!(fast.is_compiled(), "{name} is on the fast path");
        let interpreted = fast.interpreted();
        let bindings = Bindings::new(&event).with_state(&state);
        assert_eq!(fast.eval(&bindings), interpreted.eval(&bindings));
        group.bench_function(format!("{name}/fast"), |b| b.iter(|| fast.eval(&bindings).expect("evaluates")));
        group.bench_function(format!("{name}/interpreter"), |b| {
            b.iter(|| interpreted.eval(&bindings).expect("evaluates"))
        });
    }
    group.finish();
}

fn eval(c: &mut Criterion) {
    let reading = json!({"sensor": "sensor-42", "temp": 31.5, "ts": 1_700_000_000});
    let state = json!(41);
    let mut group = c.benchmark_group("cel");
    let cases = [
        ("filter", "value.temp > 10.0"),
        ("map", "{'sensor': value.sensor, 'temp': value.temp}"),
        ("assign-key", "value.sensor"),
    ];
    for (name, source) in cases {
        let expr = Expr::compile(source).expect("compiles");
        let bindings = Bindings::new(&reading).with_timestamp(7);
        group.bench_function(name, |b| b.iter(|| expr.eval(&bindings).expect("evaluates")));
    }
    let update = Expr::compile("state + 1").expect("compiles");
    let bindings = Bindings::new(&reading).with_state(&state);
    group.bench_function("update-state", |b| b.iter(|| update.eval(&bindings).expect("evaluates")));
    group.finish();
}

criterion_group!(benches, eval, nexmark);
criterion_main!(benches);
