//! `eddy run module.yaml` with a function written as a WebAssembly component
//! (`io.eddy.endpoints.v1/wasm`, the component beside the module file): `eddy invoke`
//! queues a message without a module running, the next run delivers it, a running module
//! takes messages through its socket, and the greeter's count lives in state.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Eddy;

const MODULE: &str = "kind: io.eddy.endpoints.v1/wasm
spec:
  functions: example/greeter
  component: greeter.wasm
---
kind: io.statefun.kafka.v1/egress
spec:
  id: example/greets
";

/// `eddy invoke example/greeter <id> <name>`; what it said on stderr.
fn invoke(eddy: &Eddy, id: &str, name: &str) -> String {
    let output = eddy.run(&["invoke", "example/greeter", id, name], b"");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stderr).unwrap()
}

fn greetings(eddy: &Eddy) -> Vec<String> {
    let output = String::from_utf8(eddy.ok(&["consume", "greetings", "-B", "-d"])).unwrap();
    output.lines().map(str::to_owned).collect()
}

#[test]
fn a_wasm_function_greets_through_eddy_run_and_eddy_invoke() {
    let eddy = Eddy::new();
    let module = eddy.scratch("module.yaml");
    std::fs::write(&module, MODULE).unwrap();
    std::fs::copy(eddy_test_guests::component("fn-greeter"), module.with_file_name("greeter.wasm")).unwrap();
    let module = module.to_str().unwrap().to_owned();

    let queued = invoke(&eddy, "bob", "Bob");
    assert!(queued.contains("queued"), "{queued}");
    eddy.ok(&["run", &module, "--until-idle", "--commit-interval", "20ms"]);
    assert_eq!(greetings(&eddy), ["Hello Bob, #1"]);

    let mut run =
        eddy.command(&["run", &module, "--commit-interval", "20ms"]).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while UnixStream::connect(eddy.data_dir().join("eddy.sock")).is_err() {
        assert!(Instant::now() < deadline, "the module did not start serving");
        std::thread::sleep(Duration::from_millis(10));
    }
    let sent = invoke(&eddy, "bob", "Bob");
    assert!(sent.contains("sent to example/greeter/bob"), "{sent}");
    invoke(&eddy, "ann", "Ann");
    while greetings(&eddy).len() < 3 {
        assert!(Instant::now() < deadline, "greetings: {:?}", greetings(&eddy));
        std::thread::sleep(Duration::from_millis(20));
    }
    let state = String::from_utf8(eddy.ok(&["state", "get", "example/greeter", "seen", "bob"])).unwrap();
    run.kill().unwrap();
    run.wait().unwrap();
    let mut got = greetings(&eddy);
    got.sort();
    assert_eq!(got, ["Hello Ann, #1", "Hello Bob, #1", "Hello Bob, #2"]);
    assert!(state.contains("\"value\":2"), "{state}");
}

#[test]
fn a_relative_data_directory_holds_the_compilation_cache() {
    let eddy = Eddy::new();
    let work = eddy.scratch("");
    std::fs::write(work.join("module.yaml"), MODULE).unwrap();
    std::fs::copy(eddy_test_guests::component("fn-greeter"), work.join("greeter.wasm")).unwrap();
    // `--data-dir data`, then the default `./.eddy`: both relative to the working directory.
    for data_dir in [Some("data"), None] {
        let eddy_in_work = |args: &[&str]| {
            let mut command = std::process::Command::new(common::eddy_bin());
            command.current_dir(&work).env_remove("RUST_LOG").env_remove("EDDY_DATA_DIR");
            if let Some(data_dir) = data_dir {
                command.args(["--data-dir", data_dir]);
            }
            let output = command.args(args).output().unwrap();
            assert!(output.status.success(), "eddy {args:?}: {}", String::from_utf8_lossy(&output.stderr));
            String::from_utf8(output.stdout).unwrap()
        };
        eddy_in_work(&["invoke", "example/greeter", "ann", "Ann"]);
        eddy_in_work(&["run", "module.yaml", "--until-idle", "--commit-interval", "20ms"]);
        assert_eq!(eddy_in_work(&["consume", "greetings", "-B", "-d"]).trim(), "Hello Ann, #1");
        let cache = work.join(data_dir.unwrap_or(".eddy")).join("wasm-cache");
        assert!(
            cache.read_dir().unwrap().next().is_some(),
            "the compiled function is cached in {}",
            cache.display()
        );
    }
}
