//! `eddy run <dataflow.yaml | module.yaml>`: runs a dataflow, or a Stateful Functions module
//! (a multi-document YAML file whose documents have `kind: io.statefun…` or
//! `io.eddy.endpoints…`, whose WebAssembly components compile into `<data-dir>/wasm-cache`), on the data
//! directory until Ctrl-C (the last epoch is committed before exiting) or, with
//! `--until-idle`, until every source is drained and committed. While it runs, other `eddy`
//! commands on the same data directory go through it (see `eddy_server::local`).

use std::io::IsTerminal;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use eddy_engine::Handle;
use eddy_log::{Log, Options as LogOptions};
use eddy_server::local::{Backend, BackendError};
use eddy_state::StateStore;
use eddy_types::{Offset, PartitionId, Record, TopicName};

/// Arguments of `eddy run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The dataflow file, or a Stateful Functions `module.yaml`.
    pub(crate) file: PathBuf,
    /// Worker threads of a dataflow, shards of a module's functions [default: the number of
    /// cores].
    #[arg(long)]
    pub(crate) workers: Option<usize>,
    /// Exit once every source is drained and everything read is committed.
    #[arg(long)]
    pub(crate) until_idle: bool,
    /// How often to commit an epoch, overriding the file's `config.commit-interval`
    /// (e.g. `100ms`).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub(crate) commit_interval: Option<Duration>,
    /// Keys of keyed state each worker keeps in memory per service, and function addresses
    /// whose state each shard keeps; the others are read from the state store when next used.
    #[arg(long, value_name = "KEYS", default_value_t = eddy_engine::DEFAULT_STATE_CACHE_KEYS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub(crate) state_cache_keys: usize,
    /// Serve metrics for Prometheus at `http://<ADDR>/metrics` (e.g. `127.0.0.1:9464`):
    /// the services' epochs and records, the functions' requests, messages and failures.
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics_addr: Option<std::net::SocketAddr>,
}

pub(crate) fn run(data_dir: &Path, args: &RunArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    if eddy_functions::is_module_text(&text) {
        return run_module(data_dir, args, &text);
    }
    let packages = eddy_dataflow::PackagePaths::for_file(&args.file.display().to_string())
        .with_search(data_dir.join("packages"));
    let plan = eddy_dataflow::load_with(&args.file, &packages);
    let declared: Option<Vec<(String, TopicName)>> = plan
        .as_ref()
        .ok()
        .map(|plan| plan.topics.iter().map(|topic| (topic.id.clone(), topic.name.clone())).collect());
    let file = args.file.display().to_string();
    let functions = eddy_statefun::Module::parse_dataflow_functions(&file, &text, declared.as_deref());
    let mut problems: Vec<String> = Vec::new();
    if let Err(diagnostics) = &plan {
        problems.extend(diagnostics.iter().map(ToString::to_string));
    }
    match &functions {
        Err(eddy_statefun::module::Error::Invalid(found)) => {
            problems.extend(found.iter().map(ToString::to_string));
        }
        Err(error) => problems.push(error.to_string()),
        Ok(_) => {}
    }
    let (Ok(mut plan), Ok(functions)) = (plan, functions) else {
        for problem in &problems {
            eprintln!("{problem}");
        }
        let count = problems.len();
        bail!("{file} has {count} problem{}; nothing was run", if count == 1 { "" } else { "s" });
    };
    if let Some(built) = build_stale(data_dir, &args.file, &mut plan)? {
        use_built_components(&mut plan, &built);
    }
    if let Some(module) = functions {
        return super::app::run(data_dir, args, &plan, &module);
    }
    let opening = Instant::now();
    let log = Log::open(data_dir.join("log"), LogOptions::default())
        .with_context(|| format!("cannot use data directory '{}'", data_dir.display()))?;
    let log_opened = opening.elapsed();
    let store = StateStore::open(&data_dir.join("state"))
        .with_context(|| format!("cannot use data directory '{}'", data_dir.display()))?;
    tracing::info!(log = ?log_opened, state = ?opening.elapsed() - log_opened, "opened the data directory");
    let mut options = eddy_engine::Options {
        until_idle: args.until_idle,
        state_cache_keys: args.state_cache_keys,
        ..Default::default()
    };
    if let Some(workers) = args.workers {
        options.workers = workers;
    }
    options.commit_interval = args.commit_interval;
    options.wasm_cache = Some(data_dir.join("wasm-cache"));
    let workers = options.workers;
    let running = eddy_engine::start(&plan, Arc::new(log), Arc::new(store), &options)
        .with_context(|| format!("cannot start dataflow '{}'", plan.name))?;
    let handle = running.handle();
    let scraped = handle.clone();
    let _metrics = super::metrics::serve(args.metrics_addr, move || super::metrics::Sources {
        engine: Some(scraped.clone()),
        functions: None,
    })?;
    let _server = match eddy_server::local::serve(data_dir, Arc::new(EngineBackend(handle.clone()))) {
        Ok(server) => Some(server),
        Err(error) => {
            tracing::warn!(%error, "other eddy commands cannot reach this dataflow");
            None
        }
    };
    ctrlc::set_handler(move || handle.shutdown()).context("cannot install the Ctrl-C handler")?;
    if std::io::stderr().is_terminal() {
        let how = if args.until_idle { "until its input is drained" } else { "until Ctrl-C" };
        eprintln!(
            "running dataflow '{}' ({} services, {workers} workers) on {} {how}",
            plan.name,
            plan.services.len(),
            data_dir.display()
        );
    }
    let summary = running.wait().with_context(|| format!("dataflow '{}' failed", plan.name))?;
    let seconds = summary.elapsed.as_secs_f64().max(1e-9);
    let closing = summary.closing.as_secs_f64() / (seconds * workers.max(1) as f64);
    eprintln!(
        "dataflow '{}' stopped after {} epochs in {seconds:.2}s: read {} records ({:.0}/s), wrote {}, \
         dead-lettered {}; closing epochs took {:.1}% of worker time",
        plan.name,
        summary.epochs,
        summary.records_read,
        summary.records_read as f64 / seconds,
        summary.records_written,
        summary.dead_letters,
        closing * 100.0
    );
    Ok(())
}

/// Builds the file's `run:` functions and the package functions its `uses:` steps run when
/// they are stale (`eddy build`); a plan without either is not touched.
fn build_stale(
    data_dir: &Path,
    file: &Path,
    plan: &mut eddy_dataflow::Plan,
) -> anyhow::Result<Option<eddy_build::Built>> {
    let mut to_build = false;
    plan.for_each_wasm(|_, source| {
        to_build |=
            matches!(source, eddy_dataflow::WasmSource::Inline(_) | eddy_dataflow::WasmSource::Uses(_));
    });
    if !to_build {
        return Ok(None);
    }
    let built = super::build::build(data_dir, file)?;
    if built.compiled {
        eprintln!("built {} component(s) of dataflow '{}'", built.components.len(), built.dataflow);
    }
    Ok(Some(built))
}

/// Points every inline and `uses:` step of `plan` at the component `eddy build` made of it.
fn use_built_components(plan: &mut eddy_dataflow::Plan, built: &eddy_build::Built) {
    plan.for_each_wasm(|origin, source| {
        if let eddy_dataflow::WasmSource::Inline(_) | eddy_dataflow::WasmSource::Uses(_) = source
            && let Some(component) = built.component(origin)
        {
            *source = eddy_dataflow::WasmSource::Component(component.path.display().to_string());
        }
    });
}

/// Serves other `eddy` commands from the running dataflow.
pub(crate) struct EngineBackend(pub(crate) Handle);

impl EngineBackend {
    fn known_state(&self, service: &str, state: &str) -> Result<(), BackendError> {
        if self.0.has_state(service, state) {
            Ok(())
        } else {
            Err(BackendError::UnknownState { service: service.to_owned(), state: state.to_owned() })
        }
    }
}

fn backend_error(error: eddy_engine::Error) -> BackendError {
    match error {
        eddy_engine::Error::Log(error) => BackendError::Log(error),
        other => BackendError::Other(other.to_string()),
    }
}

impl Backend for EngineBackend {
    fn log(&self) -> &Log {
        self.0.log()
    }

    fn produce(
        &self,
        topic: &str,
        partition: PartitionId,
        records: Vec<Record>,
    ) -> Result<Range<Offset>, BackendError> {
        self.0.produce(topic, partition, records).map_err(backend_error)
    }

    fn state_get(
        &self,
        service: &str,
        state: &str,
        key: &[u8],
    ) -> Result<Option<serde_json::Value>, BackendError> {
        self.known_state(service, state)?;
        self.0.state_get(service, state, key).map_err(backend_error)
    }

    fn state_list(
        &self,
        service: &str,
        state: &str,
    ) -> Result<Vec<(Vec<u8>, serde_json::Value)>, BackendError> {
        self.known_state(service, state)?;
        self.0.state_list(service, state).map_err(backend_error)
    }
}

/// Runs a Stateful Functions module.
fn run_module(data_dir: &Path, args: &RunArgs, text: &str) -> anyhow::Result<()> {
    let file = args.file.display().to_string();
    let module = match eddy_statefun::Module::parse(&file, text) {
        Ok(module) => module,
        Err(eddy_statefun::module::Error::Invalid(problems)) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            let count = problems.len();
            bail!("{file} has {count} problem{}; nothing was run", if count == 1 { "" } else { "s" });
        }
        Err(error) => return Err(error.into()),
    };
    let log = Log::open(data_dir.join("log"), LogOptions::default())
        .with_context(|| format!("cannot use data directory '{}'", data_dir.display()))?;
    let store = StateStore::open(&data_dir.join("state"))
        .with_context(|| format!("cannot use data directory '{}'", data_dir.display()))?;
    let mut options = eddy_functions::Options {
        until_idle: args.until_idle,
        state_cache_addresses: args.state_cache_keys,
        ..Default::default()
    };
    options.wasm.cache_dir = Some(data_dir.join("wasm-cache"));
    if let Some(workers) = args.workers {
        options.shards = workers;
    }
    if let Some(interval) = args.commit_interval {
        options.commit_interval = interval;
    }
    let shards = options.shards;
    let running = eddy_functions::start(&module, Arc::new(log), Arc::new(store), options)
        .with_context(|| format!("cannot start module {file}"))?;
    let handle = running.handle();
    let metrics = Arc::clone(handle.metrics());
    let _metrics = super::metrics::serve(args.metrics_addr, move || super::metrics::Sources {
        engine: None,
        functions: Some(Arc::clone(&metrics)),
    })?;
    let _server = match eddy_server::local::serve(data_dir, Arc::new(FunctionsBackend(handle.clone()))) {
        Ok(server) => Some(server),
        Err(error) => {
            tracing::warn!(%error, "other eddy commands cannot reach this module");
            None
        }
    };
    ctrlc::set_handler(move || handle.shutdown()).context("cannot install the Ctrl-C handler")?;
    if std::io::stderr().is_terminal() {
        let how = if args.until_idle { "until its input is drained" } else { "until Ctrl-C" };
        eprintln!(
            "running module {file} ({} endpoints, {} ingresses, {} egresses, {shards} shards) on {} {how}",
            module.endpoints.len() + module.wasm_endpoints.len(),
            module.ingresses.len(),
            module.egresses.len(),
            data_dir.display()
        );
    }
    let summary = running.wait().with_context(|| format!("module {file} failed"))?;
    let seconds = summary.elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "module {file} stopped after {} epochs in {seconds:.2}s: read {} records, skipped {}; functions \
         processed {} messages ({:.0}/s) in {} requests; wrote {} egress records; {} delayed messages pending{}",
        summary.epochs,
        summary.records_read,
        summary.records_skipped,
        summary.messages,
        summary.messages as f64 / seconds,
        summary.requests,
        summary.egress_records,
        summary.delayed_pending,
        match summary.dead_letters {
            0 => String::new(),
            n => format!(
                "; {n} messages to function types nothing serves went to {}",
                eddy_functions::DEAD_LETTER_TOPIC
            ),
        },
    );
    Ok(())
}

/// Serves other `eddy` commands from the running module.
pub(crate) struct FunctionsBackend(pub(crate) eddy_functions::Handle);

fn functions_error(error: eddy_functions::Error) -> BackendError {
    match error {
        eddy_functions::Error::Log(error) => BackendError::Log(error),
        other => BackendError::Other(other.to_string()),
    }
}

impl FunctionsBackend {
    fn known_state(&self, service: &str, state: &str) -> Result<(), BackendError> {
        if self.0.has_state(service, state).map_err(functions_error)? {
            Ok(())
        } else {
            Err(BackendError::UnknownState { service: service.to_owned(), state: state.to_owned() })
        }
    }
}

impl Backend for FunctionsBackend {
    fn log(&self) -> &Log {
        self.0.log()
    }

    fn produce(
        &self,
        topic: &str,
        partition: PartitionId,
        records: Vec<Record>,
    ) -> Result<Range<Offset>, BackendError> {
        self.0.produce(topic, partition, records).map_err(functions_error)
    }

    fn state_get(
        &self,
        service: &str,
        state: &str,
        key: &[u8],
    ) -> Result<Option<serde_json::Value>, BackendError> {
        let value = self.0.state_get(service, state, key).map_err(functions_error)?;
        if value.is_none() {
            self.known_state(service, state)?;
        }
        Ok(value)
    }

    fn state_list(
        &self,
        service: &str,
        state: &str,
    ) -> Result<Vec<(Vec<u8>, serde_json::Value)>, BackendError> {
        let entries = self.0.state_list(service, state).map_err(functions_error)?;
        if entries.is_empty() {
            self.known_state(service, state)?;
        }
        Ok(entries)
    }
}
