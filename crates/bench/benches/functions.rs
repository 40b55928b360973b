//! Stateful functions: an embedded counter function under the runtime, native Rust
//! (`native-counter`) and a WebAssembly component (`wasm-counter`, the test guest
//! `fn-counter`, from the compilation cache), one message per ingress record over 1,000 ids,
//! with state shipped and applied per batch and exactly-once epochs at the default commit
//! interval.
//!
//! Each iteration runs the module to idle over `MESSAGES` records in a fresh data directory
//! (the records are produced in the setup, not timed), so the time includes start-up and the
//! final commit.
//!
//! `cargo bench -p eddy-bench --bench functions`

#![allow(missing_docs)]

use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use eddy_functions::Options;
use eddy_functions::native::{Context, Function, NativeFunctions};
use eddy_log::{Log, Options as LogOptions, TopicConfig};
use eddy_state::StateStore;
use eddy_statefun::state_spec::{Expiration, StateSpec};
use eddy_statefun::{Module, TypedValue};
use eddy_types::{Record, TopicName, partition_for_key};

const MESSAGES: u64 = 200_000;
const IDS: u64 = 1_000;

const MODULE: &str = "kind: io.statefun.kafka.v1/ingress
spec:
  id: bench/hits
  startupPosition:
    type: earliest
  topics:
    - topic: hits
      valueType: io.statefun.types/string
      targets: [bench/counter]
";

struct Counter;

impl Function for Counter {
    fn states(&self) -> Vec<StateSpec> {
        let typename = "io.statefun.types/long".to_owned();
        vec![StateSpec { name: "count".to_owned(), typename, expiration: Expiration::Never }]
    }

    fn invoke(&self, context: &mut Context<'_>, _message: TypedValue) -> Result<(), String> {
        let count = context.get("count").and_then(|value| value.as_long().ok()).unwrap_or(0);
        context.set("count", TypedValue::long(count + 1));
        Ok(())
    }
}

fn prepared() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = Log::open(dir.path().join("log"), LogOptions::default()).expect("log");
    let topic = log
        .create_topic(&TopicName::new("hits").expect("name"), TopicConfig::with_partitions(2))
        .expect("topic");
    let value = TypedValue::string("hit").value.expect("a value");
    let mut partitions: Vec<Vec<Record>> = vec![Vec::new(), Vec::new()];
    for n in 0..MESSAGES {
        let id = format!("id{}", n % IDS);
        let partition = partition_for_key(id.as_bytes(), 2) as usize;
        partitions[partition].push(Record::new(Some(id.into_bytes()), value.clone(), 0));
    }
    for (id, records) in partitions.iter().enumerate() {
        let partition = topic.partition(id as u32).expect("partition");
        for chunk in records.chunks(4096) {
            partition.append(chunk.iter().map(Record::as_ref)).expect("append");
        }
        partition.commit().expect("commit");
    }
    dir
}

fn run_wasm(dir: &tempfile::TempDir, module: &Module, cache: &std::path::Path) {
    let log = Arc::new(Log::open(dir.path().join("log"), LogOptions::default()).expect("log"));
    let store = Arc::new(StateStore::open(&dir.path().join("state")).expect("store"));
    let mut options = Options { until_idle: true, ..Options::default() };
    options.wasm.cache_dir = Some(cache.to_owned());
    let summary = eddy_functions::start(module, log, store, options).expect("start").wait().expect("run");
    assert_eq!(summary.messages, MESSAGES);
}

fn run(dir: &tempfile::TempDir, module: &Module) {
    let log = Arc::new(Log::open(dir.path().join("log"), LogOptions::default()).expect("log"));
    let store = Arc::new(StateStore::open(&dir.path().join("state")).expect("store"));
    let options = Options { until_idle: true, ..Options::default() };
    let functions = NativeFunctions::new().with("bench/counter".parse().expect("type"), Counter);
    let summary = eddy_functions::start_with(module, log, store, options, move |_| Arc::new(functions))
        .expect("start")
        .wait()
        .expect("run");
    assert_eq!(summary.messages, MESSAGES);
}

fn functions(c: &mut Criterion) {
    let module = Module::parse("module.yaml", MODULE).expect("module");
    let mut group = c.benchmark_group("functions");
    group.sample_size(10);
    group.throughput(Throughput::Elements(MESSAGES));
    group.bench_function("native-counter", |b| {
        b.iter_batched(prepared, |dir| run(&dir, &module), BatchSize::PerIteration)
    });
    let counter = eddy_test_guests::component("fn-counter");
    let wasm_module = format!(
        "kind: io.eddy.endpoints.v1/wasm\nspec:\n  functions: bench/counter\n  component: {}\n---\n{MODULE}",
        counter.display()
    );
    let wasm_module = Module::parse("module.yaml", &wasm_module).expect("module");
    let cache = tempfile::tempdir().expect("cache directory");
    group.bench_function("wasm-counter", |b| {
        b.iter_batched(prepared, |dir| run_wasm(&dir, &wasm_module, cache.path()), BatchSize::PerIteration)
    });
    group.finish();
}

criterion_group!(benches, functions);
criterion_main!(benches);
