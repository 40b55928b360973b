//! `eddy build`: what it says for a file without `run:` steps, a snippet it cannot compile
//! before running the compiler, and a machine without cargo. (Compiling real functions is
//! tested in `eddy-build`.)

#![allow(clippy::unwrap_used)]

mod common;

use common::Eddy;

const INLINE: &str = "apiVersion: 0.5.0
meta: {name: inline}
topics: {a: {schema: {value: {type: string}}}}
services:
  s:
    sources: [{type: topic, id: a}]
    transforms: [{operator: map, run: \"fn up(v: String) -> Result<String> { Ok(v.to_uppercase()) }\"}]
    sinks: [{type: topic, id: a}]
";

#[test]
fn a_file_without_run_steps_has_nothing_to_build() {
    let eddy = Eddy::new();
    let file = eddy.scratch("cel.yaml");
    std::fs::write(
        &file,
        INLINE.replace("run: \"fn up(v: String) -> Result<String> { Ok(v.to_uppercase()) }\"", "cel: value"),
    )
    .unwrap();
    let stdout = eddy.ok(&["build", file.to_str().unwrap()]);
    assert_eq!(
        String::from_utf8_lossy(&stdout),
        format!("{} has no `run:` or `uses:` steps; nothing to build\n", file.display())
    );
    assert!(!eddy.data_dir().join("build").exists());
}

#[test]
fn problems_are_placed_in_the_dataflow_file_and_a_missing_cargo_says_what_to_install() {
    let eddy = Eddy::new();
    let file = eddy.scratch("dataflow.yaml");
    std::fs::write(&file, INLINE.replace("fn up(v: String)", "up(v: String)")).unwrap();
    let stderr = eddy.fails(&["build", file.to_str().unwrap()]);
    assert!(stderr.contains(":7:39: services.s.transforms[0].run: error: no function found"), "{stderr}");
    assert!(stderr.contains("has 1 error in its Rust functions; nothing was built"), "{stderr}");

    std::fs::write(&file, INLINE).unwrap();
    let output =
        eddy.command(&["build", file.to_str().unwrap()]).env("CARGO", "/nonexistent/cargo").output().unwrap();
    let stderr = common::expect_clean_failure(&["build"], &output);
    assert!(stderr.contains("cannot run `/nonexistent/cargo`"), "{stderr}");
    assert!(stderr.contains("rustup target add wasm32-wasip2"), "{stderr}");
}
