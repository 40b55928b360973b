//! Services are planned writers-first; a cycle through topics is an error on its line.

#![allow(clippy::unwrap_used)]

use eddy_dataflow::model::{Dataflow, Endpoint, FunctionDef, Meta, Operator, Partition, Service, Step};
use eddy_dataflow::{Plan, parse};

const TOPICS: &str = "\
topics:
  readings: {schema: {value: {type: string}}}
  alerts: {schema: {value: {type: string}}}
  report: {schema: {value: {type: string}}}
";

#[test]
fn a_service_comes_after_the_services_that_feed_it() {
    let source = format!(
        "apiVersion: 0.5.0\nmeta: {{name: chain}}\n{TOPICS}services:
  a-report:
    sources: [{{type: topic, id: alerts}}]
    sinks: [{{type: topic, id: report}}]
  z-detect:
    sources: [{{type: topic, id: readings}}]
    transforms: [{{operator: filter, cel: value.size() > 3}}]
    sinks: [{{type: topic, id: alerts}}]
  m-mirror:
    sources: [{{type: topic, id: readings}}]
    sinks: [{{type: topic, id: report}}]
"
    );
    let (_, plan) = parse(&source, "chain.yaml").unwrap();
    let order: Vec<&str> = plan.services.iter().map(|service| service.name.as_str()).collect();
    assert_eq!(order, ["m-mirror", "z-detect", "a-report"]);
}

#[test]
fn a_cycle_across_services_is_reported_on_the_first_service_in_it() {
    let source = format!(
        "apiVersion: 0.5.0\nmeta: {{name: loop}}\n{TOPICS}services:
  ping:
    sources: [{{type: topic, id: readings}}]
    sinks: [{{type: topic, id: alerts}}]
  pong:
    sources: [{{type: topic, id: alerts}}]
    sinks: [{{type: topic, id: readings}}]
"
    );
    let error = parse(&source, "loop.yaml").unwrap_err();
    let problems = error.into_vec();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!((problems[0].line, problems[0].column), (8, 3));
    assert_eq!(problems[0].field_path, "services.ping");
    assert_eq!(
        problems[0].message,
        "services form a cycle through topics: ping → `alerts` → pong → `readings` → ping; services must form a DAG"
    );
}

/// A dataflow built in code: a topic from JSON, a service from the model's constructors.
fn counter() -> serde_json::Result<Dataflow> {
    let mut dataflow: Dataflow = serde_json::from_str(
        r#"{"apiVersion": "0.5.0", "meta": {"name": "counter"},
            "topics": {"readings": {"schema": {"value": {"type": "string"}}}}}"#,
    )?;
    let states = serde_json::from_str(
        r#"{"count": {"type": "keyed-state", "properties": {"key": {"type": "string"}, "value": {"type": "u64"}}}}"#,
    )?;
    dataflow.services.insert(
        "count".to_owned(),
        Service {
            sources: vec![Endpoint::topic("readings")],
            states,
            transforms: vec![Step::cel(Operator::Filter, "value != ''")],
            partition: Some(Partition {
                assign_key: FunctionDef::cel("value"),
                transforms: vec![],
                update_state: Some(FunctionDef::cel("state + 1")),
                emit: None,
            }),
            ..Service::default()
        },
    );
    Ok(dataflow)
}

#[test]
fn a_dataflow_built_in_code_is_validated_the_same_way() {
    let dataflow = counter().unwrap();
    let plan = Plan::new(&dataflow).unwrap();
    assert_eq!(plan.services[0].name, "count");
    assert_eq!(plan.dead_letter_topic.as_str(), "counter.dead-letter");

    let mut broken = dataflow;
    broken.meta = Meta { name: "bad name".to_owned(), version: None, namespace: None };
    broken.services.get_mut("count").unwrap().sources[0].id = "nowhere".to_owned();
    let error = Plan::new(&broken).unwrap_err();
    let lines: Vec<String> = error.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines.iter().any(|line| line.starts_with("meta.name: topic name 'bad name' contains ' '")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|line| line.starts_with("services.count.sources[0].id: topic `nowhere`")),
        "{lines:#?}"
    );
}
