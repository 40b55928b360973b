//! Metrics of a running module, for Prometheus: [`Metrics`] is a `prometheus-client`
//! [`Collector`] (`eddy run --metrics-addr` serves it), and renders itself as OpenMetrics text.
//!
//! Each shard of the runtime counts on its own and publishes a [`Snapshot`] with each
//! committed epoch, so the per-message path touches no shared counter; a scrape adds the
//! shards' snapshots up; the HTTP clients' call and
//! failure counts ([`CallStats`]) are read at each scrape.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `eddy_functions_epochs_total` | | epochs committed |
//! | `eddy_functions_ingress_records_total` | | ingress records read |
//! | `eddy_functions_egress_records_total` | | egress records committed |
//! | `eddy_functions_dead_letters_total` | | messages to types nothing serves |
//! | `eddy_functions_requests_total` | `function_type` | requests sent (handshakes and resends included) |
//! | `eddy_functions_messages_total` | `function_type` | messages processed (replies applied) |
//! | `eddy_functions_queued_messages` | | messages in calls in flight or waiting |
//! | `eddy_functions_delayed_messages` | | delayed messages pending |
//! | `eddy_functions_remote_calls_total` | `endpoint` | calls to a remote endpoint |
//! | `eddy_functions_remote_failed_attempts_total` | `endpoint`, `reason` | attempts that failed, retried or not |
//! | `eddy_functions_remote_failed_calls_total` | `endpoint`, `reason` | calls that failed for good |
//!
//! `reason` is one of [`FAILURE_KINDS`](eddy_statefun::http::FAILURE_KINDS), e.g.
//! `http-status`, `stalled`, `garbage`.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use eddy_statefun::http::CallStats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

/// What the runtime last published.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Epochs committed.
    pub epochs: u64,
    /// Ingress records read.
    pub ingress_records: u64,
    /// Egress records committed.
    pub egress_records: u64,
    /// Messages to function types nothing serves.
    pub dead_letters: u64,
    /// Messages in calls in flight or waiting.
    pub queued_messages: u64,
    /// Delayed messages pending.
    pub delayed_messages: u64,
    /// Per function type, in name order: requests sent and messages processed.
    pub per_type: Vec<(String, TypeCounts)>,
}

/// The counts of one function type.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TypeCounts {
    /// Requests sent.
    pub requests: u64,
    /// Messages processed.
    pub messages: u64,
}

/// The metrics of one module; shared between the runtime, which publishes, and whoever
/// serves them.
#[derive(Debug, Default)]
pub struct Metrics {
    /// What each shard published last.
    shards: Mutex<Vec<Snapshot>>,
    /// The remote endpoints' clients, once the functions exist.
    remote: OnceLock<Vec<(String, Arc<CallStats>)>>,
}

impl Metrics {
    /// Replaces what shard `shard` published last.
    pub(crate) fn publish(&self, shard: usize, snapshot: Snapshot) {
        let mut shards = self.shards.lock().unwrap_or_else(PoisonError::into_inner);
        if shards.len() <= shard {
            shards.resize_with(shard + 1, Snapshot::default);
        }
        shards[shard] = snapshot;
    }

    /// Names the remote endpoints whose clients are read at each scrape (once per run).
    pub(crate) fn watch_remote(&self, endpoints: Vec<(String, Arc<CallStats>)>) {
        let _ = self.remote.set(endpoints);
    }

    /// What the runtime published last, over all its shards.
    pub fn snapshot(&self) -> Snapshot {
        let shards = self.shards.lock().unwrap_or_else(PoisonError::into_inner);
        let mut total = Snapshot::default();
        let mut per_type = std::collections::BTreeMap::<&str, TypeCounts>::new();
        for shard in shards.iter() {
            // Every shard counts every epoch it took part in.
            total.epochs = total.epochs.max(shard.epochs);
            total.ingress_records += shard.ingress_records;
            total.egress_records += shard.egress_records;
            total.dead_letters += shard.dead_letters;
            total.queued_messages += shard.queued_messages;
            total.delayed_messages += shard.delayed_messages;
            for (function_type, counts) in &shard.per_type {
                let sum = per_type.entry(function_type).or_default();
                sum.requests += counts.requests;
                sum.messages += counts.messages;
            }
        }
        total.per_type = per_type.into_iter().map(|(name, counts)| (name.to_owned(), counts)).collect();
        total
    }

    /// Every metric, in the OpenMetrics text format, named `eddy_functions_*`.
    pub fn render(self: &Arc<Self>) -> String {
        let mut registry = Registry::with_prefix("eddy_functions");
        registry.register_collector(Box::new(Arc::clone(self)));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }
}

/// A metric's name and help text, and how to read its value from a `T`.
type Described<T, V> = (&'static str, &'static str, fn(&T) -> V);

impl Collector for Metrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshot = self.snapshot();
        let counters = [
            ("epochs", "Epochs committed.", snapshot.epochs),
            ("ingress_records", "Ingress records read.", snapshot.ingress_records),
            ("egress_records", "Egress records committed.", snapshot.egress_records),
            ("dead_letters", "Messages to function types nothing serves.", snapshot.dead_letters),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
        }
        let gauges = [
            ("queued_messages", "Messages in calls in flight or waiting.", snapshot.queued_messages),
            ("delayed_messages", "Delayed messages pending.", snapshot.delayed_messages),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        let per_type: [Described<TypeCounts, u64>; 2] = [
            ("requests", "Requests sent to functions, handshakes and resends included.", |c| c.requests),
            ("messages", "Messages functions processed.", |c| c.messages),
        ];
        for (name, help, value) in per_type {
            let mut family = counter_family(&mut encoder, name, help)?;
            for (function_type, counts) in &snapshot.per_type {
                let labels = [("function_type", function_type.as_str())];
                ConstCounter::new(value(counts)).encode(family.encode_family(&labels)?)?;
            }
        }
        let Some(remote) = self.remote.get().filter(|remote| !remote.is_empty()) else { return Ok(()) };
        let mut calls = counter_family(&mut encoder, "remote_calls", "Calls to remote function endpoints.")?;
        for (endpoint, stats) in remote {
            ConstCounter::new(stats.calls())
                .encode(calls.encode_family(&[("endpoint", endpoint.as_str())])?)?;
        }
        let failures: [Described<CallStats, Vec<(&'static str, u64)>>; 2] = [
            ("remote_failed_attempts", "Attempts of remote calls that failed, retried or not.", |stats| {
                stats.failed_attempts().collect()
            }),
            ("remote_failed_calls", "Remote calls that failed for good.", |stats| {
                stats.failed_calls().collect()
            }),
        ];
        for (name, help, counts) in failures {
            let mut family = counter_family(&mut encoder, name, help)?;
            for (endpoint, stats) in remote {
                for (reason, count) in counts(stats) {
                    let labels = [("endpoint", endpoint.as_str()), ("reason", reason)];
                    ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        Ok(())
    }
}

/// The descriptor of a counter family, whose members follow by label.
fn counter_family<'a>(
    encoder: &'a mut DescriptorEncoder<'_>,
    name: &'a str,
    help: &str,
) -> Result<prometheus_client::encoding::MetricEncoder<'a>, std::fmt::Error> {
    encoder.encode_descriptor(name, help, None, prometheus_client::metrics::MetricType::Counter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_holds_every_published_count_and_the_clients_failures() {
        let metrics = Arc::new(Metrics::default());
        metrics.publish(
            0,
            Snapshot {
                epochs: 3,
                ingress_records: 6,
                queued_messages: 4,
                per_type: vec![("example/greeter".into(), TypeCounts { requests: 1, messages: 5 })],
                ..Snapshot::default()
            },
        );
        metrics.publish(
            1,
            Snapshot {
                epochs: 3,
                ingress_records: 4,
                per_type: vec![
                    ("example/a".into(), TypeCounts { requests: 1, messages: 1 }),
                    ("example/greeter".into(), TypeCounts { requests: 1, messages: 2 }),
                ],
                ..Snapshot::default()
            },
        );
        metrics.watch_remote(vec![("http://localhost:8000/{function.name}".into(), Arc::default())]);
        let text = metrics.render();
        for line in [
            "eddy_functions_epochs_total 3",
            "eddy_functions_messages_total{function_type=\"example/a\"} 1",
            "eddy_functions_ingress_records_total 10",
            "eddy_functions_queued_messages 4",
            "eddy_functions_requests_total{function_type=\"example/greeter\"} 2",
            "eddy_functions_messages_total{function_type=\"example/greeter\"} 7",
            "eddy_functions_remote_calls_total{endpoint=\"http://localhost:8000/{function.name}\"} 0",
            "eddy_functions_remote_failed_calls_total{endpoint=\"http://localhost:8000/{function.name}\",reason=\"garbage\"} 0",
            "# TYPE eddy_functions_remote_failed_attempts counter",
            "# EOF",
        ] {
            assert!(text.lines().any(|got| got == line), "no `{line}` in:\n{text}");
        }
    }
}
