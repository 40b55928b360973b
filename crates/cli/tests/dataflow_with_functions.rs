//! A dataflow file that declares stateful functions (`functions:`) beside its services:
//! `eddy run` runs both on one log. A service's output feeds a function through a topic, a
//! function's egress feeds a service, state of both is readable with `eddy state`, and a
//! second run carries on from what the first committed. Broken `functions` sections are
//! refused with file:line before anything runs.

#![allow(clippy::unwrap_used)]

mod common;

use common::Eddy;

const DATAFLOW: &str = r#"apiVersion: 0.5.0
meta: {name: shop}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}}}
topics:
  readings: {partitions: 2, schema: {key: {type: string}, value: {type: reading}}}
  hot: {name: hot-readings, partitions: 2, schema: {key: {type: string}, value: {type: reading}}}
  greetings: {partitions: 1, schema: {key: {type: string}, value: {type: string, converter: raw}}}
services:
  hot:
    sources: [{type: topic, id: readings}]
    transforms: [{operator: filter, cel: "value.temp > 30.0"}]
    sinks: [{type: topic, id: hot}]
  greeted:
    sources: [{type: topic, id: greetings}]
    states:
      per-user:
        type: keyed-state
        properties: {key: {type: string}, value: {type: arrow-row, properties: {greetings: {type: u64}}}}
    partition:
      assign-key: {cel: key}
      update-state: {cel: "{'greetings': state.greetings + 1}"}
functions:
  - kind: io.eddy.endpoints.v1/wasm
    spec: {functions: example/counter, component: counter.wasm}
  - kind: io.eddy.endpoints.v1/wasm
    spec: {functions: example/greeter, component: greeter.wasm}
  - kind: io.statefun.kafka.v1/ingress
    spec:
      id: example/hot
      startupPosition: {type: earliest}
      topics:
        - {topic: hot, valueType: example/Reading, targets: [example/counter]}
  - kind: io.statefun.kafka.v1/egress
    spec: {id: example/greets}
"#;

fn write_app(eddy: &Eddy, text: &str) -> String {
    let file = eddy.scratch("app/dataflow.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, text).unwrap();
    std::fs::copy(eddy_test_guests::component("fn-counter"), file.with_file_name("counter.wasm")).unwrap();
    std::fs::copy(eddy_test_guests::component("fn-greeter"), file.with_file_name("greeter.wasm")).unwrap();
    file.to_str().unwrap().to_owned()
}

fn readings(round: usize) -> String {
    let mut text = String::new();
    for i in 0..40 {
        let sensor = format!("s{}", i % 4);
        let temp = if i % 2 == 0 { 35.5 } else { 20.0 + round as f64 };
        text.push_str(&format!("{sensor}|{{\"sensor\":\"{sensor}\",\"temp\":{temp}}}\n"));
    }
    text
}

fn state(eddy: &Eddy, service: &str, state: &str, key: &str) -> serde_json::Value {
    serde_json::from_slice(&eddy.ok(&["state", "get", service, state, key])).unwrap()
}

#[test]
fn services_and_functions_of_one_file_run_together() {
    let eddy = Eddy::new();
    let app = write_app(&eddy, DATAFLOW);
    eddy.create_topic("readings", 2);
    for round in 1..=2 {
        eddy.produce("readings", &["--key-separator", "|"], readings(round).as_bytes());
        eddy.ok(&["invoke", "example/greeter", "ann", "Ann"]);
        let output = eddy.run(&["run", &app, "--until-idle", "--commit-interval", "20ms"], b"");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");

        // readings → service `hot` → topic hot-readings → function example/counter.
        let hot = eddy.consume_all("hot-readings", &[]);
        assert_eq!(common::lines(&hot).len(), 20 * round, "{}", String::from_utf8_lossy(&hot));
        for sensor in ["s0", "s2"] {
            let count = state(&eddy, "example/counter", "count", sensor);
            assert_eq!(count["value"], 10 * round as i64, "{sensor}: {count}");
        }
        // Odd readings are never hot: s1 and s3 never reach the counter.
        let missing = eddy.fails(&["state", "get", "example/counter", "count", "s1"]);
        assert!(missing.contains("no key 's1'"), "{missing}");

        // eddy invoke → function example/greeter → egress topic greetings → service `greeted`.
        let greetings = eddy.consume_all("greetings", &[]);
        let greetings: Vec<&[u8]> = common::lines(&greetings);
        assert_eq!(greetings.len(), round);
        assert_eq!(greetings[round - 1], format!("Hello Ann, #{round}").as_bytes());
        assert_eq!(state(&eddy, "greeted", "per-user", "ann")["greetings"], round as u64, "round {round}");
        assert!(stderr.contains("dataflow 'shop' stopped"), "{stderr}");
    }
    let listed = String::from_utf8(eddy.ok(&["state", "list", "example/counter", "count"])).unwrap();
    assert_eq!(listed.lines().count(), 2, "{listed}");
}

#[test]
fn an_egress_to_a_topic_a_service_writes_stops_the_run_with_the_reason() {
    let eddy = Eddy::new();
    // The service `hot` now writes greetings too.
    let text = DATAFLOW.replace(
        "sinks: [{type: topic, id: hot}]",
        "sinks: [{type: topic, id: hot}, {type: topic, id: greetings}]",
    );
    let app = write_app(&eddy, &text);
    eddy.ok(&["invoke", "example/greeter", "ann", "Ann"]);
    let output = eddy.run(&["run", &app, "--until-idle", "--commit-interval", "20ms"], b"");
    let stderr = common::expect_clean_failure(&["run"], &output);
    assert!(stderr.contains("topic `greetings` is written by a service of the dataflow"), "{stderr}");
}

#[test]
fn a_broken_functions_section_is_refused_with_its_lines() {
    let eddy = Eddy::new();
    let text = DATAFLOW
        .replace("{topic: hot, valueType", "{topic: warm, valueType")
        .replace("io.statefun.kafka.v1/egress", "io.statefun.kafka.v9/egress");
    let app = write_app(&eddy, &text);
    let output = eddy.run(&["run", &app, "--until-idle"], b"");
    let stderr = common::expect_clean_failure(&["run"], &output);
    let line_of = |needle: &str| text.lines().position(|line| line.contains(needle)).unwrap() + 1;
    assert!(
        stderr.contains(&format!("dataflow.yaml:{}:", line_of("topic: warm")))
            && stderr.contains("`functions[2].spec.topics[0].topic`")
            && stderr.contains("topic `warm` is not declared under `topics` of the dataflow"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("dataflow.yaml:{}:", line_of("kafka.v9")))
            && stderr.contains("unknown kind `io.statefun.kafka.v9/egress`"),
        "{stderr}"
    );
    assert!(stderr.contains("2 problems; nothing was run"), "{stderr}");

    // Not a list of documents.
    let app = write_app(
        &eddy,
        &format!("{}\nfunctions: {{kind: x}}\n", DATAFLOW.split("functions:").next().unwrap()),
    );
    let output = eddy.run(&["run", &app, "--until-idle"], b"");
    let stderr = common::expect_clean_failure(&["run"], &output);
    assert!(stderr.contains("expected a list of module documents"), "{stderr}");
}

/// The body of `GET /metrics` on `addr`, if something answers.
fn scrape(addr: std::net::SocketAddr) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: eddy\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("application/openmetrics-text"), "{head}");
    Some(body.to_owned())
}

#[test]
fn a_running_dataflow_serves_the_metrics_of_its_services_and_functions() {
    let eddy = Eddy::new();
    let app = write_app(&eddy, DATAFLOW);
    eddy.create_topic("readings", 2);
    eddy.produce("readings", &["--key-separator", "|"], readings(1).as_bytes());
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let addr_text = addr.to_string();
    let mut run = eddy
        .command(&["run", &app, "--commit-interval", "20ms", "--metrics-addr", &addr_text])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let expected = [
        "eddy_dataflow_records_read_total 40",
        "eddy_dataflow_records_written_total 20",
        "eddy_functions_ingress_records_total 20",
        "eddy_functions_messages_total{function_type=\"example/counter\"} 20",
        "# EOF",
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut last = String::new();
    while !expected.iter().all(|line| last.lines().any(|got| got == *line)) {
        assert!(std::time::Instant::now() < deadline, "metrics never showed {expected:?}:\n{last}");
        std::thread::sleep(std::time::Duration::from_millis(50));
        last = scrape(addr).unwrap_or_default();
    }
    assert!(last.contains("# TYPE eddy_dataflow_epochs counter"), "{last}");
    run.kill().unwrap();
    run.wait().unwrap();
}
