//! `eddy run --metrics-addr <ADDR>`: what the run serves at `http://<ADDR>/metrics` for
//! Prometheus, in the OpenMetrics text format.
//!
//! | metric | what |
//! |---|---|
//! | `eddy_dataflow_epochs_total` | epochs the services committed |
//! | `eddy_dataflow_records_read_total` | source records read (as of the last epoch) |
//! | `eddy_dataflow_records_written_total` | records written to sink topics |
//! | `eddy_dataflow_dead_letters_total` | records sent to the dead-letter topic |
//! | `eddy_functions_*` | the stateful functions' metrics (`eddy_functions::metrics`) |
//!
//! Each scrape reads what the parts running at that moment published with their last epoch.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use eddy_server::metrics::MetricsServer;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::registry::Registry;

/// The parts of a run whose metrics a scrape reads.
#[derive(Default)]
pub(crate) struct Sources {
    /// The dataflow's services, when they run.
    pub(crate) engine: Option<eddy_engine::Handle>,
    /// The stateful functions, when they run.
    pub(crate) functions: Option<Arc<eddy_functions::metrics::Metrics>>,
}

/// Serves the metrics of whatever `sources` gives at each scrape, when `addr` is set.
///
/// # Errors
/// `addr` cannot be listened on.
pub(crate) fn serve(
    addr: Option<SocketAddr>,
    sources: impl Fn() -> Sources + Send + Sync + 'static,
) -> anyhow::Result<Option<MetricsServer>> {
    let Some(addr) = addr else { return Ok(None) };
    let render = Arc::new(move || render(sources()));
    let server = eddy_server::metrics::serve(addr, render)
        .with_context(|| format!("cannot serve metrics on {addr}"))?;
    tracing::info!(addr = %server.addr(), "serving metrics at /metrics");
    Ok(Some(server))
}

fn render(sources: Sources) -> String {
    let mut registry = Registry::with_prefix("eddy");
    if let Some(engine) = sources.engine {
        registry
            .sub_registry_with_prefix("dataflow")
            .register_collector(Box::new(EngineProgress(engine.progress())));
    }
    if let Some(functions) = sources.functions {
        registry.sub_registry_with_prefix("functions").register_collector(Box::new(functions));
    }
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    text
}

/// The services' counts as of their last epoch.
#[derive(Debug)]
struct EngineProgress(eddy_engine::RunSummary);

impl Collector for EngineProgress {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counters = [
            ("epochs", "Epochs committed.", self.0.epochs),
            ("records_read", "Source records read, as of the last epoch.", self.0.records_read),
            ("records_written", "Records written to sink topics.", self.0.records_written),
            ("dead_letters", "Records sent to the dead-letter topic.", self.0.dead_letters),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
        }
        Ok(())
    }
}
