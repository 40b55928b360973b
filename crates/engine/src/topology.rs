//! The plan bound to the log: topics opened (created if missing), every service's sources
//! (topics, or Nexmark generators), chains, keyed stage and sinks resolved to topic indexes,
//! ready for the workers.

use std::sync::Arc;

use eddy_dataflow::expr::Expr;
use eddy_dataflow::model::{Aggregate, Converter, FlushPer, TypeDef};
use eddy_dataflow::{
    EmitPlan, JoinPlan, Logic, OperatorKind, OperatorPlan, Plan, ServicePlan, SourceInput, StartOffset,
    WindowKind, WindowPlan,
};
use eddy_log::{Log, Topic, TopicConfig};
use eddy_nexmark::EventFields;
use eddy_types::{Projection, TopicName};
use serde_json::Value;

use crate::decode::Decoder;
use crate::flow::Flow;
use crate::generator::GeneratorSpec;
use crate::operators::call;
use crate::wasm::Instances;
use crate::{Error, Result};
use eddy_wasm::OperatorKind as WasmKind;

/// A topic the dataflow reads or writes.
#[derive(Debug)]
pub(crate) struct TopicInfo {
    pub(crate) name: TopicName,
    pub(crate) topic: Arc<Topic>,
    pub(crate) partitions: u32,
}

/// A service, resolved.
#[derive(Debug)]
pub(crate) struct Service {
    pub(crate) name: String,
    pub(crate) sources: Vec<Source>,
    pub(crate) keyed: Option<Keyed>,
    /// The join of two sides, instead of `keyed`.
    pub(crate) join: Option<JoinPlan>,
    /// Event-time windows over the keyed state, if any.
    pub(crate) window: Option<WindowPlan>,
    pub(crate) sinks: Vec<Sink>,
    /// Whether any expression reads `key`, so the key is converted for it only then.
    pub(crate) uses_key: bool,
    /// Whether a closing window's `flush` is evaluated straight into the bytes of the sink
    /// record (see [`flush_encodes_into_sink`]).
    pub(crate) flush_encodes_into_sink: bool,
}

impl Service {
    /// The keyed state the service writes: the one `update-state` updates, or `join`.
    pub(crate) fn state_name(&self) -> Option<&str> {
        match (&self.keyed, &self.join) {
            (Some(keyed), _) => keyed.update.as_ref().map(|update| update.state.as_str()),
            (None, Some(_)) => Some(JoinPlan::STATE),
            (None, None) => None,
        }
    }

    /// `(size, slide)`, ms, when the service keeps its windows as panes: sliding windows
    /// (`slide` smaller than `size`) whose `update-state` merges, a built-in aggregate or
    /// one with the window's `merge`. Joins keep their rows per window.
    pub(crate) fn panes(&self) -> Option<(i64, i64)> {
        let window = self.window.as_ref()?;
        let WindowKind::Sliding { size_ms, slide_ms } = window.kind else { return None };
        if slide_ms >= size_ms || self.join.is_some() {
            return None;
        }
        let update = self.keyed.as_ref()?.update.as_ref()?;
        let mergeable = window.merge.is_some()
            || matches!(&update.logic, Logic::Aggregate(plan) if plan.kind != Aggregate::TopK);
        mergeable.then_some((size_ms, slide_ms))
    }
}

/// What a service reads, with the source's and the service's stateless chain fused.
#[derive(Debug)]
pub(crate) struct Source {
    /// The name its positions are committed under and dead letters give: the topic's
    /// name, or `nexmark:<id>`.
    pub(crate) name: String,
    pub(crate) input: Input,
    pub(crate) chain: Vec<OperatorPlan>,
    /// `services.<name>.sources[i]`, for dead letters.
    pub(crate) origin: String,
    /// Whether the chain's last step writes the service's one sink directly: its CEL
    /// expression is evaluated straight into the sink record's bytes (see
    /// [`encodes_into_sink`]).
    pub(crate) encodes_into_sink: bool,
    /// The parts of a record's value the chain reads (see [`source_projection`]): a
    /// generator builds only those, a topic's JSON records are decoded into only those.
    pub(crate) projection: Projection,
    /// The projection as the fields a generator builds of each event.
    pub(crate) event_fields: EventFields,
    /// Decodes a topic's JSON records into the projection, when it is not the whole value.
    pub(crate) decoder: Option<Decoder>,
}

/// Where a source's records come from.
#[derive(Debug)]
pub(crate) enum Input {
    /// A topic, by index.
    Topic { topic: u32, converter: Converter, value_type: TypeDef, start: StartOffset },
    /// A Nexmark generator.
    Generator(Arc<GeneratorSpec>),
}

impl Source {
    /// How many partitions it is read in.
    pub(crate) fn partitions(&self, topology: &Topology) -> u32 {
        match &self.input {
            Input::Topic { topic, .. } => topology.topic(*topic).partitions,
            Input::Generator(spec) => spec.partitions,
        }
    }

    /// The field naming it in dead letters and late records (`topic`, or `source` for a
    /// generator), and its name.
    pub(crate) fn named(&self) -> (&'static str, &str) {
        match self.input {
            Input::Topic { .. } => ("topic", &self.name),
            Input::Generator(_) => ("source", &self.name),
        }
    }
}

/// The keyed stage: re-key, re-partition to the key's worker, chain, state update.
#[derive(Debug)]
pub(crate) struct Keyed {
    pub(crate) key: Logic,
    pub(crate) key_origin: String,
    pub(crate) chain: Vec<OperatorPlan>,
    pub(crate) update: Option<Update>,
    /// What goes on to the sinks after `update`; `None`: the record itself.
    pub(crate) emit: Option<EmitPlan>,
}

/// `update-state` on one keyed state.
#[derive(Debug)]
pub(crate) struct Update {
    pub(crate) logic: Logic,
    pub(crate) origin: String,
    pub(crate) state: String,
    pub(crate) state_type: TypeDef,
    pub(crate) initial: Value,
}

impl Update {
    /// The key's new state after `flow`, checked against the state's type. A WebAssembly
    /// update that deletes the key's state gives `null`.
    pub(crate) fn apply(
        &self,
        wasm: &mut Instances,
        flow: &Flow,
        key: &Value,
        state: &Value,
    ) -> std::result::Result<Value, String> {
        let state = if state.is_null() { &self.initial } else { state };
        let new = call(&self.logic, WasmKind::UpdateState, wasm, flow, key, Some((&self.state, state)))?;
        if new.is_null() && matches!(self.logic, Logic::Wasm(_)) {
            return Ok(new);
        }
        self.state_type
            .check(&new)
            .map(|()| new)
            .map_err(|reason| format!("new state does not match state '{}': {reason}", self.state))
    }
}

/// A topic a service writes.
#[derive(Debug)]
pub(crate) struct Sink {
    pub(crate) topic: u32,
    pub(crate) converter: Converter,
    pub(crate) value_type: TypeDef,
    pub(crate) chain: Vec<OperatorPlan>,
}

/// Everything the workers and the committer share about the dataflow.
#[derive(Debug)]
pub(crate) struct Topology {
    pub(crate) name: String,
    pub(crate) topics: Vec<TopicInfo>,
    pub(crate) dead_letter: u32,
    /// Where records that missed their window go, when a service has windows.
    pub(crate) late_records: Option<u32>,
    /// Topics written by some service (the dead-letter topic among them).
    pub(crate) sinks: Vec<u32>,
    pub(crate) services: Vec<Service>,
}

impl Topology {
    /// Opens every topic the plan names, creating missing ones with the declared partitions.
    pub(crate) fn bind(plan: &Plan, log: &Log) -> Result<Topology> {
        let mut topics: Vec<TopicInfo> = Vec::new();
        let mut open = |name: &TopicName, partitions: u32| -> Result<u32> {
            if let Some(index) = topics.iter().position(|t| &t.name == name) {
                return Ok(index as u32);
            }
            let topic = match log.topic(name.as_str()) {
                Ok(topic) => topic,
                Err(eddy_log::Error::UnknownTopic(_)) => {
                    log.create_topic(name, TopicConfig::with_partitions(partitions))?
                }
                Err(e) => return Err(e.into()),
            };
            let existing = topic.partition_count();
            if existing != partitions {
                return Err(Error::PartitionMismatch {
                    topic: name.to_string(),
                    existing,
                    declared: partitions,
                });
            }
            topics.push(TopicInfo { name: name.clone(), topic, partitions });
            Ok(topics.len() as u32 - 1)
        };
        let dead_letter = open(&plan.dead_letter_topic, 1)?;
        let mut sinks = vec![dead_letter];
        let late_records = match &plan.late_records_topic {
            Some(name) => {
                let index = open(name, 1)?;
                sinks.push(index);
                Some(index)
            }
            None => None,
        };
        let mut services = Vec::with_capacity(plan.services.len());
        for service in &plan.services {
            let declared = |id: &str| plan.topics.iter().find(|t| t.id == id);
            let mut sources = Vec::new();
            for (i, source) in service.sources.iter().enumerate() {
                let input = match &source.input {
                    SourceInput::Topic { topic, start } => {
                        let Some(decl) = declared(&source.id) else {
                            return Err(Error::UnknownTopic(topic.to_string()));
                        };
                        Input::Topic {
                            topic: open(&decl.name, decl.partitions)?,
                            converter: decl.converter,
                            value_type: decl.value.clone(),
                            start: *start,
                        }
                    }
                    SourceInput::Nexmark(nexmark) => Input::Generator(Arc::new(GeneratorSpec::new(nexmark))),
                };
                let mut chain = source.chain.clone();
                chain.extend(service.chain.iter().cloned());
                let projection = source_projection(&chain, service);
                let decoder = match &input {
                    Input::Topic { converter: Converter::Json, value_type, .. } => {
                        Decoder::new(value_type, &projection)
                    }
                    _ => None,
                };
                sources.push(Source {
                    decoder,
                    event_fields: EventFields::of(&projection),
                    projection,
                    name: source.name(),
                    input,
                    chain,
                    origin: format!("services.{}.sources[{i}]", service.name),
                    encodes_into_sink: false,
                });
            }
            let keyed = service.partition.as_ref().map(|p| Keyed {
                key: p.key.clone(),
                key_origin: p.key_origin.clone(),
                chain: p.chain.clone(),
                update: p.update_state.as_ref().map(|u| Update {
                    logic: u.logic.clone(),
                    origin: u.origin.clone(),
                    state: u.state.name.clone(),
                    state_type: u.state.value.type_def(),
                    // `min` and `max` start from a key's first value.
                    initial: match &u.logic {
                        Logic::Aggregate(a) if matches!(a.kind, Aggregate::Min | Aggregate::Max) => {
                            Value::Null
                        }
                        _ => u.state.value.initial(),
                    },
                }),
                emit: p.emit.clone(),
            });
            let mut service_sinks = Vec::new();
            for sink in &service.sinks {
                let Some(decl) = declared(&sink.topic_id) else {
                    return Err(Error::UnknownTopic(sink.topic.to_string()));
                };
                let topic = open(&decl.name, decl.partitions)?;
                if !sinks.contains(&topic) {
                    sinks.push(topic);
                }
                service_sinks.push(Sink {
                    topic,
                    converter: decl.converter,
                    value_type: decl.value.clone(),
                    chain: sink.chain.clone(),
                });
            }
            for source in &mut sources {
                source.encodes_into_sink = encodes_into_sink(service, &source.chain, &service_sinks);
            }
            let uses_key = plan_uses_key(service);
            let flush_encodes_into_sink = flush_encodes_into_sink(service, &service_sinks);
            services.push(Service {
                name: service.name.clone(),
                sources,
                keyed,
                join: service.join.clone(),
                window: service.window.clone(),
                sinks: service_sinks,
                uses_key,
                flush_encodes_into_sink,
            });
        }
        Ok(Topology { name: plan.name.clone(), topics, dead_letter, late_records, sinks, services })
    }

    pub(crate) fn topic(&self, index: u32) -> &TopicInfo {
        &self.topics[index as usize]
    }
}

/// Whether a source's records, after `chain`, can be evaluated straight into the bytes of
/// the service's sink record ([`Expr::encode_json`]) rather than into a value the sink then
/// checks and encodes. It takes: a service with no keyed stage, join or window and one JSON
/// sink without a chain of its own, and a chain whose last step is a `map` or `filter-map`
/// on the compiled fast path, with no WebAssembly step (those chains run in batches) and no
/// `flat-map` (one record in, at most one out, so dead letters keep their order).
fn encodes_into_sink(service: &ServicePlan, chain: &[OperatorPlan], sinks: &[Sink]) -> bool {
    let ([sink], Some(last)) = (sinks, chain.last()) else { return false };
    service.partition.is_none()
        && service.join.is_none()
        && service.window.is_none()
        && sink.chain.is_empty()
        && sink.converter == Converter::Json
        && matches!(last.kind, OperatorKind::Map | OperatorKind::FilterMap)
        && last.logic.as_cel().is_some_and(Expr::is_compiled)
        && chain.iter().all(|op| op.kind != OperatorKind::FlatMap && !matches!(op.logic, Logic::Wasm(_)))
}

/// Whether a window's `flush` can be evaluated straight into the bytes of the service's sink
/// record ([`Expr::encode_json`]), as [`encodes_into_sink`] decides for a source's last step:
/// a per-key CEL flush on the compiled fast path, no join, and one JSON sink of an object type
/// without a chain of its own (a list, which the ordinary way emits item by item, never
/// matches it).
fn flush_encodes_into_sink(service: &ServicePlan, sinks: &[Sink]) -> bool {
    let ([sink], Some(flush)) = (sinks, service.window.as_ref().and_then(|w| w.flush.as_ref())) else {
        return false;
    };
    flush.per == FlushPer::Key
        && service.join.is_none()
        && sink.chain.is_empty()
        && sink.converter == Converter::Json
        && matches!(sink.value_type, TypeDef::Object(_))
        && flush.logic.as_cel().is_some_and(Expr::is_compiled)
}

/// What a source's records are read for (see [`Projection`]): the steps of its chain up to
/// the first that replaces the value (`map`, `filter-map`, `flat-map`) read it, by CEL
/// expressions whose reads are known (see [`Expr::value_reads`]); after that step nothing
/// sees it. A value the chain passes on is read further by the keyed stage (`assign-timestamp`,
/// `assign-key`, its chain, `update-state`, `emit`) when what the service sends on is not the
/// record itself: a window's flush, an `emit`, or no sink at all. Anything else (a step of
/// other logic, a join, records that reach a sink as they are) reads all of it.
fn source_projection(chain: &[OperatorPlan], service: &ServicePlan) -> Projection {
    let mut read = Projection::nothing();
    match chain_reads(chain, &mut read) {
        Some(true) => return read,
        Some(false) => {}
        None => return Projection::Whole,
    }
    let Some(partition) = &service.partition else { return Projection::Whole };
    let sends_records = service.window.is_none() && partition.emit.is_none() && !service.sinks.is_empty();
    if service.join.is_some() || sends_records {
        return Projection::Whole;
    }
    let timestamp = service.window.as_ref().and_then(|window| window.timestamp.as_ref());
    let known = timestamp.is_none_or(|logic| logic_reads(logic, &mut read))
        && logic_reads(&partition.key, &mut read)
        && match chain_reads(&partition.chain, &mut read) {
            Some(true) => return read,
            Some(false) => true,
            None => false,
        }
        && partition.update_state.as_ref().is_none_or(|update| logic_reads(&update.logic, &mut read))
        && partition.emit.as_ref().is_none_or(|emit| logic_reads(&emit.logic, &mut read));
    if known { read } else { Projection::Whole }
}

/// Adds what `chain` reads of the value to `read`: `Some(true)` when a step replaces the
/// value (nothing after it reads the record's), `None` when a step's reads are not known.
fn chain_reads(chain: &[OperatorPlan], read: &mut Projection) -> Option<bool> {
    for op in chain {
        op.logic.as_cel()?.value_reads(read);
        if op.kind != OperatorKind::Filter {
            return Some(true);
        }
    }
    Some(false)
}

/// Adds what `logic` reads of the value to `read`; `false` when that is not known.
fn logic_reads(logic: &Logic, read: &mut Projection) -> bool {
    match logic {
        Logic::Cel(expr) => expr.value_reads(read),
        Logic::Aggregate(aggregate) => {
            for expr in aggregate.of.iter().chain(&aggregate.by) {
                expr.value_reads(read);
            }
        }
        _ => return false,
    }
    true
}

fn plan_uses_key(service: &ServicePlan) -> bool {
    let reads_key = |logic: &Logic| {
        logic
            .as_cel()
            .is_none_or(|expr| expr.free_variables().iter().any(|v| v.name == eddy_dataflow::expr::KEY))
    };
    let chain_reads_key = |chain: &[OperatorPlan]| chain.iter().any(|op| reads_key(&op.logic));
    service.sources.iter().any(|s| chain_reads_key(&s.chain))
        || chain_reads_key(&service.chain)
        || service.sinks.iter().any(|s| chain_reads_key(&s.chain))
        || service.partition.as_ref().is_some_and(|p| {
            reads_key(&p.key)
                || chain_reads_key(&p.chain)
                || p.update_state.as_ref().is_some_and(|u| reads_key(&u.logic))
                || p.emit.as_ref().is_some_and(|e| reads_key(&e.logic))
        })
        || service.window.as_ref().is_some_and(|w| w.timestamp.as_ref().is_some_and(reads_key))
        || service.join.as_ref().is_some_and(|j| {
            j.sides().iter().any(|side| reads_key(&side.key) || side.when.as_ref().is_some_and(reads_key))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_log::Options as LogOptions;

    const DATAFLOW: &str = r#"
apiVersion: 0.5.0
meta: {name: direct}
config: {converter: json}
types:
  reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}}}
  count: {type: object, properties: {sensor: {type: string}, count: {type: u64}}}
topics:
  readings: {name: readings, partitions: 1, schema: {value: {type: reading}}}
  alerts: {name: alerts, partitions: 1, schema: {value: {type: reading}}}
  copies: {name: copies, partitions: 1, schema: {value: {type: reading}}}
  counts: {name: counts, partitions: 1, schema: {value: {type: count}}}
services:
  projection:
    sources: [{type: topic, id: readings}]
    transforms:
      - {operator: filter, cel: "value.temp > 30.0"}
      - {operator: map, cel: "{'sensor': value.sensor, 'temp': value.temp}"}
    sinks: [{type: topic, id: alerts}]
  filter-last:
    sources: [{type: topic, id: readings}]
    transforms: [{operator: filter, cel: "value.temp > 30.0"}]
    sinks: [{type: topic, id: alerts}]
  interpreted:
    sources: [{type: topic, id: readings}]
    transforms: [{operator: map, cel: "value.sensor.startsWith('a') ? value : value"}]
    sinks: [{type: topic, id: alerts}]
  flat:
    sources: [{type: topic, id: readings}]
    transforms:
      - {operator: flat-map, cel: "[value, value]"}
      - {operator: map, cel: "value"}
    sinks: [{type: topic, id: alerts}]
  two-sinks:
    sources: [{type: topic, id: readings}]
    transforms: [{operator: filter-map, cel: "value"}]
    sinks: [{type: topic, id: alerts}, {type: topic, id: copies}]
  sink-chain:
    sources: [{type: topic, id: readings}]
    transforms: [{operator: map, cel: "value"}]
    sinks: [{type: topic, id: alerts, transforms: [{operator: filter, cel: "true"}]}]
  keyed:
    sources: [{type: topic, id: readings}]
    states:
      count: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    transforms: [{operator: map, cel: "value"}]
    partition:
      assign-key: {cel: value.sensor}
      update-state: {cel: state + 1}
    sinks: [{type: topic, id: alerts}]
  counted:
    sources: [{type: topic, id: readings}]
    states:
      count: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    transforms: [{operator: filter, cel: "value.temp > 0.0"}]
    partition:
      assign-key: {cel: value.sensor}
      update-state: {cel: state + 1}
  counted-and-sent:
    sources: [{type: topic, id: readings}]
    states:
      count: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    partition:
      assign-key: {cel: value.sensor}
      update-state: {cel: state + 1}
    sinks: [{type: topic, id: alerts}]
  windowed:
    sources: [{type: topic, id: readings}]
    states:
      count: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    window:
      tumbling: {duration: 10s}
      partition:
        assign-key: {cel: value.sensor}
        update-state: {cel: state + 1}
      flush: {cel: "{'sensor': key, 'count': state}"}
    sinks: [{type: topic, id: counts}]
"#;

    /// `DATAFLOW` bound to a log in a temporary directory (kept while the topology is used).
    fn bound() -> (tempfile::TempDir, Topology) {
        let (_, plan) = eddy_dataflow::parse(DATAFLOW, "direct.yaml").unwrap_or_else(|d| panic!("{d:?}"));
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        let topology = Topology::bind(&plan, &log).unwrap();
        (dir, topology)
    }

    #[test]
    fn only_a_stateless_chain_ending_in_a_compiled_map_into_one_plain_sink_encodes_into_it() {
        let (_dir, topology) = bound();
        let direct: std::collections::BTreeMap<&str, bool> = topology
            .services
            .iter()
            .map(|service| (service.name.as_str(), service.sources[0].encodes_into_sink))
            .collect();
        let expected = [
            ("projection", true),
            ("filter-last", false),
            ("interpreted", false),
            ("flat", false),
            ("two-sinks", false),
            ("sink-chain", false),
            ("keyed", false),
            ("counted", false),
            ("counted-and-sent", false),
            ("windowed", false),
        ];
        assert_eq!(direct, expected.into_iter().collect());
    }

    /// What the first source of service `name` reads.
    fn projection_of(topology: &Topology, name: &str) -> Projection {
        let service = topology.services.iter().find(|s| s.name == name).unwrap();
        service.sources[0].projection.clone()
    }

    #[test]
    fn a_source_reads_what_its_steps_read_up_to_the_first_that_replaces_the_value() {
        let (_dir, topology) = bound();
        let projection = |name: &str| projection_of(&topology, name);
        let mut sensor_and_temp = Projection::nothing();
        sensor_and_temp.add_path(&["sensor"]);
        sensor_and_temp.add_path(&["temp"]);
        assert_eq!(projection("projection"), sensor_and_temp);
        // Ending in a filter, the value goes on; `value` itself is all of it; an expression
        // off the compiled path reads all it names.
        for whole in ["filter-last", "interpreted", "flat", "two-sinks", "keyed", "counted-and-sent"] {
            assert!(projection(whole).is_whole(), "{whole}");
        }
    }

    #[test]
    fn a_keyed_stage_that_sends_on_no_record_as_it_is_reads_only_what_its_steps_read() {
        let (_dir, topology) = bound();
        let projection = |name: &str| projection_of(&topology, name);
        let mut sensor = Projection::nothing();
        sensor.add_path(&["sensor"]);
        assert_eq!(projection("windowed"), sensor);
        sensor.add_path(&["temp"]);
        assert_eq!(projection("counted"), sensor);
    }
}
