//! Stateful functions: an embedded counter function under the runtime, native Rust
//! (`native-counter`) and a WebAssembly component (`wasm-counter`, the test guest
//! `fn-counter`, from the compilation cache), one message per ingress record over 1,000 ids,
//! with state shipped and applied per batch and exactly-once epochs at the default commit
//! interval.
//!
//! The runtime spreads addresses over shards by key group, one per core by default
//! (`native-counter`, `wasm-counter`); `native-counter-1-shard` runs the same on one shard.
//! The ingress topic has two partitions keyed as Kafka would, so with two shards every
//! ingress message stays on the shard that read it. `native-relay-{1,2}-shards` passes
//! `RELAY_CHAINS` chains of `RELAY_HOPS` messages from id to id (the next id, so about every
//! other hop crosses to the other shard): the cost of messages between shards.
//!
//! Each iteration runs the module to idle over `MESSAGES` records in a fresh data directory
//! whose log and state store are opened in the setup with the records produced (not timed):
//! the time is the runtime's, from its start (recovery, loading the component) to its final
//! commit.
//!
//! Over HTTP (`remote-functions`): a minimal endpoint in Rust (hyper, HTTP/1.1) serves the
//! counter with the Statefun request-reply protocol; Eddy runs a module whose ingress sends
//! `REMOTE_MESSAGES` messages over `IDS` ids to it through the endpoint client (batches per
//! address, the state handshake, state shipped with each request, exactly-once epochs). The
//! same endpoint is also called directly, without Eddy, with `IN_FLIGHT` requests in flight:
//! one message per request, and as many per request as Eddy sent on average — what the
//! endpoint itself can do with the requests Eddy makes.
//!
//! The Python SDK (`remote-python`): the same counter written with `apache-flink-statefun`
//! (`bench/counter` in `crates/statefun/tests/python/functions.py`, served by aiohttp in one
//! Python process), `PYTHON_MESSAGES` messages over `IDS` ids through Eddy. Skipped, with a
//! message, when `python3` cannot import `statefun` and `aiohttp`
//! (`pip install apache-flink-statefun==3.3.0 aiohttp`).
//!
//! After each embedded bench, one more run prints the process's CPU time over it (user +
//! system, all threads: the runtime loop, the committer, the store's workers), so that a
//! figure per core can be given beside the wall-clock one. After each remote bench through
//! Eddy, `CPU_RUNS` more runs print Eddy's CPU time per message apart from the endpoint's
//! (the Rust endpoint's tokio worker, or the Python process): on a loaded machine the
//! wall-clock figures vary by a third from run to run, the CPU time per message much less.
//! Each report runs only when its bench was selected.
//!
//! `cargo bench -p eddy-bench --bench functions`

#![allow(missing_docs)]

use eddy_bench as _;
use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
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

const MESSAGES: u64 = 1_000_000;
const REMOTE_MESSAGES: u64 = 200_000;
/// Messages for the Python SDK's counter, which answers far fewer per second.
const PYTHON_MESSAGES: u64 = 20_000;
const IDS: u64 = 1_000;
/// Chains the relay passes on, and hops per chain (`RELAY_CHAINS * (RELAY_HOPS + 1)` messages).
const RELAY_CHAINS: u64 = 10_000;
const RELAY_HOPS: u64 = 99;
/// Runs after a remote bench whose CPU time is summed for its report.
const CPU_RUNS: u64 = 5;
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

const RELAY_MODULE: &str = "kind: io.statefun.kafka.v1/ingress
spec:
  id: bench/chains
  startupPosition:
    type: earliest
  topics:
    - topic: chains
      valueType: io.statefun.types/long
      targets: [bench/relay]
";

/// Counts a visit and passes the chain on to the next id while hops are left.
struct Relay;

impl Function for Relay {
    fn states(&self) -> Vec<StateSpec> {
        let typename = "io.statefun.types/long".to_owned();
        vec![StateSpec { name: "visits".to_owned(), typename, expiration: Expiration::Never }]
    }

    fn invoke(&self, context: &mut Context<'_>, message: TypedValue) -> Result<(), String> {
        let visits = context.get("visits").and_then(|value| value.as_long().ok()).unwrap_or(0);
        context.set("visits", TypedValue::long(visits + 1));
        let left = message.as_long().map_err(|error| error.to_string())?;
        if left > 0 {
            let id: u64 = context.address().id.parse().map_err(|_| "an id that is no number")?;
            let next = eddy_statefun::Address::new(
                context.address().function_type.clone(),
                ((id + 1) % IDS).to_string(),
            )
            .map_err(|error| error.to_string())?;
            context.send(&next, TypedValue::long(left - 1));
        }
        Ok(())
    }
}

/// A fresh data directory whose topic `chains` starts [`RELAY_CHAINS`] chains over [`IDS`] ids.
fn prepared_chains() -> Prepared {
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = Arc::new(Log::open(dir.path().join("log"), LogOptions::default()).expect("log"));
    let topic = log
        .create_topic(&TopicName::new("chains").expect("name"), TopicConfig::with_partitions(2))
        .expect("topic");
    let value = TypedValue::long(RELAY_HOPS as i64).value.expect("a value");
    let mut partitions: Vec<Vec<Record>> = vec![Vec::new(), Vec::new()];
    for n in 0..RELAY_CHAINS {
        let id = (n % IDS).to_string();
        let partition = partition_for_key(id.as_bytes(), 2) as usize;
        partitions[partition].push(Record::new(Some(id.into_bytes()), value.clone(), 0));
    }
    for (id, records) in partitions.iter().enumerate() {
        let partition = topic.partition(id as u32).expect("partition");
        partition.append(records.iter().map(Record::as_ref)).expect("append");
        partition.commit().expect("commit");
    }
    let store = Arc::new(StateStore::open(&dir.path().join("state")).expect("store"));
    Prepared { log, store, _dir: dir }
}

/// Runs the relay to idle on `shards` shards; gives `prepared` back, to be dropped untimed.
fn run_relay(prepared: Prepared, module: &Module, shards: usize) -> Prepared {
    let (log, store) = (Arc::clone(&prepared.log), Arc::clone(&prepared.store));
    let options = Options { until_idle: true, shards, ..Options::default() };
    let functions = NativeFunctions::new().with("bench/relay".parse().expect("type"), Relay);
    let summary = eddy_functions::start_with(module, log, store, options, move |_| Arc::new(functions))
        .expect("start")
        .wait()
        .expect("run");
    assert_eq!(summary.messages, RELAY_CHAINS * (RELAY_HOPS + 1));
    prepared
}

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

/// A data directory with its log and state store open.
struct Prepared {
    log: Arc<Log>,
    store: Arc<StateStore>,
    _dir: tempfile::TempDir,
}

/// A fresh data directory whose topic `hits` holds `messages` records over [`IDS`] ids.
fn prepared(messages: u64) -> Prepared {
    let dir = produced(messages);
    let log = Arc::new(Log::open(dir.path().join("log"), LogOptions::default()).expect("log"));
    let store = Arc::new(StateStore::open(&dir.path().join("state")).expect("store"));
    Prepared { log, store, _dir: dir }
}

fn produced(messages: u64) -> tempfile::TempDir {
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

/// Runs `module` with its components to idle; gives `prepared` back, to be dropped untimed.
fn run_wasm(prepared: Prepared, module: &Module, cache: &std::path::Path) -> Prepared {
    let (log, store) = (Arc::clone(&prepared.log), Arc::clone(&prepared.store));
    let mut options = Options { until_idle: true, ..Options::default() };
    options.wasm.cache_dir = Some(cache.to_owned());
    let summary = eddy_functions::start(module, log, store, options).expect("start").wait().expect("run");
    assert_eq!(summary.messages, MESSAGES);
    prepared
}

/// Runs `module` with the native counter to idle (on `shards`, else one per core); gives
/// `prepared` back, to be dropped untimed.
fn run(prepared: Prepared, module: &Module, shards: Option<usize>) -> Prepared {
    let (log, store) = (Arc::clone(&prepared.log), Arc::clone(&prepared.store));
    let mut options = Options { until_idle: true, ..Options::default() };
    options.shards = shards.unwrap_or(options.shards);
    let functions = NativeFunctions::new().with("bench/counter".parse().expect("type"), Counter);
    let summary = eddy_functions::start_with(module, log, store, options, move |_| Arc::new(functions))
        .expect("start")
        .wait()
        .expect("run");
    assert_eq!(summary.messages, MESSAGES);
    prepared
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

/// The Python SDK's functions (`crates/statefun/tests/python/functions.py`) on a free port;
/// killed when dropped.
struct PythonEndpoint {
    child: Child,
    port: u16,
}

impl PythonEndpoint {
    /// Starts the script; `None`, with the reason printed, when python3 or the SDK is missing.
    fn start() -> Option<Self> {
        let check = Command::new("python3").args(["-c", "import statefun, aiohttp"]).output();
        match check {
            Ok(output) if output.status.success() => {}
            Ok(output) => {
                let reason = String::from_utf8_lossy(&output.stderr);
                eprintln!("remote-python skipped: the Statefun SDK is missing ({})", reason.trim());
                eprintln!("install it with: pip install apache-flink-statefun==3.3.0 aiohttp");
                return None;
            }
            Err(error) => {
                eprintln!("remote-python skipped: python3 does not run ({error})");
                return None;
            }
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../statefun/tests/python/functions.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|error| eprintln!("remote-python skipped: python3 does not start ({error})"))
            .ok()?;
        let mut line = String::new();
        let stdout = child.stdout.take().expect("a piped stdout");
        let _ = BufReader::new(stdout).read_line(&mut line);
        let port = line.trim().strip_prefix("PORT ").and_then(|port| port.parse().ok());
        let Some(port) = port else {
            eprintln!("remote-python skipped: expected `PORT <n>` from {}, got `{line}`", script.display());
            let _ = child.kill();
            let _ = child.wait();
            return None;
        };
        Some(Self { child, port })
    }
}

impl Drop for PythonEndpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

/// Runs `module` to idle over `prepared`, whose `messages` records must all be processed.
fn through_eddy(prepared: Prepared, module: &Module, messages: u64) -> Prepared {
    let (log, store) = (Arc::clone(&prepared.log), Arc::clone(&prepared.store));
    let options = Options { until_idle: true, ..Options::default() };
    let summary = eddy_functions::start(module, log, store, options).expect("start").wait().expect("run");
    assert_eq!(summary.messages, messages);
    REQUESTS.store(summary.requests, std::sync::atomic::Ordering::Relaxed);
    prepared
}

/// Requests the last run through Eddy sent (handshakes included).
static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Request `n`, of `messages` messages for one id, with the state the counter declares, as
/// Eddy would send once the handshake is done.
fn request(n: u64, messages: usize) -> ToFunction {
    let typed =
        |typename: &str, value: Bytes| ProtoValue { typename: typename.to_owned(), has_value: true, value };
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
                    TypedValue::long(7).value.expect("a value"),
                )),
            }],
            invocations: vec![
                Invocation {
                    caller: None,
                    argument: Some(typed(
                        "io.statefun.types/string",
                        TypedValue::string("hit").value.expect("a value"),
                    )),
                };
                messages
            ],
        })),
    }
}

/// Sends `REMOTE_MESSAGES` messages straight to the endpoint, `per_request` in each request,
/// [`IN_FLIGHT`] requests at a time.
async fn directly(client: Arc<FunctionClient>, url: Arc<str>, per_request: usize) {
    let requests = REMOTE_MESSAGES / per_request as u64;
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..IN_FLIGHT as u64 {
        let (client, url) = (Arc::clone(&client), Arc::clone(&url));
        tasks.spawn(async move {
            let mut n = lane;
            while n < requests {
                client.call(&url, &request(n, per_request)).await.expect("a reply");
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
    let mut ran = false;
    group.bench_function("rust-endpoint-through-eddy", |b| {
        ran = true;
        b.iter_batched(
            || prepared(REMOTE_MESSAGES),
            |prepared| through_eddy(prepared, &module, REMOTE_MESSAGES),
            BatchSize::PerIteration,
        )
    });
    let requests = REQUESTS.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("through Eddy: {requests} requests for {REMOTE_MESSAGES} messages");
    if ran {
        report_remote_cpu("rust-endpoint-through-eddy", REMOTE_MESSAGES, None, |prepared| {
            through_eddy(prepared, &module, REMOTE_MESSAGES)
        });
    }
    let client = Arc::new(FunctionClient::new(Default::default()));
    let url: Arc<str> = format!("http://{address}/counter").into();
    group.bench_function("rust-endpoint-directly", |b| {
        b.iter(|| runtime.block_on(directly(Arc::clone(&client), Arc::clone(&url), 1)))
    });
    // The endpoint again, with requests as large as those Eddy sent on average.
    let per_request = (REMOTE_MESSAGES / requests.max(1)).max(1) as usize;
    group.bench_function(format!("rust-endpoint-directly-{per_request}-per-request"), |b| {
        b.iter(|| runtime.block_on(directly(Arc::clone(&client), Arc::clone(&url), per_request)))
    });
    group.finish();
}

/// The counter served by the Python SDK, through Eddy.
fn remote_python(c: &mut Criterion) {
    let Some(python) = PythonEndpoint::start() else { return };
    let address = SocketAddr::from(([127, 0, 0, 1], python.port));
    let module = remote_module(address);
    let mut group = c.benchmark_group("remote-python");
    group.sample_size(10);
    group.throughput(Throughput::Elements(PYTHON_MESSAGES));
    let mut ran = false;
    group.bench_function("python-sdk-through-eddy", |b| {
        ran = true;
        b.iter_batched(
            || prepared(PYTHON_MESSAGES),
            |prepared| through_eddy(prepared, &module, PYTHON_MESSAGES),
            BatchSize::PerIteration,
        )
    });
    if ran {
        let requests = REQUESTS.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!("through Eddy to Python: {requests} requests for {PYTHON_MESSAGES} messages");
        report_remote_cpu("python-sdk-through-eddy", PYTHON_MESSAGES, Some(python.child.id()), |prepared| {
            through_eddy(prepared, &module, PYTHON_MESSAGES)
        });
    }
    group.finish();
    drop(python);
}

fn functions(c: &mut Criterion) {
    let module = Module::parse("module.yaml", MODULE).expect("module");
    let mut group = c.benchmark_group("functions");
    group.sample_size(10);
    group.throughput(Throughput::Elements(MESSAGES));
    for (name, shards) in [("native-counter", None), ("native-counter-1-shard", Some(1))] {
        let mut ran = false;
        group.bench_function(name, |b| {
            ran = true;
            b.iter_batched(
                || prepared(MESSAGES),
                |prepared| run(prepared, &module, shards),
                BatchSize::PerIteration,
            )
        });
        if ran {
            report_cpu(name, MESSAGES, || prepared(MESSAGES), |prepared| run(prepared, &module, shards));
        }
    }
    let relay = Module::parse("module.yaml", RELAY_MODULE).expect("module");
    group.throughput(Throughput::Elements(RELAY_CHAINS * (RELAY_HOPS + 1)));
    for shards in [1, 2] {
        let name = format!("native-relay-{shards}-shard{}", if shards == 1 { "" } else { "s" });
        let mut ran = false;
        group.bench_function(&name, |b| {
            ran = true;
            b.iter_batched(
                prepared_chains,
                |prepared| run_relay(prepared, &relay, shards),
                BatchSize::PerIteration,
            )
        });
        if ran {
            report_cpu(&name, RELAY_CHAINS * (RELAY_HOPS + 1), prepared_chains, |prepared| {
                run_relay(prepared, &relay, shards)
            });
        }
    }
    group.throughput(Throughput::Elements(MESSAGES));
    let mut ran = false;
    let counter = eddy_test_guests::component("fn-counter");
    let wasm_module = format!(
        "kind: io.eddy.endpoints.v1/wasm\nspec:\n  functions: bench/counter\n  component: {}\n---\n{MODULE}",
        counter.display()
    );
    let wasm_module = Module::parse("module.yaml", &wasm_module).expect("module");
    let cache = tempfile::tempdir().expect("cache directory");
    group.bench_function("wasm-counter", |b| {
        ran = true;
        b.iter_batched(
            || prepared(MESSAGES),
            |prepared| run_wasm(prepared, &wasm_module, cache.path()),
            BatchSize::PerIteration,
        )
    });
    if ran {
        report_cpu(
            "wasm-counter",
            MESSAGES,
            || prepared(MESSAGES),
            |prepared| run_wasm(prepared, &wasm_module, cache.path()),
        );
    }
    group.finish();
}

/// CPU time the process has used, user and system, over all its threads (Linux: from
/// `/proc/self/stat`, in the kernel's fixed 100 Hz ticks).
fn cpu_time() -> std::time::Duration {
    stat_cpu_time(&std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat")).1
}

/// The command name and the CPU time (user + system) of a `/proc/.../stat` line.
fn stat_cpu_time(stat: &str) -> (&str, std::time::Duration) {
    // The command name is in parentheses and may hold spaces.
    let (head, rest) = stat.rsplit_once(')').expect("a stat line");
    let name = head.split_once('(').map_or("", |(_, name)| name);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |field: usize| fields[field].parse::<u64>().expect("clock ticks");
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (name, std::time::Duration::from_millis((ticks(11) + ticks(12)) * 10))
}

/// CPU time of this process's threads named `name` that are alive now.
fn threads_cpu_time(name: &str) -> std::time::Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return std::time::Duration::ZERO };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("stat")).ok())
        .map(|stat| {
            let (thread, cpu) = stat_cpu_time(&stat);
            if thread == name { cpu } else { std::time::Duration::ZERO }
        })
        .sum()
}

/// CPU time of process `pid`, if it can be read.
fn process_cpu_time(pid: u32) -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat_cpu_time(&stat).1)
}

/// Runs `run` [`CPU_RUNS`] times more over `messages` messages each and prints the CPU time
/// Eddy spent per message: the process's, less the endpoint's threads (the bench's own tokio
/// worker serves the Rust endpoint), and that of the endpoint process `endpoint`, if given.
fn report_remote_cpu(
    name: &str,
    messages: u64,
    endpoint: Option<u32>,
    mut run: impl FnMut(Prepared) -> Prepared,
) {
    let (mut wall, mut eddy, mut endpoint_cpu) =
        (std::time::Duration::ZERO, std::time::Duration::ZERO, std::time::Duration::ZERO);
    for _ in 0..CPU_RUNS {
        let prepared = prepared(messages);
        let endpoint_before = endpoint.and_then(process_cpu_time);
        let (cpu, served, started) =
            (cpu_time(), threads_cpu_time("tokio-rt-worker"), std::time::Instant::now());
        let prepared = run(prepared);
        wall += started.elapsed();
        let served = threads_cpu_time("tokio-rt-worker") - served;
        eddy += cpu_time() - cpu - served;
        endpoint_cpu += served;
        if let (Some(before), Some(after)) = (endpoint_before, endpoint.and_then(process_cpu_time)) {
            endpoint_cpu += after - before;
        }
        drop(prepared);
    }
    let total = (messages * CPU_RUNS) as f64;
    eprintln!(
        "{name}: {CPU_RUNS} runs of {messages} messages in {wall:.2?} ({:.0} k/s); CPU: Eddy {eddy:.2?} \
         ({:.2} µs per message, {:.0} k messages per CPU second), the endpoint {endpoint_cpu:.2?} \
         ({:.2} µs per message)",
        total / wall.as_secs_f64() / 1e3,
        eddy.as_secs_f64() * 1e6 / total,
        total / eddy.as_secs_f64() / 1e3,
        endpoint_cpu.as_secs_f64() * 1e6 / total,
    );
}

/// Runs `run` once more over `messages` and prints its wall-clock and CPU rates.
fn report_cpu(
    name: &str,
    messages: u64,
    prepare: impl FnOnce() -> Prepared,
    run: impl FnOnce(Prepared) -> Prepared,
) {
    let prepared = prepare();
    let (cpu, wall) = (cpu_time(), std::time::Instant::now());
    let prepared = run(prepared);
    let (cpu, wall) = (cpu_time() - cpu, wall.elapsed());
    drop(prepared);
    let rate = |time: std::time::Duration| messages as f64 / time.as_secs_f64();
    eprintln!(
        "{name}: {messages} messages in {wall:.2?} ({:.0} k/s), CPU {cpu:.2?} ({:.0} k messages per CPU second, {:.2} cores busy)",
        rate(wall) / 1e3,
        rate(cpu) / 1e3,
        cpu.as_secs_f64() / wall.as_secs_f64()
    );
}

criterion_group!(benches, functions, remote, remote_python);
criterion_main!(benches);
