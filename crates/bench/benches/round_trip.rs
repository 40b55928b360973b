//! Stateful functions: the function-to-function message round trip. One ingress message
//! starts `bench/ping`, which messages `bench/pong`, whose reply comes back to `bench/ping`,
//! `ROUND_TRIPS` times in a row; each round trip waits for the one before, so the run's time
//! divided by `ROUND_TRIPS` is the round trip's latency (plus start-up and the final commit
//! spread over the round trips). Both are native Rust functions with persisted state (a
//! counter), under exactly-once epochs at the default 100 ms commit interval: messages
//! between functions do not wait for a commit; only what leaves Eddy does.
//!
//! `native-round-trips`: `bench/pong` has the id of `bench/ping`, so both are on one shard.
//! `native-round-trips-across-shards`: on two shards, `bench/pong` has an id of the other
//! shard's key groups, so every message crosses between the shards' threads.
//!
//! After each, one more run notes when each reply reaches `bench/ping` and prints the round
//! trips' p50, p99 and largest latency.
//!
//! `cargo bench -p eddy-bench --bench round_trip`

#![allow(missing_docs)]

use eddy_bench as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use eddy_functions::native::{Context, Function, NativeFunctions};
use eddy_functions::{Options, key_groups};
use eddy_log::{Log, Options as LogOptions, TopicConfig};
use eddy_state::StateStore;
use eddy_statefun::state_spec::{Expiration, StateSpec};
use eddy_statefun::{Address, FunctionType, Module, TypedValue};
use eddy_types::{Record, TopicName};

const ROUND_TRIPS: u64 = 20_000;

const MODULE: &str = "kind: io.statefun.kafka.v1/ingress
spec:
  id: bench/start
  startupPosition:
    type: earliest
  topics:
    - topic: start
      valueType: io.statefun.types/string
      targets: [bench/ping]
";

fn counter_state() -> Vec<StateSpec> {
    let typename = "io.statefun.types/long".to_owned();
    vec![StateSpec { name: "trips".to_owned(), typename, expiration: Expiration::Never }]
}

/// Counts the replies it gets and sends the next ping until `ROUND_TRIPS`.
struct Ping {
    pong: FunctionType,
    /// The id of the `bench/pong` it messages.
    pong_id: String,
    /// When each message reached it: the start message, then each reply.
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Function for Ping {
    fn states(&self) -> Vec<StateSpec> {
        counter_state()
    }

    fn invoke(&self, context: &mut Context<'_>, _message: TypedValue) -> Result<(), String> {
        self.arrivals.lock().unwrap_or_else(PoisonError::into_inner).push(Instant::now());
        let trips = context.get("trips").and_then(|value| value.as_long().ok()).unwrap_or(0);
        let is_reply = context.caller().is_some();
        let trips = if is_reply { trips + 1 } else { trips };
        context.set("trips", TypedValue::long(trips));
        if (trips as u64) < ROUND_TRIPS {
            let pong = Address::new(self.pong.clone(), self.pong_id.as_str()).map_err(|e| e.to_string())?;
            context.send(&pong, TypedValue::long(trips));
        }
        Ok(())
    }
}

/// Counts the pings it gets and answers each one.
struct Pong;

impl Function for Pong {
    fn states(&self) -> Vec<StateSpec> {
        counter_state()
    }

    fn invoke(&self, context: &mut Context<'_>, message: TypedValue) -> Result<(), String> {
        let trips = context.get("trips").and_then(|value| value.as_long().ok()).unwrap_or(0);
        context.set("trips", TypedValue::long(trips + 1));
        let caller = context.caller().cloned().ok_or("a ping without a caller")?;
        context.send(&caller, message);
        Ok(())
    }
}

fn prepared() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = Log::open(dir.path().join("log"), LogOptions::default()).expect("log");
    let topic = log
        .create_topic(&TopicName::new("start").expect("name"), TopicConfig::with_partitions(1))
        .expect("topic");
    let value = TypedValue::string("go").value.expect("a value");
    let partition = topic.partition(0).expect("partition");
    partition.append([Record::new(Some(b"p".to_vec()), value, 0).as_ref()]).expect("append");
    partition.commit().expect("commit");
    dir
}

/// How ping and pong are placed.
#[derive(Clone, Copy)]
enum Placement {
    /// One id, so one shard.
    SameShard,
    /// Two shards, ping on one and pong on the other.
    AcrossShards,
}

impl Placement {
    /// The options and the id of `bench/pong` (`bench/ping`'s is `p`).
    fn options_and_pong_id(self) -> (Options, String) {
        let options = Options { until_idle: true, ..Options::default() };
        match self {
            Placement::SameShard => (options, "p".to_owned()),
            Placement::AcrossShards => {
                let shard = |id: &str| key_groups::shard_of_key_group(key_groups::key_group(id), 2);
                let other = (0..).map(|n| format!("q{n}")).find(|id| shard(id) != shard("p")).expect("an id");
                (Options { shards: 2, ..options }, other)
            }
        }
    }
}

/// Runs the round trips; gives the times at which messages reached `bench/ping`.
fn run(dir: &tempfile::TempDir, module: &Module, placement: Placement) -> Vec<Instant> {
    let log = Arc::new(Log::open(dir.path().join("log"), LogOptions::default()).expect("log"));
    let store = Arc::new(StateStore::open(&dir.path().join("state")).expect("store"));
    let (options, pong_id) = placement.options_and_pong_id();
    let pong: FunctionType = "bench/pong".parse().expect("type");
    let arrivals = Arc::new(Mutex::new(Vec::with_capacity(ROUND_TRIPS as usize + 1)));
    let ping = Ping { pong: pong.clone(), pong_id, arrivals: Arc::clone(&arrivals) };
    let functions = NativeFunctions::new().with("bench/ping".parse().expect("type"), ping).with(pong, Pong);
    let summary = eddy_functions::start_with(module, log, store, options, move |_| Arc::new(functions))
        .expect("start")
        .wait()
        .expect("run");
    // The start message, then a ping and its reply per round trip.
    assert_eq!(summary.messages, 2 * ROUND_TRIPS + 1, "{summary:?}");
    std::mem::take(&mut *arrivals.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Prints the round trips' latency percentiles over one run.
fn report_latency(name: &str, module: &Module, placement: Placement) {
    let arrivals = run(&prepared(), module, placement);
    let mut trips: Vec<Duration> = arrivals.windows(2).map(|pair| pair[1] - pair[0]).collect();
    trips.sort_unstable();
    let at = |quantile: f64| trips[((trips.len() - 1) as f64 * quantile).round() as usize];
    eprintln!(
        "{name}: {} round trips measured, p50 {:.1?}, p99 {:.1?}, max {:.1?}",
        trips.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

fn round_trip(c: &mut Criterion) {
    let module = Module::parse("module.yaml", MODULE).expect("module");
    let mut group = c.benchmark_group("functions");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROUND_TRIPS));
    for (name, placement) in [
        ("native-round-trips", Placement::SameShard),
        ("native-round-trips-across-shards", Placement::AcrossShards),
    ] {
        let mut ran = false;
        group.bench_function(name, |b| {
            ran = true;
            // The directory goes back to criterion, which deletes it outside the measured time.
            b.iter_batched(
                prepared,
                |dir| {
                    run(&dir, &module, placement);
                    dir
                },
                BatchSize::PerIteration,
            )
        });
        if ran {
            report_latency(name, &module, placement);
        }
    }
    group.finish();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
