//! `eddy run` on a dataflow with inline Rust (`run:`, as in SDF): it builds the functions
//! into WebAssembly components first, then runs them like any other logic: filter, map,
//! re-key and keyed state, with a failing record sent to the dead-letter topic.

#![allow(clippy::unwrap_used)]

mod common;

use common::Eddy;

const DATAFLOW: &str = r#"apiVersion: 0.5.0
meta: {name: inline}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}}}
  alert: {type: object, properties: {sensor: {type: string}, over: {type: f64}}}
topics:
  readings: {name: readings, partitions: 2, schema: {value: {type: reading}}}
  alerts: {name: alerts, partitions: 1, schema: {value: {type: alert}}}
services:
  hot:
    sources: [{type: topic, id: readings}]
    states:
      alerts-per-sensor: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    transforms:
      - operator: filter
        run: |
          fn too_hot(r: Reading) -> Result<bool> {
              ensure!(r.temp < 1000.0, "implausible reading {}", r.temp);
              Ok(r.temp > 30.0)
          }
      - operator: map
        run: "fn alert(r: Reading) -> Result<Alert> { Ok(Alert { over: r.temp - 30.0, sensor: r.sensor }) }"
    partition:
      assign-key: {run: "fn by_sensor(a: Alert) -> Result<String> { Ok(a.sensor) }"}
      update-state: {run: "fn count(_a: Alert) -> Result<()> { alerts_per_sensor().increment(1)?; Ok(()) }"}
    sinks: [{type: topic, id: alerts}]
"#;

#[test]
fn inline_rust_is_built_then_run() {
    let eddy = Eddy::new();
    let flow = eddy.scratch("inline.yaml");
    std::fs::write(&flow, DATAFLOW).unwrap();
    let flow = flow.to_str().unwrap();
    let target = std::env::current_exe().unwrap().ancestors().nth(3).unwrap().to_path_buf();

    eddy.create_topic("readings", 2);
    let readings = [
        r#"{"sensor": "a", "temp": 31.5}"#,
        r#"{"sensor": "b", "temp": 12.0}"#,
        r#"{"sensor": "a", "temp": 40.0}"#,
        r#"{"sensor": "c", "temp": 5000.0}"#,
        r#"{"sensor": "b", "temp": 30.5}"#,
    ];
    eddy.produce("readings", &[], (readings.join("\n") + "\n").as_bytes());
    let output =
        eddy.command(&["run", flow, "--until-idle"]).env("CARGO_TARGET_DIR", &target).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("built 4 component(s) of dataflow 'inline'"), "{stderr}");

    let mut alerts: Vec<serde_json::Value> = String::from_utf8(eddy.consume_all("alerts", &[]))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    alerts.sort_by_key(|alert| alert.to_string());
    assert_eq!(
        alerts,
        [
            serde_json::json!({"sensor": "b", "over": 0.5}),
            serde_json::json!({"sensor": "a", "over": 1.5}),
            serde_json::json!({"sensor": "a", "over": 10.0}),
        ]
    );
    let state = String::from_utf8(eddy.ok(&["state", "list", "hot", "alerts-per-sensor"])).unwrap();
    assert_eq!(state, "a 2\nb 1\n");

    let dead = String::from_utf8(eddy.consume_all("inline.dead-letter", &[])).unwrap();
    assert!(dead.contains("implausible reading 5000"), "{dead}");
    assert_eq!(dead.lines().count(), 1, "{dead}");

    // A second run finds the components up to date and builds nothing.
    let output =
        eddy.command(&["run", flow, "--until-idle"]).env("CARGO_TARGET_DIR", &target).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("built"), "{stderr}");
}
