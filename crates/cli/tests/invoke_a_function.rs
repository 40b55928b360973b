//! `eddy invoke`: a message to a stateful function, queued in the data directory when no
//! module runs (the next run delivers it) or sent through the running `eddy run module.yaml`.
//! The Python SDK's `example/person` counts the visits and greets through the playground
//! egress; a running module refuses a message to a type it does not serve.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Eddy, PythonFunctions, VISITS_DATAFLOW};

fn greetings(eddy: &Eddy) -> Vec<String> {
    let output = String::from_utf8(eddy.ok(&["consume", "greetings", "-B", "-d"])).unwrap();
    output.lines().map(str::to_owned).collect()
}

fn invoke(eddy: &Eddy, id: &str, name: &str) -> String {
    let output = eddy.run(
        &[
            "invoke",
            "example/person",
            id,
            &format!(r#"{{"name": "{name}"}}"#),
            "--type",
            "example/GreetRequest",
        ],
        b"",
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn invoke_queues_without_a_module_running_and_sends_through_one_that_runs() {
    let python = PythonFunctions::start();
    let eddy = Eddy::new();
    let module = eddy.scratch("module.yaml");
    std::fs::write(
        &module,
        format!(
            "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: example/*\n  \
             urlPathTemplate: http://127.0.0.1:{}/{{function.name}}\n---\n\
             kind: io.statefun.playground.v1/egress\nspec:\n  port: {}\n  topics: [greetings]\n",
            python.port,
            std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
        ),
    )
    .unwrap();
    let module = module.to_str().unwrap().to_owned();

    // Nothing runs: the message waits in the data directory for the next run.
    assert!(invoke(&eddy, "bob", "Bob").contains("queued"));
    eddy.ok(&["run", &module, "--until-idle", "--commit-interval", "20ms"]);
    assert_eq!(greetings(&eddy), ["Hello Bob, visit number 1"]);

    // A module runs: the message goes through it, and takes effect once.
    let mut run =
        eddy.command(&["run", &module, "--commit-interval", "20ms"]).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while UnixStream::connect(eddy.data_dir().join("eddy.sock")).is_err() {
        assert!(Instant::now() < deadline, "the module did not start serving");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(invoke(&eddy, "bob", "Bob").contains("sent to example/person/bob"));
    invoke(&eddy, "ann", "Ann");
    while greetings(&eddy).len() < 3 {
        assert!(Instant::now() < deadline, "greetings: {:?}", greetings(&eddy));
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut got = greetings(&eddy);
    got.sort();
    assert_eq!(got, ["Hello Ann, visit number 1", "Hello Bob, visit number 1", "Hello Bob, visit number 2"]);
    // A type the running module does not serve is refused, not queued.
    let error = eddy.fails(&["invoke", "other/person", "bob", "hi"]);
    assert!(error.contains("no function of the running module serves `other/person`"), "{error}");
    run.kill().unwrap();
    run.wait().unwrap();

    // Bad input is refused before anything is sent.
    let error = eddy.fails(&["invoke", "person", "bob", "hi"]);
    assert!(error.contains("`person` is not a function type"), "{error}");
    let error = eddy.fails(&["invoke", "example/person", "bob", "hi", "--type", "GreetRequest"]);
    assert!(error.contains("`GreetRequest` is not a typename"), "{error}");
    let error = eddy.fails(&["invoke", "example/person", "", "hi"]);
    assert!(error.contains("id is empty"), "{error}");
}

#[test]
fn a_running_dataflow_takes_no_invocations() {
    let eddy = Eddy::new();
    let flow = eddy.scratch("visits.yaml");
    std::fs::write(&flow, VISITS_DATAFLOW).unwrap();
    let mut run = eddy.command(&["run", flow.to_str().unwrap()]).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while UnixStream::connect(eddy.data_dir().join("eddy.sock")).is_err() {
        assert!(Instant::now() < deadline, "the dataflow did not start serving");
        std::thread::sleep(Duration::from_millis(10));
    }
    let error = eddy.fails(&["invoke", "example/person", "bob", "hi"]);
    run.kill().unwrap();
    run.wait().unwrap();
    assert!(error.contains("runs a dataflow, not a Stateful Functions module"), "{error}");
}
