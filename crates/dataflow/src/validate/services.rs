//! The `services` section: sources (topics and Nexmark generators), sinks (topics only),
//! states, and the partition stage or the join.

use std::collections::BTreeMap;

use eddy_types::TopicName;

use super::settings::Settings;
use super::steps::Scope;
use super::{Validator, extend};
use crate::diagnostic::Finding;
use std::time::Duration;

use crate::model::{
    Endpoint, EndpointKind, FlushPer, FunctionDef, Partition, Primitive, Service, StateValue, TypeDef, Window,
};
use crate::plan::{
    EmitPlan, FlushPlan, NexmarkPlan, PartitionPlan, ServicePlan, SinkPlan, SourceInput, SourcePlan,
    StatePlan, StateType, TopicPlan, UpdateStatePlan, WindowKind, WindowPlan,
};
use crate::suggest::closest;
use crate::yaml::Path;

/// The longest nexmark source id: it names the source in committed positions and dead letters.
const MAX_GENERATOR_ID: usize = 200;
/// The most partitions a nexmark source may be split into.
const MAX_GENERATOR_PARTITIONS: u32 = 4096;

impl Validator<'_> {
    /// Checks every service; returns the plans of those without problems.
    pub(super) fn services(
        &mut self,
        topics: &BTreeMap<String, Option<TopicPlan>>,
        settings: Option<&Settings>,
    ) -> Vec<ServicePlan> {
        let dataflow = self.dataflow;
        let services = Path::root().key("services");
        if dataflow.services.is_empty() && dataflow.functions.is_none() && !self.is_broken(&services) {
            self.report(
                Finding::new(
                    services.clone(),
                    "the dataflow has no services; declare at least one under `services` (or \
                     stateful functions under `functions`)",
                )
                .at_key(),
            );
        }
        let mut plans = Vec::new();
        for (name, service) in &dataflow.services {
            let path = services.key(name);
            if self.is_broken(&path) {
                continue;
            }
            if let Some(plan) = self.service(name, service, &path, topics, settings) {
                plans.push(plan);
            }
        }
        plans
    }

    fn service(
        &mut self,
        name: &str,
        service: &Service,
        path: &Path,
        topics: &BTreeMap<String, Option<TopicPlan>>,
        settings: Option<&Settings>,
    ) -> Option<ServicePlan> {
        let mut ok = true;

        if service.sources.is_empty() {
            self.report(
                Finding::new(
                    path.key("sources"),
                    format!("service `{name}` has no sources; add one, e.g. `sources: [{{type: topic, id: <topic>}}]`"),
                )
                .at_key(),
            );
            ok = false;
        }
        let mut sources = Vec::new();
        let mut first_use: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, source) in service.sources.iter().enumerate() {
            let at = path.key("sources").index(index);
            let input = match source.kind {
                EndpointKind::Topic => {
                    ok &= self.no_generator_fields(source, &at, "a topic source");
                    let topic = self.topic_ref(&source.id, at.key("id"), topics);
                    topic
                        .zip(settings)
                        .map(|(topic, settings)| SourceInput::Topic { topic, start: settings.start })
                }
                EndpointKind::Nexmark => self.nexmark(source, &at).map(SourceInput::Nexmark),
            };
            if let Some(first) = first_use.insert(&source.id, index) {
                let what = match source.kind {
                    EndpointKind::Topic => "topic",
                    EndpointKind::Nexmark => "source",
                };
                self.report(Finding::new(
                    at.key("id"),
                    format!("{what} `{}` is already a source of this service (sources[{first}])", source.id),
                ));
                ok = false;
            }
            let chain = self.chain(&source.transforms, &at.key("transforms"));
            match (input, chain) {
                (Some(input), Some(chain)) => {
                    sources.push(SourcePlan { id: source.id.clone(), input, chain })
                }
                _ => ok = false,
            }
        }

        let mut chain = self.chain(&service.transforms, &path.key("transforms"));
        self.uses_types(service, path, topics);
        let states = self.states(service, path);
        let window = match &service.window {
            None => Some(None),
            Some(window) => self.window(window, &path.key("window"), name, service).map(Some),
        };
        if let (Some(window), Some(steps)) = (&service.window, chain.as_mut()) {
            match self.chain(&window.transforms, &path.key("window").key("transforms")) {
                Some(more) => steps.extend(more),
                None => ok = false,
            }
        }
        let (partition_def, partition_path) = match (&service.partition, &service.window) {
            (Some(_), Some(window)) if window.partition.is_some() => {
                self.report(
                    Finding::new(
                        path.key("partition"),
                        format!(
                            "service `{name}` has a `partition` both in the service and in its `window`; keep the one in `window`"
                        ),
                    )
                    .at_key(),
                );
                ok = false;
                (None, path.key("partition"))
            }
            (_, Some(window)) if window.partition.is_some() => {
                (window.partition.as_ref(), path.key("window").key("partition"))
            }
            (partition, _) => (partition.as_ref(), path.key("partition")),
        };
        let partition = match partition_def {
            None => Some(None),
            Some(partition) => {
                self.partition(partition, &partition_path, name, service, states.as_deref()).map(Some)
            }
        };
        let join = match &service.join {
            None => Some(None),
            Some(join) => self.join(join, &path.key("join"), service, service.window.is_some()).map(Some),
        };
        if service.join.is_some() && partition_def.is_some() {
            self.report(
                Finding::new(
                    path.key("join"),
                    format!(
                        "service `{name}` has both `partition` and `join`; a service either re-keys and keeps state \
                         (`partition`) or joins two sides (`join`): split it into two services"
                    ),
                )
                .at_key(),
            );
            ok = false;
        }
        if service.window.is_some()
            && service.join.is_none()
            && partition_def.is_none_or(|p| p.update_state.is_none())
            && ok
        {
            self.report(
                Finding::new(
                    path.key("window"),
                    format!(
                        "the window of service `{name}` has no `partition` with `update-state`; windows aggregate keyed state, \
                         e.g. `partition: {{assign-key: {{cel: value.id}}, update-state: {{cel: state + 1}}}}`"
                    ),
                )
                .at_key(),
            );
            ok = false;
        }

        let ends_in_state = partition_def.is_some_and(|partition| partition.update_state.is_some())
            && service.window.is_none();
        if service.sinks.is_empty() && service.join.is_some() {
            self.report(
                Finding::new(
                    path.key("sinks"),
                    format!("service `{name}` joins but has no sinks for what `emit` returns; add `sinks`"),
                )
                .at_key(),
            );
            ok = false;
        } else if service.sinks.is_empty() && !ends_in_state {
            self.report(
                Finding::new(
                    path.key("sinks"),
                    format!(
                        "service `{name}` has no sinks and no `partition.update-state`, so its output goes nowhere; \
                         add e.g. `sinks: [{{type: topic, id: <topic>}}]`"
                    ),
                )
                .at_key(),
            );
            ok = false;
        }
        let mut sinks = Vec::new();
        for (index, sink) in service.sinks.iter().enumerate() {
            let at = path.key("sinks").index(index);
            if sink.kind == EndpointKind::Nexmark {
                self.report(Finding::new(
                    at.key("type"),
                    "a nexmark generator can only be a source; a sink is a topic (`type: topic`)",
                ));
                ok = false;
                continue;
            }
            ok &= self.no_generator_fields(sink, &at, "a sink");
            let topic = self.topic_ref(&sink.id, at.key("id"), topics);
            if service.sources.iter().any(|source| source.kind == EndpointKind::Topic && source.id == sink.id)
            {
                self.report(Finding::new(
                    at.key("id"),
                    format!(
                        "topic `{}` is both a source and a sink of service `{name}`; a service cannot feed itself",
                        sink.id
                    ),
                ));
                ok = false;
            }
            let chain = self.chain(&sink.transforms, &at.key("transforms"));
            match (topic, chain) {
                (Some(topic), Some(chain)) => {
                    sinks.push(SinkPlan { topic_id: sink.id.clone(), topic, chain })
                }
                _ => ok = false,
            }
        }

        if !ok {
            return None;
        }
        Some(ServicePlan {
            name: name.to_owned(),
            sources,
            chain: chain?,
            partition: partition?,
            join: join?,
            states: states?,
            window: window?,
            sinks,
        })
    }

    fn window(&mut self, window: &Window, path: &Path, name: &str, service: &Service) -> Option<WindowPlan> {
        let mut ok = true;
        let positive = |duration: Duration| i64::try_from(duration.as_millis()).ok().filter(|ms| *ms > 0);
        let kind = match (&window.tumbling, &window.sliding, &window.session) {
            (Some(tumbling), None, None) => match positive(tumbling.duration) {
                Some(size_ms) => Some(WindowKind::Tumbling { size_ms }),
                None => {
                    self.report(Finding::new(
                        extend(path, &["tumbling", "duration"]),
                        "a window's duration must be at least 1ms",
                    ));
                    None
                }
            },
            (None, Some(sliding), None) => match (positive(sliding.duration), positive(sliding.slide)) {
                (Some(size_ms), Some(slide_ms)) if size_ms % slide_ms == 0 => {
                    Some(WindowKind::Sliding { size_ms, slide_ms })
                }
                (Some(_), Some(_)) => {
                    self.report(Finding::new(
                        extend(path, &["sliding", "slide"]),
                        "the slide must divide the window's duration (e.g. `duration: 1m, slide: 10s`)",
                    ));
                    None
                }
                _ => {
                    self.report(Finding::new(
                        path.key("sliding"),
                        "a sliding window's duration and slide must be at least 1ms",
                    ));
                    None
                }
            },
            (None, None, Some(session)) => match positive(session.gap) {
                Some(gap_ms) => Some(WindowKind::Session { gap_ms }),
                None => {
                    self.report(Finding::new(
                        extend(path, &["session", "gap"]),
                        "a session's gap must be at least 1ms",
                    ));
                    None
                }
            },
            (None, None, None) => {
                self.report(
                    Finding::new(path.clone(), "a window needs its shape: `tumbling: {duration: 10s}` or `sliding: {duration: 1m, slide: 10s}`")
                        .at_key(),
                );
                None
            }
            _ => {
                self.report(
                    Finding::new(
                        path.clone(),
                        "a window has exactly one of `tumbling`, `sliding` or `session`",
                    )
                    .at_key(),
                );
                None
            }
        };
        let grace_ms = i64::try_from(window.watermark.grace_period.as_millis()).unwrap_or(i64::MAX);
        let timestamp_path = path.key("assign-timestamp");
        let timestamp = match &window.assign_timestamp {
            None => Some(None),
            Some(function) => self.logic(&function.codes(), &timestamp_path, Scope::Record).map(Some),
        };
        let merge_path = path.key("merge");
        let joins = service.join.is_some();
        let merge = match (&window.merge, &window.session) {
            (_, Some(_)) if joins => Some(None),
            (Some(merge), Some(_)) => self.logic(&merge.codes(), &merge_path, Scope::Merge).map(Some),
            // A built-in aggregate knows how to merge two sessions.
            (None, Some(_))
                if window.partition.as_ref().or(service.partition.as_ref()).is_some_and(|p| {
                    p.update_state.as_ref().is_some_and(|update| update.aggregate.is_some())
                }) =>
            {
                Some(None)
            }
            (None, Some(_)) => {
                self.report(
                    Finding::new(
                        path.key("session"),
                        "a session window needs `merge`: when a record bridges two sessions of a key, \
                         their states are combined, e.g. `merge: {cel: state + other}` (built-in aggregates \
                         merge themselves)",
                    )
                    .at_key(),
                );
                None
            }
            // Sliding windows with a `merge` keep each key's state per pane (`slide`) and
            // merge the panes of a window when it closes.
            (Some(merge), None) if window.sliding.is_some() && !joins => {
                self.logic(&merge.codes(), &merge_path, Scope::Merge).map(Some)
            }
            (Some(_), None) => {
                self.report(
                    Finding::new(
                        merge_path.clone(),
                        "`merge` is only used by session and sliding windows with `update-state`; remove it",
                    )
                    .at_key(),
                );
                None
            }
            (None, None) => Some(None),
        };
        if let (true, Some(_)) = (joins, &window.session) {
            self.report(
                Finding::new(
                    path.key("session"),
                    "a join cannot use session windows; use `tumbling` or `sliding`",
                )
                .at_key(),
            );
            ok = false;
        }
        let flush = match &window.flush {
            None if joins => Some(None),
            Some(_) if joins => {
                self.report(
                    Finding::new(
                        path.key("flush"),
                        format!(
                            "service `{name}` joins, so a closing window emits what `join.emit` returns; remove `flush`"
                        ),
                    )
                    .at_key(),
                );
                None
            }
            None => {
                self.report(
                    Finding::new(
                        path.clone(),
                        format!(
                            "the window of service `{name}` has no `flush`, so it never emits anything; \
                             add e.g. `flush: {{cel: \"{{'key': key, 'state': state}}\"}}`"
                        ),
                    )
                    .at_key(),
                );
                None
            }
            Some(flush) => {
                let at = path.key("flush");
                let scope = match flush.per {
                    FlushPer::Key => Scope::FlushKey,
                    FlushPer::Window => Scope::FlushWindow,
                };
                let codes = flush.codes();
                let logic = match (flush.aggregate, codes.as_slice()) {
                    (Some(kind), [_]) => self.flush_aggregate(flush, kind, &at),
                    _ => {
                        self.stray_aggregate_fields(
                            &[
                                ("k", flush.k.is_some()),
                                ("by", flush.by.is_some()),
                                ("with-ties", flush.with_ties),
                            ],
                            &at,
                        );
                        self.logic(&codes, &at, scope)
                    }
                };
                logic.map(|logic| Some(FlushPlan { per: flush.per, logic, origin: at.to_string() }))
            }
        };
        if service.sinks.is_empty() {
            self.report(
                Finding::new(
                    path.key("flush"),
                    format!("service `{name}` has a window but no sinks for what `flush` emits; add `sinks`"),
                )
                .at_key(),
            );
            ok = false;
        }
        let plan = WindowPlan {
            kind: kind?,
            grace_ms,
            idleness: window.watermark.idleness,
            max_drift_ms: window
                .watermark
                .max_drift
                .map(|drift| i64::try_from(drift.as_millis()).unwrap_or(i64::MAX)),
            timestamp: timestamp?,
            timestamp_origin: timestamp_path.to_string(),
            merge: merge?,
            merge_origin: merge_path.to_string(),
            flush: flush?,
        };
        ok.then_some(plan)
    }

    /// Checks a `type: nexmark` source at `path`.
    fn nexmark(&mut self, source: &Endpoint, path: &Path) -> Option<NexmarkPlan> {
        let mut ok = true;
        let id = &source.id;
        let valid_id = !id.is_empty()
            && id.len() <= MAX_GENERATOR_ID
            && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid_id {
            self.report(Finding::new(
                path.key("id"),
                format!(
                    "a nexmark source's id must be 1 to {MAX_GENERATOR_ID} letters, digits, `.`, `_` or `-`, got `{id}`"
                ),
            ));
            ok = false;
        }
        if source.events == Some(0) {
            self.report(Finding::new(
                path.key("events"),
                "`events: 0` makes no events; give at least 1, or leave `events` out for an endless stream",
            ));
            ok = false;
        }
        if source.rate == Some(0) {
            self.report(Finding::new(
                path.key("rate"),
                "`rate` must be at least 1 event per second; leave it out to generate as fast as possible",
            ));
            ok = false;
        }
        let partitions = source.partitions.unwrap_or(1);
        if !(1..=MAX_GENERATOR_PARTITIONS).contains(&partitions) {
            self.report(Finding::new(
                path.key("partitions"),
                format!("a nexmark source has 1 to {MAX_GENERATOR_PARTITIONS} partitions, not {partitions}"),
            ));
            ok = false;
        }
        ok.then(|| NexmarkPlan {
            config: source.generator.clone().unwrap_or_default(),
            events: source.events,
            rate: source.rate,
            partitions,
        })
    }

    /// Reports each generator setting given to an endpoint that is not a generator (`what`:
    /// "a sink", "a topic source"); returns whether there was none.
    fn no_generator_fields(&mut self, endpoint: &Endpoint, path: &Path, what: &str) -> bool {
        let present = [
            ("events", endpoint.events.is_some()),
            ("rate", endpoint.rate.is_some()),
            ("partitions", endpoint.partitions.is_some()),
            ("generator", endpoint.generator.is_some()),
        ];
        let mut none = true;
        for (field, _) in present.iter().filter(|(_, present)| *present) {
            let hint =
                if *field == "partitions" { " (a topic's partitions are declared in `topics`)" } else { "" };
            self.report(
                Finding::new(
                    path.key(field),
                    format!("`{field}` is a setting of `type: nexmark` sources, not of {what}{hint}"),
                )
                .at_key(),
            );
            none = false;
        }
        none
    }

    /// Resolves a source's or sink's topic id, written at `path`.
    fn topic_ref(
        &mut self,
        id: &str,
        path: Path,
        topics: &BTreeMap<String, Option<TopicPlan>>,
    ) -> Option<TopicName> {
        match topics.get(id) {
            Some(plan) => plan.as_ref().map(|plan| plan.name.clone()),
            None => {
                if !self.is_broken(&Path::root().key("topics").key(id)) {
                    let hint = closest(id, topics.keys().map(String::as_str))
                        .map(|near| format!(" (did you mean `{near}`?)"))
                        .unwrap_or_default();
                    let declared = if topics.is_empty() {
                        "none".to_owned()
                    } else {
                        topics.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
                    };
                    self.report(
                        Finding::new(
                            path,
                            format!("topic `{id}` is not declared in `topics`{hint} (declared: {declared})"),
                        )
                        .expected("a topic id declared in `topics`"),
                    );
                }
                None
            }
        }
    }

    fn states(&mut self, service: &Service, path: &Path) -> Option<Vec<StatePlan>> {
        let mut plans = Vec::new();
        let mut ok = true;
        for (name, state) in &service.states {
            let at = extend(path, &["states", name, "properties"]);
            let key_path = extend(&at, &["key", "type"]);
            let key = match self.primitive_ref(&state.properties.key.type_name, key_path.clone()) {
                Some(key) if key == Primitive::String || key.is_integer() => Some(key),
                Some(other) => {
                    self.report(Finding::new(
                        key_path,
                        format!("a state key must be `string` or an integer type, not `{other}`"),
                    ));
                    None
                }
                None => None,
            };
            let value = match &state.properties.value {
                StateValue::Number(number) => Some(StateType::Number(*number)),
                StateValue::Row(columns) => self.row(columns, &extend(&at, &["value", "properties"])),
            };
            match (key, value) {
                (Some(key), Some(value)) => plans.push(StatePlan { name: name.clone(), key, value }),
                _ => ok = false,
            }
        }
        ok.then_some(plans)
    }

    fn row(&mut self, columns: &BTreeMap<String, TypeDef>, path: &Path) -> Option<StateType> {
        let mut resolved = Vec::new();
        let mut ok = true;
        for (name, column) in columns {
            let at = path.key(name);
            let primitive = match column {
                TypeDef::Primitive(primitive) => Some(*primitive),
                TypeDef::Named(type_name) => self.primitive_ref(type_name, at.key("type")),
                TypeDef::Object(_) | TypeDef::List(_) => {
                    self.report(Finding::new(at.key("type"), "a row column must have a primitive type"));
                    None
                }
            };
            match primitive {
                Some(primitive) => resolved.push((name.clone(), primitive)),
                None => ok = false,
            }
        }
        ok.then_some(StateType::Row(resolved))
    }

    fn partition(
        &mut self,
        partition: &Partition,
        path: &Path,
        name: &str,
        service: &Service,
        states: Option<&[StatePlan]>,
    ) -> Option<PartitionPlan> {
        let key_path = path.key("assign-key");
        let key = self.logic(&partition.assign_key.codes(), &key_path, Scope::Record);
        let chain = self.chain(&partition.transforms, &path.key("transforms"));
        let update_state = match &partition.update_state {
            None => Some(None),
            Some(update) => {
                let at = path.key("update-state");
                let codes = update.codes();
                let declared: Vec<&str> = service.states.keys().map(String::as_str).collect();
                let state = match declared.as_slice() {
                    [] => {
                        self.report(
                            Finding::new(
                                at.clone(),
                                format!(
                                    "`update-state` needs a state to update; declare one under `services.{name}.states`, \
                                     e.g. `count: {{type: keyed-state, properties: {{key: {{type: string}}, value: {{type: u64}}}}}}`"
                                ),
                            )
                            .at_key(),
                        );
                        None
                    }
                    [_] => states.and_then(|states| states.first().cloned()),
                    several => {
                        self.report(
                            Finding::new(
                                at.clone(),
                                format!(
                                    "`update-state` binds exactly one state as `state`, but service `{name}` declares {} ({}); keep one",
                                    several.len(),
                                    several.join(", ")
                                ),
                            )
                            .at_key(),
                        );
                        None
                    }
                };
                let logic = match (update.aggregate, codes.as_slice()) {
                    (Some(kind), [_]) => self.update_aggregate(update, kind, &at, state.as_ref()),
                    _ => {
                        self.stray_aggregate_fields(&[("of", update.of.is_some())], &at);
                        self.logic(&codes, &at, Scope::State)
                    }
                };
                match (logic, state) {
                    (Some(logic), Some(state)) => {
                        Some(Some(UpdateStatePlan { logic, origin: at.to_string(), state }))
                    }
                    _ => None,
                }
            }
        };
        let emit = match &partition.emit {
            None => Some(None),
            Some(emit) => self.partition_emit(emit, &path.key("emit"), name, service, partition),
        };
        Some(PartitionPlan {
            key: key?,
            key_origin: key_path.to_string(),
            chain: chain?,
            update_state: update_state?,
            emit: emit?,
        })
    }

    /// `partition.emit`: CEL over the record and the state before and after `update-state`,
    /// in a service without a window (a windowed service emits through `flush`).
    fn partition_emit(
        &mut self,
        emit: &FunctionDef,
        path: &Path,
        name: &str,
        service: &Service,
        partition: &Partition,
    ) -> Option<Option<EmitPlan>> {
        let mut ok = true;
        if partition.update_state.is_none() {
            self.report(
                Finding::new(
                    path.clone(),
                    format!(
                        "`emit` sends on what a state update makes, but the partition of service `{name}` has no \
                         `update-state`; add one, or use a `map` in `partition.transforms`"
                    ),
                )
                .at_key(),
            );
            ok = false;
        }
        if service.window.is_some() {
            self.report(
                Finding::new(
                    path.clone(),
                    format!(
                        "service `{name}` has a window, whose results leave through `flush`; \
                         `emit` is for services without a window"
                    ),
                )
                .at_key(),
            );
            ok = false;
        }
        let logic = self.emit(&emit.codes(), path, Scope::StateEmit, &[]);
        match (ok, logic) {
            (true, Some(logic)) => Some(Some(EmitPlan { logic, origin: path.to_string() })),
            _ => None,
        }
    }
}
