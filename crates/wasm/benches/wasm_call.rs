//! The cost of calling a component: a map over 100-byte records, one record per call and
//! a batch of 100 per call (filling the batch included), and the cold start of a component found in the on-disk cache
//! (load, first instance, first call).
//!
//! The same calls into components written in C (`tests/guests-c/`) show that the language
//! changes the work done inside the call, not its overhead.
//!
//! `cargo bench -p eddy-wasm --bench wasm_call`. The components are the test guests, built
//! like the tests build them (needs `rustup target add wasm32-wasip2`, and for the C ones
//! the Debian packages `clang lld wasi-libc libclang-rt-dev-wasm32`).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use eddy_wasm::{Batch, Host, NoState, OperatorKind, Options, Record};

#[allow(dead_code)]
#[path = "../tests/host/guests.rs"]
mod guests;
#[path = "../tests/host/guests_c.rs"]
mod guests_c;

/// A JSON value of exactly 100 bytes.
fn value_of_100_bytes() -> Vec<u8> {
    let head = r#"{"sensor":"s-0001","temp":21.5,"pad":""#;
    let mut value = head.as_bytes().to_vec();
    value.resize(100 - 2, b'x');
    value.extend_from_slice(b"\"}");
    assert_eq!(value.len(), 100);
    value
}

fn calls(c: &mut Criterion) {
    let host = Host::new(Options::default()).expect("host");
    let record = Record::new(value_of_100_bytes(), 1_700_000_000_000).with_key("s-0001");
    let mut group = c.benchmark_group("map_100_byte_records");
    // `trap` passes values other than `1` through and `echo-batch` returns its input as its
    // output: maps that do no work, so their time is the call's overhead; `map` and
    // `map-batch` build a new JSON value around the input.
    for (name, guest) in [
        ("identity_single", "trap"),
        ("identity_batch_100", "echo-batch"),
        ("wrap_single", "map"),
        ("wrap_batch_100", "map-batch"),
    ] {
        let operator =
            host.load(&guests::guest(guest)).expect("load").operator(OperatorKind::Map).expect("map");
        let mut pool = operator.pool(NoState).expect("pool");
        if name.ends_with("batch_100") {
            group.throughput(Throughput::Elements(100));
            // Filled per call, as the engine fills it from the records it has read.
            let mut batch = Batch::with_capacity(100, 100 * 106);
            group.bench_function(name, |b| {
                b.iter(|| {
                    batch.clear();
                    for _ in 0..100 {
                        batch.push(record.key.as_deref(), &record.value, record.timestamp);
                    }
                    black_box(pool.call_batch(&mut batch))
                })
            });
        } else {
            group.throughput(Throughput::Elements(1));
            group.bench_function(name, |b| {
                b.iter_batched(
                    || record.clone(),
                    |record| black_box(pool.call(record)),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    group.finish();
}

/// A JSON string of exactly 100 bytes, quotes included.
fn string_of_100_bytes() -> Vec<u8> {
    let mut value = br#""sensor s-0001 reads 21.5 degrees "#.to_vec();
    value.resize(100 - 1, b'x');
    value.push(b'"');
    assert_eq!(value.len(), 100);
    value
}

fn c_calls(c: &mut Criterion) {
    let host = Host::new(Options::default()).expect("host");
    let mut group = c.benchmark_group("c_map_100_byte_records");
    group.throughput(Throughput::Elements(1));
    // `misbehave` passes values other than `1` and `2` through: the call's overhead, as the
    // Rust `identity_single`; `upper` upper-cases a JSON string.
    for (name, guest, value) in [
        ("identity_single", "misbehave", value_of_100_bytes()),
        ("upper_single", "upper", string_of_100_bytes()),
    ] {
        let record = Record::new(value, 1_700_000_000_000).with_key("s-0001");
        let operator =
            host.load(&guests_c::c_guest(guest)).expect("load").operator(OperatorKind::Map).expect("map");
        let mut pool = operator.pool(NoState).expect("pool");
        group.bench_function(name, |b| {
            b.iter_batched(|| record.clone(), |record| black_box(pool.call(record)), BatchSize::SmallInput)
        });
    }
    group.finish();
}

fn cold_start(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let host =
        Host::new(Options { cache_dir: Some(dir.path().to_owned()), ..Options::default() }).expect("host");
    let bytes = guests::guest("map");
    host.load(&bytes).expect("first load compiles and fills the cache");
    let record = Record::new(value_of_100_bytes(), 0);
    c.bench_function("cold_start_cached_component_load_instantiate_first_call", |b| {
        b.iter(|| {
            let component = host.load(&bytes).expect("cached load");
            let mut pool = component.operator(OperatorKind::Map).expect("map").pool(NoState).expect("pool");
            black_box(pool.call(record.clone()).expect("call"))
        })
    });
}

criterion_group!(benches, calls, c_calls, cold_start);
criterion_main!(benches);
