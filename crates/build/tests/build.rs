//! `eddy build` against the real toolchain: dataflows with inline Rust compile to components
//! that Eddy's host runs; errors name the dataflow file's lines; a second build is a no-op.
//! All builds share one cargo target directory beside this test binary, so dependencies
//! compile once per test run.

use std::path::{Path, PathBuf};

use eddy_build::{Built, Error, Operator, Options, Toolchain, build};
use eddy_wasm::{Host, MemoryState, NoState, OperatorKind, Output, Record};

/// The target directory shared by every build of this test binary.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("target dir").join("eddy-build-tests")
}

fn options(build_dir: &Path) -> Options {
    Options { target_dir: Some(target_dir()), ..Options::new(build_dir) }
}

const SENSORS: &str = r#"apiVersion: 0.5.0
meta: {name: sensors}
types:
  reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}, max-temp: {type: f64}}}
  alert: {type: object, properties: {sensor: {type: string}, over: {type: f64}}}
topics:
  readings: {schema: {value: {type: reading}}}
  alerts: {schema: {value: {type: alert}}}
services:
  hot:
    sources: [{type: topic, id: readings}]
    states:
      counts: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
      acc: {type: keyed-state, properties: {key: {type: string}, value: {type: arrow-row, properties: {sum: {type: f64}, n: {type: u32}}}}}
    transforms:
      - operator: filter
        run: |
          fn too_hot(r: Reading) -> Result<bool> {
              Ok(r.temp > r.max_temp)
          }
      - operator: map
        run: "fn alert(r: Reading) -> Result<Alert> { Ok(Alert { over: r.temp - r.max_temp, sensor: r.sensor }) }"
    partition:
      assign-key: {run: "fn by_sensor(a: Alert) -> Result<String> { Ok(a.sensor) }"}
      update-state:
        run: |
          fn count(a: Alert) -> Result<()> {
              counts().increment(1)?;
              let mut row = acc();
              row.sum += a.over;
              row.n += 1;
              row.update()?;
              ensure!(a.over < 1000.0, "implausible reading: {} over", a.over);
              Ok(())
          }
    sinks: [{type: topic, id: alerts}]
"#;

fn host() -> Host {
    Host::new(eddy_wasm::Options::default()).expect("host")
}

fn operator(built: &Built, origin: &str) -> eddy_wasm::Operator {
    let component = built.component(origin).unwrap_or_else(|| panic!("no component for {origin}"));
    let kind = OperatorKind::from_name(component.operator.name()).expect("kind");
    host().load_file(&component.path).expect("load").operator(kind).expect("operator")
}

#[test]
fn inline_steps_compile_to_components_that_compute_and_a_second_build_is_up_to_date() {
    let dir = tempfile::tempdir().expect("tempdir");
    let built = build(SENSORS, "dataflow.yaml", &options(dir.path())).unwrap_or_else(|e| panic!("{e}"));
    assert!(built.compiled);
    let listed: Vec<(&str, Operator)> =
        built.components.iter().map(|c| (c.origin.as_str(), c.operator)).collect();
    assert_eq!(
        listed,
        vec![
            ("services.hot.transforms[0]", Operator::Filter),
            ("services.hot.transforms[1]", Operator::Map),
            ("services.hot.partition.assign-key", Operator::AssignKey),
            ("services.hot.partition.update-state", Operator::UpdateState),
        ]
    );

    let mut filter = operator(&built, "services.hot.transforms[0]").pool(NoState).expect("pool");
    let reading =
        |temp: f64| format!(r#"{{"sensor": "s1", "temp": {temp}, "max-temp": 30.0, "extra": true}}"#);
    assert_eq!(filter.call(Record::new(reading(31.5), 0)), Ok(Output::Keep(true)));
    assert_eq!(filter.call(Record::new(reading(12.0), 0)), Ok(Output::Keep(false)));
    let error = filter.call(Record::new(r#"{"sensor": "s1"}"#, 0)).expect_err("missing field");
    assert!(
        error.to_string().contains("does not fit the function's parameter type: missing field"),
        "{error}"
    );

    let mut map = operator(&built, "services.hot.transforms[1]").pool(NoState).expect("pool");
    let Ok(Output::Value(alert)) = map.call(Record::new(reading(31.5), 0)) else { panic!("map") };
    let alert: serde_json::Value = serde_json::from_slice(&alert).expect("json");
    assert_eq!(alert, serde_json::json!({"sensor": "s1", "over": 1.5}));

    let mut key = operator(&built, "services.hot.partition.assign-key").pool(NoState).expect("pool");
    assert_eq!(key.call(Record::new(r#"{"sensor": "s7", "over": 2.0}"#, 0)), Ok(Output::Key(b"s7".to_vec())));

    let mut update =
        operator(&built, "services.hot.partition.update-state").pool(MemoryState::default()).expect("pool");
    for over in [1.5, 2.5] {
        let record = Record::new(format!(r#"{{"sensor": "s7", "over": {over}}}"#), 0).with_key("s7");
        assert_eq!(update.call(record), Ok(Output::Updated));
    }
    let error =
        update.call(Record::new(r#"{"sensor": "s7", "over": 5000.0}"#, 0).with_key("s7")).expect_err("bail");
    assert!(error.to_string().contains("implausible reading: 5000 over"), "{error}");
    let error = update.call(Record::new(r#"{"sensor": "s7", "over": 1.0}"#, 0)).expect_err("no key");
    assert!(error.to_string().contains("the record has no key"), "{error}");
    {
        let state = update.state();
        assert_eq!(state.value("counts", b"s7"), Some(serde_json::json!(3)));
        let row: serde_json::Value =
            serde_json::from_slice(&state.rows[&("acc".to_owned(), b"s7".to_vec())]).expect("row");
        assert_eq!(row, serde_json::json!({"sum": 5004.0, "n": 3}));
    }

    // Nothing changed: up to date without running cargo (which does not exist here).
    let mut no_cargo = options(dir.path());
    no_cargo.toolchain.cargo = PathBuf::from("/nonexistent/cargo");
    let again = build(SENSORS, "dataflow.yaml", &no_cargo).unwrap_or_else(|e| panic!("{e}"));
    assert!(!again.compiled);
    assert_eq!(again.components, built.components);

    // A changed snippet is stale: the build needs cargo.
    let changed = SENSORS.replace("r.temp > r.max_temp", "r.temp >= r.max_temp");
    let error = build(&changed, "dataflow.yaml", &no_cargo).expect_err("needs cargo");
    assert!(matches!(error, Error::CargoMissing { .. }), "{error}");
}

const BROKEN: &str = r#"apiVersion: 0.5.0
meta: {name: broken}
types:
  reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}}}
topics:
  readings: {schema: {value: {type: reading}}}
services:
  s:
    sources: [{type: topic, id: readings}]
    transforms:
      - operator: map
        run: |
          fn label(r: Reading) -> Result<String> {
              Ok(r.sensor + sufix)
          }
      - {operator: filter, run: "fn hot(r: Reading) -> Result<f64> { Ok(r.temp) }"}
    sinks: [{type: topic, id: readings}]
"#;

#[test]
fn compiler_errors_name_the_line_of_the_snippet_in_the_dataflow_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let error = build(BROKEN, "dataflow.yaml", &options(dir.path())).expect_err("does not compile");
    let Error::Code(errors) = &error else { panic!("{error}") };
    let text = error.to_string();
    // `sufix` is on line 14, column 29 of the file.
    assert!(
        text.contains(
            "dataflow.yaml:14:29: services.s.transforms[0].run: error[E0425]: cannot find value `sufix`"
        ),
        "{text}"
    );
    // A filter must return Result<bool>: reported at the function's name (line 16).
    let filter: Vec<_> = errors.iter().filter(|e| e.origin == "services.s.transforms[1]").collect();
    assert!(!filter.is_empty(), "{text}");
    assert!(filter.iter().all(|e| (e.line, e.column) == (16, 37)), "{text}");
    assert!(filter.iter().any(|e| e.message.contains("bool")), "{text}");
}

#[test]
fn a_missing_toolchain_or_target_says_what_to_install() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = options(dir.path());
    options.toolchain = Toolchain { target: "wasm32-nonexistent".to_owned(), ..Toolchain::default() };
    let error = build(SENSORS, "dataflow.yaml", &options).expect_err("no such target");
    assert!(matches!(error, Error::TargetMissing { .. }), "{error}");
    assert!(error.to_string().contains("run `rustup target add wasm32-nonexistent`"), "{error}");

    options.toolchain = Toolchain { cargo: PathBuf::from("/nonexistent/cargo"), ..Toolchain::default() };
    let error = build(SENSORS, "dataflow.yaml", &options).expect_err("no cargo");
    assert!(error.to_string().contains("cannot run `/nonexistent/cargo`"), "{error}");
    assert!(error.to_string().contains("rustup target add wasm32-wasip2"), "{error}");
}

#[test]
fn problems_found_before_compiling_are_placed_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = SENSORS.replace("fn by_sensor(a: Alert) -> Result<String> { Ok(a.sensor) }", "let x = 1;");
    let error = build(&source, "dataflow.yaml", &options(dir.path())).expect_err("no fn");
    assert!(
        error.to_string().starts_with(
            "dataflow.yaml:24:25: services.hot.partition.assign-key.run: error: no function found"
        ),
        "{error}"
    );

    let clash = SENSORS.replace("  alert: {type: object", "  alert_: {type: string}\n  alert: {type: object");
    let error = build(&clash, "dataflow.yaml", &options(dir.path())).expect_err("clash");
    assert!(
        error.to_string().contains("types `alert` and `alert_` would both be the Rust type `Alert`"),
        "{error}"
    );

    let none = build("apiVersion: 0.5.0\nmeta: {name: n}\n", "f.yaml", &options(dir.path()))
        .expect("nothing to build");
    assert!(none.components.is_empty() && !none.compiled);
    assert!(std::fs::read_dir(dir.path()).expect("dir").next().is_none());
    assert!(build("meta: [", "f.yaml", &options(dir.path())).is_err());
}
