//! The playground ingress and egress over real HTTP, with the Python SDK's `example/person`
//! behind them, as Statefun's playground examples use them: `PUT /example/person/<id>` with
//! `Content-Type: application/vnd.example/GreetRequest`, then `GET /greetings`. Bad requests
//! get a 4xx saying why; `?reply` waits for the function's answer to its caller; state carries
//! over a restart.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{PythonFunctions, open};
use eddy_functions::Options;
use eddy_statefun::Module;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One HTTP/1.1 request; the response's status and body.
fn http(port: u16, method: &str, path: &str, content_type: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(content_type) = content_type {
        request.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

/// An `io.statefun.types/string` payload: a protobuf `StringWrapper`, as text of its bytes
/// (short ASCII values only).
fn string(text: &str) -> String {
    let mut bytes = vec![0x0a, u8::try_from(text.len()).unwrap()];
    bytes.extend_from_slice(text.as_bytes());
    String::from_utf8(bytes).unwrap()
}

fn greet(port: u16, id: &str, name: &str) -> (u16, String) {
    let body = format!(r#"{{"name": "{name}"}}"#);
    http(port, "PUT", &format!("/example/person/{id}"), Some("application/vnd.example/GreetRequest"), &body)
}

/// The next `count` greetings from the egress, waiting for them to commit.
fn greetings(port: u16, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.len() < count {
        let (status, body) = http(port, "GET", "/greetings", None, "");
        match status {
            200 => got.push(body),
            204 | 404 => {
                assert!(Instant::now() < deadline, "only {got:?} after 30 s");
                std::thread::sleep(Duration::from_millis(10));
            }
            other => panic!("GET /greetings answered {other}: {body}"),
        }
    }
    got
}

#[test]
fn playground_messages_in_and_greetings_out_over_http() {
    let python = PythonFunctions::start();
    let (ingress, egress) = (free_port(), free_port());
    let module = Module::parse(
        "module.yaml",
        &format!(
            "kind: io.statefun.endpoints.v2/http
spec:
  functions: example/*
  urlPathTemplate: http://127.0.0.1:{}/{{function.name}}
---
kind: io.statefun.playground.v1/ingress
spec:
  port: {ingress}
---
kind: io.statefun.playground.v1/egress
spec:
  port: {egress}
  topics: [greetings]
",
            python.port
        ),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = || Options { commit_interval: Duration::from_millis(20), ..Options::default() };

    let (log, store) = open(dir.path());
    let running = eddy_functions::start(&module, Arc::clone(&log), Arc::clone(&store), options()).unwrap();
    for (id, name) in [("bob", "Bob"), ("ann", "Ann"), ("bob", "Bob")] {
        assert_eq!(greet(ingress, id, name), (200, String::new()));
    }
    let mut got = greetings(egress, 3);
    got.sort();
    assert_eq!(got, ["Hello Ann, visit number 1", "Hello Bob, visit number 1", "Hello Bob, visit number 2"]);
    assert_eq!(http(egress, "GET", "/greetings", None, "").0, 204, "nothing more to read");

    // Request-reply: the request is the caller, and the function's message back is the answer.
    let (status, body) = http(
        ingress,
        "POST",
        "/example/person/bob?reply",
        Some("application/vnd.example/GreetRequest"),
        r#"{"name": "Bob"}"#,
    );
    assert_eq!(status, 200, "{body}");
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply, serde_json::json!({"greeting": "Hello Bob, visit number 3", "visits": 3}));
    assert_eq!(greetings(egress, 1), ["Hello Bob, visit number 3"]);

    // Bad requests say what is wrong and send nothing.
    let (status, body) = http(ingress, "PUT", "/example/person/bob", Some("application/json"), "{}");
    assert_eq!(status, 415);
    assert!(body.contains("application/vnd.<typename>"), "{body}");
    let (status, body) =
        http(ingress, "PUT", "/example/person", Some("application/vnd.example/GreetRequest"), "{}");
    assert_eq!(status, 404);
    assert!(body.contains("/{namespace}/{type}/{id}"), "{body}");
    let (status, body) =
        http(ingress, "PUT", "/nobody/serves/this", Some("application/vnd.example/GreetRequest"), "{}");
    assert_eq!(status, 404);
    assert!(body.contains("no function of the module is `nobody/serves`"), "{body}");
    assert_eq!(http(ingress, "GET", "/example/person/bob", None, "").0, 405);
    assert_eq!(http(egress, "GET", "/no-such-topic", None, "").0, 404);

    // Time to live: `recent` expires 3 s after its last write, `active` 3 s after the last
    // call; a call that only reads keeps `active` alive but not `recent`. (Each check that
    // a value lives has 1.8 s to spare; delays only make an expiry more certain.)
    let call = |message: &str| {
        let path = "/example/forgetful/f?reply";
        let (status, body) =
            http(ingress, "POST", path, Some("application/vnd.io.statefun.types/string"), message);
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    assert_eq!(call(&string("count")), serde_json::json!({"recent": 1, "active": 1}));
    assert_eq!(call(&string("count")), serde_json::json!({"recent": 2, "active": 2}));
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(call(&string("touch")), serde_json::json!({"recent": 2, "active": 2}));
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(call(&string("touch"))["active"], 2, "a call keeps `active` alive");
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(call(&string("touch")), serde_json::json!({"recent": 0, "active": 2}), "`recent` expired");
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(call(&string("count")), serde_json::json!({"recent": 1, "active": 1}), "both expired");

    // A port in use fails the start with the port.
    let (log_again, store_again) = (Arc::clone(&log), Arc::clone(&store));
    let error = eddy_functions::start(&module, log_again, store_again, options()).unwrap_err();
    assert!(error.to_string().contains(&format!("port {ingress}")), "{error}");

    running.handle().shutdown();
    running.wait().unwrap();
    drop((log, store));

    // State carries over a restart; the egress reads its topic from the start again.
    let (log, store) = open(dir.path());
    let running = eddy_functions::start(&module, Arc::clone(&log), Arc::clone(&store), options()).unwrap();
    assert_eq!(greet(ingress, "bob", "Bob").0, 200);
    let got = greetings(egress, 5);
    assert_eq!(got.last().map(String::as_str), Some("Hello Bob, visit number 4"), "{got:?}");
    running.handle().shutdown();
    running.wait().unwrap();
}
