//! Nexmark generation rate: events made per second, as typed events, encoded as JSON, and
//! as the `serde_json::Value` a dataflow source hands to operators (parsed from the JSON, or
//! built directly with `Event::to_value`).
//!
//! `cargo bench -p eddy-bench --bench nexmark`

#![allow(missing_docs)]

use eddy_bench as _;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use eddy_nexmark::{Config, Event, Generator};

/// Events per iteration: 200 full cycles of the 1 : 3 : 46 mix.
const EVENTS: u64 = 10_000;

fn generate(c: &mut Criterion) {
    let generator = Generator::new(Config { seed: 1, base_time: 1_700_000_000_000, ..Config::default() });
    let mut group = c.benchmark_group("nexmark");
    group.throughput(Throughput::Elements(EVENTS));
    let mut event = Event::new();
    let mut start = 0;
    group.bench_function("generate", |b| {
        b.iter(|| {
            for number in start..start + EVENTS {
                generator.generate(number, &mut event);
                black_box(&event);
            }
            start += EVENTS;
        });
    });
    let mut json = Vec::with_capacity(EVENTS as usize * 256);
    let mut start = 0;
    group.bench_function("generate+json", |b| {
        b.iter(|| {
            json.clear();
            for number in start..start + EVENTS {
                generator.generate(number, &mut event);
                event.write_json(&mut json);
                json.push(b'\n');
            }
            start += EVENTS;
            black_box(&json);
        });
    });
    let mut start = 0;
    group.bench_function("generate+json+parse", |b| {
        b.iter(|| {
            for number in start..start + EVENTS {
                generator.generate(number, &mut event);
                json.clear();
                event.write_json(&mut json);
                let value: serde_json::Value = serde_json::from_slice(&json).expect("valid JSON");
                black_box(value);
            }
            start += EVENTS;
        });
    });
    let mut start = 0;
    group.bench_function("generate+value", |b| {
        b.iter(|| {
            for number in start..start + EVENTS {
                generator.generate(number, &mut event);
                black_box(event.to_value());
            }
            start += EVENTS;
        });
    });
    group.finish();
}

criterion_group!(benches, generate);
criterion_main!(benches);
