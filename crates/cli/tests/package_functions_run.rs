//! `eddy run` on a dataflow whose steps use functions of an imported package (`uses:`, as in
//! SDF): the example under `examples/packages` builds its package's filter and map into
//! components and runs them, a failing record going to the dead-letter topic; a package
//! installed under `<data-dir>/packages/<namespace>/<name>/<version>/` is found without
//! `dev.imports`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::Eddy;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/packages")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn package_functions_are_built_then_run() {
    let eddy = Eddy::new();
    let target = std::env::current_exe().unwrap().ancestors().nth(3).unwrap().to_path_buf();
    let flow = example().join("dataflow.yaml");
    let flow = flow.to_str().unwrap();

    eddy.create_topic("words", 1);
    eddy.produce("words", &[], &std::fs::read(example().join("words.txt")).unwrap());
    let output =
        eddy.command(&["run", flow, "--until-idle"]).env("CARGO_TARGET_DIR", &target).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("built 2 component(s) of dataflow 'words'"), "{stderr}");

    let loud = String::from_utf8(eddy.consume_all("loud-words", &[])).unwrap();
    let loud: Vec<serde_json::Value> = loud.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(
        loud,
        [
            serde_json::json!({"text": "HELLO!", "lang": "shouted"}),
            serde_json::json!({"text": "WASM!", "lang": "shouted"}),
        ]
    );
    let dead = String::from_utf8(eddy.consume_all("words.dead-letter", &[])).unwrap();
    assert!(dead.contains("a word with a NUL character"), "{dead}");
    assert_eq!(dead.lines().count(), 1, "{dead}");

    // Installed in the data directory, the package needs no `dev.imports`.
    copy_dir(&example().join("text-utils"), &eddy.data_dir().join("packages/acme/text-utils/0.1.0"));
    let installed = std::fs::read_to_string(example().join("dataflow.yaml"))
        .unwrap()
        .replace("dev:\n  imports:\n    - {pkg: acme/text-utils@0.1.0, path: ./text-utils}\n", "")
        .replace("name: words,", "name: installed-words,");
    assert!(!installed.contains("dev:"));
    let file = eddy.scratch("installed.yaml");
    std::fs::write(&file, installed).unwrap();
    let output =
        eddy.command(&["build", file.to_str().unwrap()]).env("CARGO_TARGET_DIR", &target).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("built 2 components of dataflow 'installed-words'"), "{stdout}");
}

#[test]
fn a_missing_package_stops_the_run_naming_its_place() {
    let eddy = Eddy::new();
    let broken = std::fs::read_to_string(example().join("dataflow.yaml"))
        .unwrap()
        .replace("path: ./text-utils", "path: ./text-utilz");
    let file = eddy.scratch("broken.yaml");
    std::fs::write(&file, broken).unwrap();
    let stderr = eddy.fails(&["run", file.to_str().unwrap(), "--until-idle"]);
    assert!(stderr.contains("broken.yaml:15:"), "{stderr}");
    assert!(stderr.contains("text-utilz does not exist"), "{stderr}");
}
