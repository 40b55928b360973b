//! The checked-in example dataflow parses into exactly the plan the engine should run.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use eddy_dataflow::expr::{Bindings, Expr};
use eddy_dataflow::model::{Primitive, TypeDef};
use eddy_dataflow::{
    Logic, OperatorKind, OperatorPlan, PartitionPlan, Plan, ServicePlan, SinkPlan, SourceInput, SourcePlan,
    StartOffset, StatePlan, StateType, TopicPlan, UpdateStatePlan,
};
use eddy_types::TopicName;
use serde_json::json;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sensors.yaml");

fn cel(source: &str) -> Logic {
    Logic::Cel(Expr::compile(source).expect("the expression compiles"))
}

fn topic(name: &str) -> TopicName {
    TopicName::new(name).expect("a valid topic name")
}

fn object(fields: &[(&str, Primitive)]) -> TypeDef {
    TypeDef::Object(
        fields
            .iter()
            .map(|(name, primitive)| (name.to_string(), TypeDef::Primitive(*primitive)))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn expected_plan() -> Plan {
    let start = StartOffset::Beginning(0);
    Plan {
        late_records_topic: None,
        name: "sensors".to_owned(),
        commit_interval: Duration::from_millis(250),
        dead_letter_topic: topic("sensors.dead-letter"),
        topics: vec![
            TopicPlan {
                id: "alerts".to_owned(),
                name: topic("alerts"),
                partitions: 1,
                key: None,
                value: object(&[("sensor", Primitive::String), ("temp", Primitive::F64)]),
                converter: eddy_dataflow::model::Converter::Json,
            },
            TopicPlan {
                id: "readings".to_owned(),
                name: topic("sensor-readings"),
                partitions: 4,
                key: Some(TypeDef::Primitive(Primitive::String)),
                value: object(&[
                    ("sensor", Primitive::String),
                    ("temp", Primitive::F64),
                    ("ts", Primitive::I64),
                ]),
                converter: eddy_dataflow::model::Converter::Json,
            },
        ],
        services: vec![
            ServicePlan {
                name: "count-per-sensor".to_owned(),
                sources: vec![SourcePlan {
                    id: "readings".to_owned(),
                    input: SourceInput::Topic { topic: topic("sensor-readings"), start },
                    chain: vec![],
                }],
                chain: vec![],
                partition: Some(PartitionPlan {
                    key: cel("value.sensor"),
                    key_origin: "services.count-per-sensor.partition.assign-key".to_owned(),
                    chain: vec![],
                    update_state: Some(UpdateStatePlan {
                        logic: cel("state + 1"),
                        origin: "services.count-per-sensor.partition.update-state".to_owned(),
                        state: StatePlan {
                            name: "readings-per-sensor".to_owned(),
                            key: Primitive::String,
                            value: StateType::Number(Primitive::U64),
                        },
                    }),
                    emit: None,
                }),
                join: None,
                states: vec![StatePlan {
                    name: "readings-per-sensor".to_owned(),
                    key: Primitive::String,
                    value: StateType::Number(Primitive::U64),
                }],
                window: None,
                sinks: vec![],
            },
            ServicePlan {
                name: "hot-readings".to_owned(),
                sources: vec![SourcePlan {
                    id: "readings".to_owned(),
                    input: SourceInput::Topic { topic: topic("sensor-readings"), start },
                    chain: vec![],
                }],
                chain: vec![
                    OperatorPlan {
                        kind: OperatorKind::Filter,
                        logic: cel("value.temp > 30.0"),
                        origin: "services.hot-readings.transforms[0]".to_owned(),
                    },
                    OperatorPlan {
                        kind: OperatorKind::Map,
                        logic: cel("{'sensor': value.sensor, 'temp': value.temp}"),
                        origin: "services.hot-readings.transforms[1]".to_owned(),
                    },
                ],
                partition: None,
                join: None,
                states: vec![],
                window: None,
                sinks: vec![SinkPlan {
                    topic_id: "alerts".to_owned(),
                    topic: topic("alerts"),
                    chain: vec![],
                }],
            },
        ],
    }
}

#[test]
fn the_sensors_fixture_loads_into_the_expected_plan() {
    let plan = eddy_dataflow::load(Path::new(FIXTURE)).unwrap();
    assert_eq!(plan, expected_plan());
    assert_eq!(
        plan.topics_to_create(),
        vec![(&topic("alerts"), 1), (&topic("sensor-readings"), 4), (&topic("sensors.dead-letter"), 1)]
    );
}

#[test]
fn the_model_keeps_what_the_file_says() {
    let source = std::fs::read_to_string(FIXTURE).unwrap();
    let (dataflow, _) = eddy_dataflow::parse(&source, "sensors.yaml").unwrap();
    assert_eq!(dataflow.api_version, "0.5.0");
    assert_eq!(dataflow.meta.namespace.as_deref(), Some("acme"));
    assert_eq!(dataflow.topics["alerts"].name, None);
    assert_eq!(dataflow.services["hot-readings"].transforms[0].cel.as_deref(), Some("value.temp > 30.0"));
    // The model serializes back to something that parses to the same model.
    let json = serde_json::to_string(&dataflow).unwrap();
    let (again, _) = eddy_dataflow::parse(&json, "sensors.json").unwrap();
    assert_eq!(again, dataflow);
}

#[test]
fn the_plan_runs_records_through_its_expressions() {
    let plan = eddy_dataflow::load(Path::new(FIXTURE)).unwrap();
    let hot = plan.service("hot-readings").unwrap();
    let reading = json!({"sensor": "s1", "temp": 31.5, "ts": 1});
    let topic = plan.topic("readings").unwrap();
    assert_eq!(topic.value.check(&reading), Ok(()));
    assert_eq!(
        topic.value.check(&json!({"sensor": "s1", "temp": "hot", "ts": 1})),
        Err("field `temp`: expected f64, got string".to_owned())
    );

    let filter = hot.chain[0].logic.function().unwrap();
    assert_eq!(filter.call(&Bindings::new(&reading)).unwrap(), json!(true));
    let map = hot.chain[1].logic.function().unwrap();
    let alert = map.call(&Bindings::new(&reading)).unwrap();
    assert_eq!(alert, json!({"sensor": "s1", "temp": 31.5}));
    assert_eq!(plan.topic("alerts").unwrap().value.check(&alert), Ok(()));

    let count = plan.service("count-per-sensor").unwrap().partition.as_ref().unwrap();
    let key = count.key.function().unwrap().call(&Bindings::new(&reading)).unwrap();
    assert_eq!(key, json!("s1"));
    let update = count.update_state.as_ref().unwrap();
    let initial = update.state.value.initial();
    let next = update.logic.function().unwrap().call(&Bindings::new(&reading).with_state(&initial)).unwrap();
    assert_eq!(next, json!(1));
    assert_eq!(update.state.value.type_def().check(&next), Ok(()));
}

#[test]
fn a_missing_file_is_a_diagnostic_naming_it() {
    let error = eddy_dataflow::load(Path::new("/nonexistent/dataflow.yaml")).unwrap_err();
    assert_eq!(error.len(), 1);
    assert!(
        error.to_string().starts_with("/nonexistent/dataflow.yaml: cannot read the dataflow file: "),
        "{error}"
    );
}
