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
//! Over HTTP (`remote-functions`): a minimal endpoint in Rust (hyper, HTTP/1.1) serves the
//! counter with the Statefun request-reply protocol; Eddy runs a module whose ingress sends
//! `REMOTE_MESSAGES` messages over `IDS` ids to it through the endpoint client (batches per
//! address, the state handshake, state shipped with each request, exactly-once epochs). The
//! same endpoint is also called directly, without Eddy, one message per request with
//! `IN_FLIGHT` requests in flight: what the endpoint itself can do.
//!
//! `cargo bench -p eddy-bench --bench functions`

#![allow(missing_docs)]

use eddy_bench as _;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use eddy_functions::native::{Context, Function, NativeFunctions};
use eddy_functions::{Functions, Options};
use eddy_log::{Log, Options as LogOptions, TopicConfig};
use eddy_state::StateStore;
use eddy_statefun::proto::reqreply::to_function::{
    Invocation, InvocationBatchRequest, PersistedValue, Request,
};
use eddy_statefun::proto::reqreply::{Address as ProtoAddress, ToFunction, TypedValue as ProtoValue};
use eddy_statefun::state_spec::{Expiration, StateSpec};
use eddy_statefun::{FunctionClient, Module, TypedValue};
use eddy_types::{Record, TopicName, partition_for_key};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request as HttpRequest, Response};
use hyper_util::rt::TokioIo;
use prost::Message;
use tokio::net::TcpListener;

const MESSAGES: u64 = 200_000;
const REMOTE_MESSAGES: u64 = 50_000;
const IDS: u64 = 1_000;
/// Requests in flight when the endpoint is called directly.
const IN_FLIGHT: usize = 64;

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

fn prepared(messages: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = Log::open(dir.path().join("log"), LogOptions::default()).expect("log");
    let topic = log
        .create_topic(&TopicName::new("hits").expect("name"), TopicConfig::with_partitions(2))
        .expect("topic");
    let value = TypedValue::string("hit").value.expect("a value");
    let mut partitions: Vec<Vec<Record>> = vec![Vec::new(), Vec::new()];
    for n in 0..messages {
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

/// Serves the counter at `http://<address>/<function>` until the runtime stops.
async fn serve() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let address = listener.local_addr().expect("an address");
    let functions = Arc::new(NativeFunctions::new().with("bench/counter".parse().expect("type"), Counter));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let functions = Arc::clone(&functions);
            let service = service_fn(move |request: HttpRequest<Incoming>| {
                let functions = Arc::clone(&functions);
                async move {
                    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let reply = match ToFunction::decode(body) {
                        Ok(to_function) => functions.invoke(to_function).await.ok(),
                        Err(_) => None,
                    };
                    let response = match reply {
                        Some(from_function) => {
                            Response::new(Full::new(Bytes::from(from_function.encode_to_vec())))
                        }
                        None => {
                            let mut bad = Response::new(Full::new(Bytes::new()));
                            *bad.status_mut() = hyper::StatusCode::BAD_REQUEST;
                            bad
                        }
                    };
                    Ok::<_, Infallible>(response)
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    address
}

fn remote_module(address: SocketAddr) -> Module {
    let text = format!(
        "kind: io.statefun.endpoints.v2/http
spec:
  functions: bench/*
  urlPathTemplate: http://{address}/{{function.name}}
  maxNumBatchRequests: 1000
---
{MODULE}"
    );
    Module::parse("module.yaml", &text).expect("module")
}

fn through_eddy(dir: &tempfile::TempDir, module: &Module) {
    let log = Arc::new(Log::open(dir.path().join("log"), LogOptions::default()).expect("log"));
    let store = Arc::new(StateStore::open(&dir.path().join("state")).expect("store"));
    let options = Options { until_idle: true, ..Options::default() };
    let summary = eddy_functions::start(module, log, store, options).expect("start").wait().expect("run");
    assert_eq!(summary.messages, REMOTE_MESSAGES);
    REQUESTS.store(summary.requests, std::sync::atomic::Ordering::Relaxed);
}

/// Requests the last run through Eddy sent (handshakes included).
static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One request per message, with the state the counter declares, as Eddy would send once
/// the handshake is done.
fn request(n: u64) -> ToFunction {
    let typed =
        |typename: &str, value: Vec<u8>| ProtoValue { typename: typename.to_owned(), has_value: true, value };
    ToFunction {
        request: Some(Request::Invocation(InvocationBatchRequest {
            target: Some(ProtoAddress {
                namespace: "bench".to_owned(),
                r#type: "counter".to_owned(),
                id: format!("id{}", n % IDS),
            }),
            state: vec![PersistedValue {
                state_name: "count".to_owned(),
                state_value: Some(typed(
                    "io.statefun.types/long",
                    TypedValue::long(7).value.expect("a value").to_vec(),
                )),
            }],
            invocations: vec![Invocation {
                caller: None,
                argument: Some(typed(
                    "io.statefun.types/string",
                    TypedValue::string("hit").value.expect("a value").to_vec(),
                )),
            }],
        })),
    }
}

async fn directly(client: Arc<FunctionClient>, url: Arc<str>) {
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..IN_FLIGHT as u64 {
        let (client, url) = (Arc::clone(&client), Arc::clone(&url));
        tasks.spawn(async move {
            let mut n = lane;
            while n < REMOTE_MESSAGES {
                client.call(&url, &request(n)).await.expect("a reply");
                n += IN_FLIGHT as u64;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a lane");
    }
}

fn remote(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let address = runtime.block_on(serve());
    let module = remote_module(address);
    let mut group = c.benchmark_group("remote-functions");
    group.sample_size(10);
    group.throughput(Throughput::Elements(REMOTE_MESSAGES));
    group.bench_function("rust-endpoint-through-eddy", |b| {
        b.iter_batched(
            || prepared(REMOTE_MESSAGES),
            |dir| through_eddy(&dir, &module),
            BatchSize::PerIteration,
        )
    });
    let requests = REQUESTS.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("through Eddy: {requests} requests for {REMOTE_MESSAGES} messages");
    let client = Arc::new(FunctionClient::new(Default::default()));
    let url: Arc<str> = format!("http://{address}/counter").into();
    group.bench_function("rust-endpoint-directly", |b| {
        b.iter(|| runtime.block_on(directly(Arc::clone(&client), Arc::clone(&url))))
    });
    group.finish();
}

fn functions(c: &mut Criterion) {
    let module = Module::parse("module.yaml", MODULE).expect("module");
    let mut group = c.benchmark_group("functions");
    group.sample_size(10);
    group.throughput(Throughput::Elements(MESSAGES));
    group.bench_function("native-counter", |b| {
        b.iter_batched(|| prepared(MESSAGES), |dir| run(&dir, &module), BatchSize::PerIteration)
    });
    let counter = eddy_test_guests::component("fn-counter");
    let wasm_module = format!(
        "kind: io.eddy.endpoints.v1/wasm\nspec:\n  functions: bench/counter\n  component: {}\n---\n{MODULE}",
        counter.display()
    );
    let wasm_module = Module::parse("module.yaml", &wasm_module).expect("module");
    let cache = tempfile::tempdir().expect("cache directory");
    group.bench_function("wasm-counter", |b| {
        b.iter_batched(
            || prepared(MESSAGES),
            |dir| run_wasm(&dir, &wasm_module, cache.path()),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, functions, remote);
criterion_main!(benches);
