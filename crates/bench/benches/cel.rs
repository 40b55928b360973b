//! The cost of one CEL expression on one record, the unit of work of every CEL operator:
//! a filter, a map literal, a key and a state update, on a 3-field reading.
//!
//! `cargo bench -p eddy-bench --bench cel`

#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use eddy_dataflow::expr::{Bindings, Expr};
use serde_json::json;

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

criterion_group!(benches, eval);
criterion_main!(benches);
