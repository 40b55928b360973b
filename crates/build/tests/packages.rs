//! `eddy build` of `uses:` steps: functions of a local package (one inline in its
//! `package.yaml`, one in `src/<function>.rs`) compile to components with the package's
//! types, compiler errors name the package's files, and a new compiler version rebuilds.
//! All builds share the cargo target directory of `tests/build.rs`.

use std::path::{Path, PathBuf};

use eddy_build::{Built, Error, Operator, Options, Toolchain, build_file};
use eddy_wasm::{Host, NoState, OperatorKind, Output, Record};

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("target dir").join("eddy-build-tests")
}

fn options(build_dir: &Path) -> Options {
    Options { target_dir: Some(target_dir()), ..Options::new(build_dir) }
}

const PACKAGE: &str = "\
apiVersion: 0.5.0
meta: {name: text-utils, version: 0.1.0, namespace: acme}
types:
  word: {type: object, properties: {text: {type: string}}}
functions:
  shout:
    operator: map
    inputs: [{name: w, type: word}]
    output: {type: word}
    run: |
      fn shout(w: Word) -> Result<Word> {
          Ok(Word { text: w.text.to_uppercase() + SUFFIX })
      }
      const SUFFIX: &str = \"!\";
  is-long:
    operator: filter
    inputs: [{name: w, type: word}]
    output: {type: bool}
";

const IS_LONG: &str = "fn is_long(w: Word) -> Result<bool> {\n    Ok(w.text.len() > 3)\n}\n";

const DATAFLOW: &str = "\
apiVersion: 0.5.0
meta: {name: words}
imports:
  - pkg: acme/text-utils@0.1.0
    functions: [{name: shout}, {name: is-long}]
dev:
  imports:
    - {pkg: acme/text-utils@0.1.0, path: ./text-utils}
types:
  word: {type: object, properties: {text: {type: string}, lang: {type: string}}}
topics:
  words: {schema: {value: {type: word}}}
  loud: {schema: {value: {type: string}}}
services:
  shout:
    sources: [{type: topic, id: words}]
    transforms:
      - {operator: filter, uses: is-long}
      - {operator: map, uses: shout}
      - {operator: map, run: \"fn text(w: Word) -> Result<String> { Ok(w.text) }\"}
    sinks: [{type: topic, id: loud}]
";

/// A directory with `dataflow.yaml` and the package in `text-utils/`.
fn project(package: &str, is_long: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let package_dir = dir.path().join("text-utils");
    std::fs::create_dir_all(package_dir.join("src")).expect("mkdir");
    std::fs::write(package_dir.join("package.yaml"), package).expect("write");
    std::fs::write(package_dir.join("src/is-long.rs"), is_long).expect("write");
    std::fs::write(dir.path().join("dataflow.yaml"), DATAFLOW).expect("write");
    dir
}

fn operator(built: &Built, origin: &str) -> eddy_wasm::Operator {
    let component = built.component(origin).unwrap_or_else(|| panic!("no component for {origin}"));
    let kind = OperatorKind::from_name(component.operator.name()).expect("kind");
    let host = Host::new(eddy_wasm::Options::default()).expect("host");
    host.load_file(&component.path).expect("load").operator(kind).expect("operator")
}

/// A `rustc` that says it is `version` and is the real one otherwise.
fn rustc_claiming(dir: &Path, version: &str) -> PathBuf {
    let real = Toolchain::default().rustc;
    let script = dir.join(format!("rustc-{version}"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ \"$1\" = \"-V\" ]; then echo 'rustc {version}'; else exec '{}' \"$@\"; fi\n",
            real.display()
        ),
    )
    .expect("write");
    let mut permissions = std::fs::metadata(&script).expect("metadata").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&script, permissions).expect("chmod");
    script
}

#[test]
fn package_functions_compile_to_components_and_a_new_compiler_rebuilds() {
    let dir = project(PACKAGE, IS_LONG);
    let file = dir.path().join("dataflow.yaml");
    let build_dir = dir.path().join("build");
    let built = build_file(&file, &options(&build_dir)).unwrap_or_else(|e| panic!("{e}"));
    assert!(built.compiled);
    let listed: Vec<(&str, Operator)> =
        built.components.iter().map(|c| (c.origin.as_str(), c.operator)).collect();
    assert_eq!(
        listed,
        [
            ("services.shout.transforms[2]", Operator::Map),
            ("services.shout.transforms[0]", Operator::Filter),
            ("services.shout.transforms[1]", Operator::Map),
        ]
    );

    // The package's `word` has only `text`; the dataflow's has `lang` too, which it ignores.
    let mut filter = operator(&built, "services.shout.transforms[0]").pool(NoState).expect("pool");
    assert_eq!(filter.call(Record::new(r#"{"text": "hello", "lang": "en"}"#, 0)), Ok(Output::Keep(true)));
    assert_eq!(filter.call(Record::new(r#"{"text": "hi", "lang": "en"}"#, 0)), Ok(Output::Keep(false)));
    let mut map = operator(&built, "services.shout.transforms[1]").pool(NoState).expect("pool");
    let Ok(Output::Value(loud)) = map.call(Record::new(r#"{"text": "hello", "lang": "en"}"#, 0)) else {
        panic!("map")
    };
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&loud).expect("json"),
        serde_json::json!({"text": "HELLO!"})
    );

    // Unchanged, with the same compiler: up to date.
    let mut same = options(&build_dir);
    same.toolchain.cargo = PathBuf::from("/nonexistent/cargo");
    let again = build_file(&file, &same).unwrap_or_else(|e| panic!("{e}"));
    assert!(!again.compiled);
    assert_eq!(again.hash, built.hash);

    // A package edit is a change like any other: the build is stale.
    std::fs::write(dir.path().join("text-utils/src/is-long.rs"), IS_LONG.replace("> 3", "> 4"))
        .expect("write");
    let error = build_file(&file, &same).expect_err("stale: needs cargo");
    assert!(matches!(error, Error::CargoMissing { .. }), "{error}");
    std::fs::write(dir.path().join("text-utils/src/is-long.rs"), IS_LONG).expect("write");

    // Another compiler version: the same code builds again, under another hash.
    let mut upgraded = options(&build_dir);
    upgraded.toolchain.rustc = rustc_claiming(dir.path(), "99.0.0-upgraded");
    let rebuilt = build_file(&file, &upgraded).unwrap_or_else(|e| panic!("{e}"));
    assert!(rebuilt.compiled);
    assert_ne!(rebuilt.hash, built.hash);
    let again = build_file(&file, &upgraded).unwrap_or_else(|e| panic!("{e}"));
    assert!(!again.compiled);
}

#[test]
fn compiler_errors_in_package_functions_name_the_package_files() {
    let dir = project(
        &PACKAGE.replace("w.text.to_uppercase() + SUFFIX", "w.text.to_uppercase() + SUFIX"),
        &IS_LONG.replace("w.text.len()", "w.txt.len()"),
    );
    let error = build_file(&dir.path().join("dataflow.yaml"), &options(&dir.path().join("build")))
        .expect_err("does not compile");
    let Error::Code(errors) = &error else { panic!("{error}") };
    let text = error.to_string();
    // `SUFIX` is on line 12 of package.yaml, column 51.
    assert!(
        text.contains(
            "package.yaml:12:51: functions.shout.run (package acme/text-utils@0.1.0, used by \
             services.shout.transforms[1]): error[E0425]: cannot find value `SUFIX`"
        ),
        "{text}"
    );
    // `w.txt` is on line 2 of src/is-long.rs, column 10.
    let in_src: Vec<_> = errors.iter().filter(|e| e.file.ends_with("src/is-long.rs")).collect();
    assert!(in_src.iter().any(|e| (e.line, e.column) == (2, 10) && e.message.contains("txt")), "{text}");
    assert!(
        text.contains(
            "function `is-long` (package acme/text-utils@0.1.0, used by services.shout.transforms[0])"
        ),
        "{text}"
    );
}
