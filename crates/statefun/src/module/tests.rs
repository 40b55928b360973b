//! Module files, good and broken.

use std::time::Duration;

use super::*;
use crate::http::Protocol;

const FULL: &str = r#"
kind: io.statefun.endpoints.v2/http
spec:
  functions: example/*
  urlPathTemplate: http://functions:8000/statefun/{function.name}
  maxNumBatchRequests: 50
  transport:
    timeouts:
      call: 2 min
      connect: 5s
      read: 15s
      write: 20s
---
kind: io.statefun.endpoints.v2/http
spec:
  functions: example/special
  urlPathTemplate: http://special:9000/
  transport:
    type: io.statefun.transports.v1/async
    call: 30s
    connect: 2s
    pool_ttl: 15s
    pool_size: 8
    payload_max_bytes: 1000
    protocol: h2c
    maxConcurrentRequests: 4
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: example/names
  address: kafka:9092
  consumerGroupId: my-group
  startupPosition:
    type: earliest
  topics:
    - topic: names
      valueType: io.statefun.types/string
      targets:
        - example/greeter
        - example/special
  properties:
    - max.poll.records: "100"
---
kind: io.statefun.kafka.v1/egress
spec:
  id: example/greets
  deliverySemantic:
    type: exactly-once
    transactionTimeout: 15min
---
kind: io.statefun.playground.v1/ingress
spec:
  port: 8090
---
kind: io.statefun.playground.v1/egress
spec:
  port: 8091
  topics:
    - greetings
"#;

fn problems(text: &str) -> Vec<String> {
    match Module::parse("module.yaml", text) {
        Ok(module) => panic!("expected problems, parsed {module:?}"),
        Err(Error::Invalid(problems)) => problems.iter().map(ToString::to_string).collect(),
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn a_full_module_parses() {
    let module = Module::parse("module.yaml", FULL).unwrap();
    assert_eq!(module.endpoints.len(), 2);
    let wildcard = &module.endpoints[0];
    assert_eq!(wildcard.functions, FunctionPattern::Namespace("example".into()));
    assert_eq!(wildcard.max_num_batch_requests, 50);
    assert_eq!(wildcard.client.timeouts.call, Duration::from_secs(120));
    assert_eq!(wildcard.client.timeouts.write, Duration::from_secs(20));
    let special = &module.endpoints[1];
    assert_eq!(special.max_num_batch_requests, 1000);
    assert_eq!(special.client.timeouts.call, Duration::from_secs(30));
    assert_eq!(special.client.timeouts.read, Duration::from_secs(10), "the default");
    assert_eq!(special.client.pool_max_idle, 8);
    assert_eq!(special.client.max_response_bytes, 1000);
    assert_eq!(special.client.protocol, Protocol::H2c);
    assert_eq!(special.client.max_concurrent_requests, 4);

    let greeter: FunctionType = "example/greeter".parse().unwrap();
    let special_type: FunctionType = "example/special".parse().unwrap();
    assert_eq!(
        module.endpoint_for(&greeter).unwrap().url_for(&greeter),
        "http://functions:8000/statefun/greeter"
    );
    assert_eq!(module.endpoint_for(&special_type).unwrap().url_for(&special_type), "http://special:9000/");
    assert!(module.endpoint_for(&"other/x".parse().unwrap()).is_none());

    let [Ingress::Kafka(kafka), Ingress::Playground(playground)] = module.ingresses.as_slice() else {
        panic!()
    };
    assert_eq!(kafka.id.to_string(), "example/names");
    assert_eq!(kafka.startup_position, StartupPosition::Earliest);
    assert_eq!(kafka.topics[0].topic.as_str(), "names");
    assert_eq!(kafka.topics[0].targets, [greeter, special_type]);
    assert_eq!(kafka.properties, [("max.poll.records".to_owned(), "100".to_owned())]);
    assert_eq!(playground.port, 8090);

    let egress = module.kafka_egress(&"example/greets".parse().unwrap()).unwrap();
    assert_eq!(egress.delivery_semantic, DeliverySemantic::ExactlyOnce(Duration::from_secs(900)));
    assert!(matches!(&module.egresses[1], Egress::Playground(p) if p.topics == ["greetings"]));
}

#[test]
fn a_v1_endpoint_has_its_timeouts_under_spec() {
    let text = "kind: io.statefun.endpoints.v1/http\nspec:\n  functions: a/b\n  urlPathTemplate: http://h/\n  timeouts:\n    call: 3s\n";
    let module = Module::parse("m.yaml", text).unwrap();
    assert_eq!(module.endpoints[0].client.timeouts.call, Duration::from_secs(3));
}

#[test]
fn every_problem_names_the_file_line_and_field() {
    let text = r#"kind: io.statefun.endpoints.v2/http
spec:
  functions: example
  urlPathTemplate: http://h/{function.namespace}
  maxNumBatchRequests: 0
  transport:
    timeouts:
      call: forever
      raed: 1s
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: names
  topics:
    - topic: "bad topic"
      valueType: io.statefun.types/string
      targets: []
---
kind: io.statefun.kafka.v1/egress
spec:
  deliverySemantic:
    type: twice
"#;
    assert_eq!(
        problems(text),
        [
            "module.yaml:3:14: `spec.functions`: expected `namespace/name` or `namespace/*`, found `example`",
            "module.yaml:4:20: `spec.urlPathTemplate`: expected a URL whose only placeholder is `{function.name}`, found `http://h/{function.namespace}`",
            "module.yaml:5:24: `spec.maxNumBatchRequests`: expected a whole number of at least 1, found `0`",
            "module.yaml:9:7: `spec.transport.timeouts.raed`: unknown field; expected one of `call`, `connect`, `read`, `write`",
            "module.yaml:8:13: `spec.transport.timeouts.call`: expected a duration such as `10s`, `1 min` or `500ms`, found `forever`",
            "module.yaml:13:7: `spec.id`: expected a typename `namespace/name`, found `names`",
            "module.yaml:15:14: `spec.topics[0].topic`: expected a topic name: topic name 'bad topic' contains ' ' at position 3; use letters, digits, '.', '_' and '-', found `bad topic`",
            "module.yaml:17:16: `spec.topics[0].targets`: expected at least one item",
            "module.yaml:21:3: `spec.id`: this required field is missing",
            "module.yaml:22:11: `spec.deliverySemantic.type`: expected `none`, `at-least-once` or `exactly-once`, found `twice`",
        ]
    );
}

#[test]
fn unknown_kinds_and_missing_parts_are_reported() {
    assert_eq!(
        problems(
            "kind: io.statefun.kinesis.v1/ingress\nspec: {}\n---\nspec: {}\n---\nkind: io.statefun.playground.v1/ingress\n"
        ),
        [
            "module.yaml:1:7: `kind`: Kinesis is not supported; unknown kind `io.statefun.kinesis.v1/ingress`; expected one of `io.statefun.endpoints.v2/http`, `io.statefun.endpoints.v1/http`, `io.eddy.endpoints.v1/wasm`, `io.statefun.kafka.v1/ingress`, `io.statefun.kafka.v1/egress`, `io.statefun.playground.v1/ingress`, `io.statefun.playground.v1/egress`",
            "module.yaml:4:1: `kind`: this required field is missing",
            "module.yaml:6:1: `spec`: this required field is missing",
        ]
    );
}

#[test]
fn broken_yaml_and_odd_shapes_are_problems_not_panics() {
    assert_eq!(
        problems(""),
        ["module.yaml:1:1: the module file is empty; expected documents with `kind` and `spec`"]
    );
    assert!(
        problems("kind: [unclosed\n")[0].starts_with("module.yaml:2:1: invalid YAML"),
        "{:?}",
        problems("kind: [unclosed\n")
    );
    assert_eq!(problems("- a\n- b\n"), ["module.yaml:1:1: expected a mapping, found a list"]);
    assert_eq!(
        problems("kind: io.statefun.endpoints.v2/http\nspec: [1]\n"),
        ["module.yaml:2:7: `spec`: expected a mapping, found a list"]
    );
    assert_eq!(
        problems("kind: io.statefun.playground.v1/ingress\nspec:\n  port: 70000\n"),
        ["module.yaml:3:9: `spec.port`: expected a port number from 1 to 65535, found `70000`"]
    );
    assert!(
        problems("version: \"3.0\"\nmodule:\n  meta:\n    type: remote\n")[0]
            .contains("Statefun 3.0 module format")
    );
    let tls = "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a/*\n  urlPathTemplate: https://h/\n";
    assert_eq!(
        problems(tls),
        [
            "module.yaml:4:20: `spec.urlPathTemplate`: https endpoints are not supported yet; expected an http:// URL, found `https://h/`"
        ]
    );
    let twice = "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: a/*\n  urlPathTemplate: http://h/\n---\nkind: io.statefun.endpoints.v2/http\nspec:\n  functions: a/*\n  urlPathTemplate: http://h/\n";
    assert_eq!(
        problems(twice),
        ["module.yaml:8:14: `spec.functions`: another endpoint already serves these functions"]
    );
}

#[test]
fn a_missing_file_is_a_read_error() {
    let error = Module::load("/nonexistent/module.yaml").unwrap_err();
    assert!(
        error.to_string().starts_with("cannot read the module file /nonexistent/module.yaml: "),
        "{error}"
    );
}

/// A module file beside a component `fn.wasm`, in a fresh directory.
fn beside_a_component(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fn.wasm"), b"\0asm").unwrap();
    let file = dir.path().join("module.yaml");
    std::fs::write(&file, text).unwrap();
    (dir, file.display().to_string())
}

#[test]
fn wasm_endpoints_name_a_component_beside_the_module_file() {
    let text = "kind: io.eddy.endpoints.v1/wasm
spec:
  functions: example/greeter
  component: fn.wasm
---
kind: io.eddy.endpoints.v1/wasm
spec:
  functions: other/*
  component: ./fn.wasm
  maxNumBatchRequests: 10
---
kind: io.statefun.endpoints.v2/http
spec:
  functions: example/*
  urlPathTemplate: http://localhost:8000/{function.name}
---
kind: io.statefun.endpoints.v2/http
spec:
  functions: other/remote
  urlPathTemplate: http://localhost:8000/{function.name}
";
    let (dir, file) = beside_a_component(text);
    let module = Module::load(&file).unwrap();
    assert_eq!(module.wasm_endpoints.len(), 2);
    assert_eq!(module.wasm_endpoints[0].component, dir.path().join("fn.wasm"));
    assert_eq!(module.wasm_endpoints[0].max_num_batch_requests, 1000);
    assert_eq!(module.wasm_endpoints[1].max_num_batch_requests, 10);
    let wasm_for = |name: &str| module.wasm_endpoint_for(&name.parse().unwrap()).map(|e| e.functions.clone());
    assert_eq!(wasm_for("example/greeter"), Some(FunctionPattern::Exact("example/greeter".parse().unwrap())));
    assert_eq!(wasm_for("example/other"), None, "served over HTTP");
    assert_eq!(wasm_for("other/x"), Some(FunctionPattern::Namespace("other".into())));
    assert_eq!(wasm_for("other/remote"), None, "an exact HTTP endpoint wins over a wasm pattern");
    assert!(module.endpoint_for(&"example/other".parse().unwrap()).is_some());
}

#[test]
fn broken_wasm_endpoints_are_reported_with_their_line() {
    let text = "kind: io.eddy.endpoints.v1/wasm
spec:
  functions: example/greeter
---
kind: io.eddy.endpoints.v1/wasm
spec:
  functions: example/gr*eter
  component: missing.wasm
  url: http://x
---
kind: io.eddy.endpoints.v1/wasm
spec:
  functions: example/greeter
  component: fn.wasm
---
kind: io.eddy.endpoints.v1/wasm
spec:
  functions: example/greeter
  component: fn.wasm
  maxNumBatchRequests: none
";
    let (dir, file) = beside_a_component(text);
    let problems = match Module::load(&file) {
        Err(Error::Invalid(problems)) => problems,
        other => panic!("expected problems: {other:?}"),
    };
    let problems: Vec<String> =
        problems.iter().map(|problem| problem.to_string().replace(&file, "module.yaml")).collect();
    let missing = dir.path().join("missing.wasm");
    assert_eq!(
        problems,
        [
            "module.yaml:3:3: `spec.component`: this required field is missing".to_owned(),
            "module.yaml:9:3: `spec.url`: unknown field; expected one of `functions`, `component`, `maxNumBatchRequests`".to_owned(),
            "module.yaml:7:14: `spec.functions`: expected `namespace/name` or `namespace/*`, found `example/gr*eter`".to_owned(),
            format!("module.yaml:8:14: `spec.component`: no file at `{}`; expected the path of a component (`.wasm`), relative to the module file, found `missing.wasm`", missing.display()),
            "module.yaml:20:24: `spec.maxNumBatchRequests`: expected a whole number of at least 1, found `none`".to_owned(),
            "module.yaml:18:14: `spec.functions`: another endpoint already serves these functions".to_owned(),
        ]
    );
}
