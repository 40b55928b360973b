//! `eddy run` of a dataflow file that declares stateful functions (`functions:`): its services
//! and its functions run in one process, on one log, talking through topics.
//!
//! Each part keeps its own exactly-once commits: the services in `<data-dir>/state`, the
//! functions in `<data-dir>/functions-state`. A topic is the only thing they share, and a
//! reader sees a topic's records only once the epoch that wrote them has committed, so a
//! record handed from one part to the other is read once and its effects committed once.
//! A topic has one writer: an egress record for a topic a service writes fails the run.
//!
//! With `--until-idle` the two run in rounds until a round finds nothing to do, so that
//! records one part writes for the other (in either direction, cycles too) are all taken.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use eddy_log::{Log, TopicConfig};
use eddy_server::local::{Backend, BackendError};
use eddy_state::StateStore;
use eddy_types::{Offset, PartitionId, Record, TopicName};

use super::run::{EngineBackend, FunctionsBackend, RunArgs};

/// Where the functions of a dataflow file keep their state, below the data directory.
pub(crate) const FUNCTIONS_STATE_DIR: &str = "functions-state";

/// Runs the services of `plan` and the functions of `module` until Ctrl-C or, with
/// `--until-idle`, until neither has anything left to do.
pub(crate) fn run(
    data_dir: &Path,
    args: &RunArgs,
    plan: &eddy_dataflow::Plan,
    module: &eddy_statefun::Module,
) -> anyhow::Result<()> {
    let in_use = || format!("cannot use data directory '{}'", data_dir.display());
    let log = Arc::new(Log::open(data_dir.join("log"), eddy_log::Options::default()).with_context(in_use)?);
    create_declared_topics(&log, plan)?;
    let services_store = if plan.services.is_empty() {
        None
    } else {
        Some(Arc::new(StateStore::open(&data_dir.join("state")).with_context(in_use)?))
    };
    let functions_store =
        Arc::new(StateStore::open(&data_dir.join(FUNCTIONS_STATE_DIR)).with_context(in_use)?);

    let mut engine_options = eddy_engine::Options {
        until_idle: args.until_idle,
        state_cache_keys: args.state_cache_keys,
        ..Default::default()
    };
    if let Some(workers) = args.workers {
        engine_options.workers = workers;
    }
    engine_options.commit_interval = args.commit_interval;
    engine_options.wasm_cache = Some(data_dir.join("wasm-cache"));
    let mut functions_options = eddy_functions::Options {
        until_idle: args.until_idle,
        reserved_topics: topics_services_write(plan),
        state_cache_addresses: args.state_cache_keys,
        ..Default::default()
    };
    functions_options.wasm.cache_dir = Some(data_dir.join("wasm-cache"));
    functions_options.shards = engine_options.workers;
    functions_options.commit_interval = args.commit_interval.unwrap_or(plan.commit_interval);

    let backend = Arc::new(AppBackend { log: Arc::clone(&log), running: RwLock::default() });
    let _server = match eddy_server::local::serve(data_dir, Arc::clone(&backend) as Arc<dyn Backend>) {
        Ok(server) => Some(server),
        Err(error) => {
            tracing::warn!(%error, "other eddy commands cannot reach this dataflow");
            None
        }
    };
    let scraped = Arc::clone(&backend);
    let _metrics = super::metrics::serve(args.metrics_addr, move || {
        let running = scraped.running();
        super::metrics::Sources {
            engine: running.engine.clone(),
            functions: running.functions.as_ref().map(|functions| Arc::clone(functions.metrics())),
        }
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let (stop, backend) = (Arc::clone(&stop), Arc::clone(&backend));
        ctrlc::set_handler(move || {
            stop.store(true, Ordering::Release);
            backend.shutdown();
        })
        .context("cannot install the Ctrl-C handler")?;
    }
    let file = args.file.display().to_string();
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let how = if args.until_idle { "until its input is drained" } else { "until Ctrl-C" };
        eprintln!(
            "running dataflow '{}' ({} services, {} function endpoints) on {} {how}",
            plan.name,
            plan.services.len(),
            module.endpoints.len() + module.wasm_endpoints.len(),
            data_dir.display()
        );
    }

    let started = Instant::now();
    let mut totals = Totals::default();
    loop {
        let engine = match &services_store {
            Some(store) => Some(
                eddy_engine::start(plan, Arc::clone(&log), Arc::clone(store), &engine_options)
                    .with_context(|| format!("cannot start dataflow '{}'", plan.name))?,
            ),
            None => None,
        };
        let functions = eddy_functions::start(
            module,
            Arc::clone(&log),
            Arc::clone(&functions_store),
            functions_options.clone(),
        );
        let functions = match functions {
            Ok(functions) => functions,
            Err(error) => {
                if let Some(engine) = engine {
                    engine.handle().shutdown();
                    let _ = engine.wait();
                }
                return Err(error).with_context(|| format!("cannot start the functions of {file}"));
            }
        };
        backend.set(engine.as_ref().map(eddy_engine::Running::handle), Some(functions.handle()));
        if stop.load(Ordering::Acquire) {
            backend.shutdown();
        }
        let engine_summary = engine.map(eddy_engine::Running::wait).transpose();
        let functions_summary = functions.wait();
        backend.set(None, None);
        let engine_summary = engine_summary.with_context(|| format!("dataflow '{}' failed", plan.name))?;
        let functions_summary =
            functions_summary.with_context(|| format!("the functions of {file} failed"))?;
        let worked = totals.add(engine_summary.as_ref(), &functions_summary);
        if !args.until_idle || !worked || stop.load(Ordering::Acquire) {
            break;
        }
    }
    totals.print(&plan.name, started.elapsed());
    Ok(())
}

/// Creates the declared topics that do not exist yet, so that functions reading a topic
/// find it with the partitions the file declares.
fn create_declared_topics(log: &Log, plan: &eddy_dataflow::Plan) -> anyhow::Result<()> {
    for topic in &plan.topics {
        match log.topic(topic.name.as_str()) {
            Ok(_) => {}
            Err(eddy_log::Error::UnknownTopic(_)) => {
                log.create_topic(&topic.name, TopicConfig::with_partitions(topic.partitions))
                    .with_context(|| format!("cannot create topic '{}'", topic.name))?;
            }
            Err(error) => return Err(error).with_context(|| format!("cannot open topic '{}'", topic.name)),
        }
    }
    Ok(())
}

/// The topics the services write: their sinks, the dead-letter and the late-records topics.
fn topics_services_write(plan: &eddy_dataflow::Plan) -> Vec<TopicName> {
    let mut topics: Vec<TopicName> = plan
        .services
        .iter()
        .flat_map(|service| service.sinks.iter().map(|sink| sink.topic.clone()))
        .chain(std::iter::once(plan.dead_letter_topic.clone()))
        .chain(plan.late_records_topic.clone())
        .collect();
    topics.sort();
    topics.dedup();
    topics
}

/// What the rounds of a run did, summed.
#[derive(Debug, Default)]
struct Totals {
    engine_epochs: u64,
    records_read: u64,
    records_written: u64,
    dead_letters: u64,
    function_epochs: u64,
    ingress_records: u64,
    messages: u64,
    requests: u64,
    egress_records: u64,
    unserved: u64,
    delayed_pending: u64,
}

impl Totals {
    /// Adds one round; whether it did anything.
    fn add(
        &mut self,
        engine: Option<&eddy_engine::RunSummary>,
        functions: &eddy_functions::RunSummary,
    ) -> bool {
        let mut worked = false;
        if let Some(engine) = engine {
            self.engine_epochs += engine.epochs;
            self.records_read += engine.records_read;
            self.records_written += engine.records_written;
            self.dead_letters += engine.dead_letters;
            worked |= engine.records_read > 0 || engine.records_written > 0;
        }
        self.function_epochs += functions.epochs;
        self.ingress_records += functions.records_read;
        self.messages += functions.messages;
        self.requests += functions.requests;
        self.egress_records += functions.egress_records;
        self.unserved += functions.dead_letters;
        self.delayed_pending = functions.delayed_pending;
        worked |= functions.records_read > 0 || functions.messages > 0 || functions.egress_records > 0;
        worked
    }

    fn print(&self, name: &str, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        eprintln!(
            "dataflow '{name}' stopped after {seconds:.2}s: services read {} records in {} epochs, wrote {}, \
             dead-lettered {}; functions read {} ingress records and processed {} messages in {} requests \
             ({} epochs), wrote {} egress records; {} delayed messages pending{}",
            self.records_read,
            self.engine_epochs,
            self.records_written,
            self.dead_letters,
            self.ingress_records,
            self.messages,
            self.requests,
            self.function_epochs,
            self.egress_records,
            self.delayed_pending,
            match self.unserved {
                0 => String::new(),
                n => format!(
                    "; {n} messages to function types nothing serves went to {}",
                    eddy_functions::DEAD_LETTER_TOPIC
                ),
            },
        );
    }
}

/// Serves other `eddy` commands from the running services and functions, through the
/// backends of a plain dataflow or module run: state of a function type (`namespace/name`)
/// from the functions, of a service from the services; records for the invocations topic
/// through the functions, others through the services while they run.
struct AppBackend {
    log: Arc<Log>,
    running: RwLock<Running>,
}

#[derive(Default)]
struct Running {
    engine: Option<eddy_engine::Handle>,
    functions: Option<eddy_functions::Handle>,
}

impl AppBackend {
    fn set(&self, engine: Option<eddy_engine::Handle>, functions: Option<eddy_functions::Handle>) {
        let mut running = self.running.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        *running = Running { engine, functions };
    }

    fn shutdown(&self) {
        let running = self.running.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(engine) = &running.engine {
            engine.shutdown();
        }
        if let Some(functions) = &running.functions {
            functions.shutdown();
        }
    }

    fn running(&self) -> std::sync::RwLockReadGuard<'_, Running> {
        self.running.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Between two rounds of `--until-idle` nothing runs.
fn between_rounds() -> BackendError {
    BackendError::Other("the dataflow is between two rounds; try again".to_owned())
}

fn is_function_type(service: &str) -> bool {
    service.contains('/')
}

impl Backend for AppBackend {
    fn log(&self) -> &Log {
        &self.log
    }

    fn produce(
        &self,
        topic: &str,
        partition: PartitionId,
        records: Vec<Record>,
    ) -> Result<Range<Offset>, BackendError> {
        let running = self.running();
        let through_engine =
            running.engine.as_ref().filter(|_| topic != eddy_functions::playground::INVOCATIONS_TOPIC);
        match (through_engine, &running.functions) {
            (Some(engine), _) => EngineBackend(engine.clone()).produce(topic, partition, records),
            (None, Some(functions)) => FunctionsBackend(functions.clone()).produce(topic, partition, records),
            (None, None) => Err(between_rounds()),
        }
    }

    fn state_get(
        &self,
        service: &str,
        state: &str,
        key: &[u8],
    ) -> Result<Option<serde_json::Value>, BackendError> {
        let running = self.running();
        if is_function_type(service) {
            let functions = running.functions.as_ref().ok_or_else(between_rounds)?;
            return FunctionsBackend(functions.clone()).state_get(service, state, key);
        }
        let engine = running.engine.as_ref().ok_or_else(|| unknown_state(service, state))?;
        EngineBackend(engine.clone()).state_get(service, state, key)
    }

    fn state_list(
        &self,
        service: &str,
        state: &str,
    ) -> Result<Vec<(Vec<u8>, serde_json::Value)>, BackendError> {
        let running = self.running();
        if is_function_type(service) {
            let functions = running.functions.as_ref().ok_or_else(between_rounds)?;
            return FunctionsBackend(functions.clone()).state_list(service, state);
        }
        let engine = running.engine.as_ref().ok_or_else(|| unknown_state(service, state))?;
        EngineBackend(engine.clone()).state_list(service, state)
    }
}

fn unknown_state(service: &str, state: &str) -> BackendError {
    BackendError::UnknownState { service: service.to_owned(), state: state.to_owned() }
}
