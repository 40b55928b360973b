//! Every parser of outside input gets tests with broken input: each broken dataflow file
//! below must produce the right diagnostic on the exact line (and column where it matters).

#![allow(clippy::unwrap_used)]

use eddy_dataflow::{Diagnostic, parse};

/// A small valid file; the tests break one line of it. Line numbers are on the right.
const BASE: &str = "\
apiVersion: 0.5.0
meta:
  name: sensors
topics:
  readings:
    schema:
      value:
        type: string
  alerts:
    schema:
      value:
        type: string
services:
  alerts:
    sources:
      - type: topic
        id: readings
    transforms:
      - operator: filter
        cel: value.temp > 30.0
    sinks:
      - type: topic
        id: alerts
";
//  1 apiVersion        9 alerts           17 id: readings
//  2 meta             10 schema           18 transforms
//  3 name             11 value            19 - operator
//  4 topics           12 type             20 cel
//  5 readings         13 services         21 sinks
//  6 schema           14 alerts           22 - type
//  7 value            15 sources          23 id: alerts
//  8 type             16 - type

/// `BASE` with line `line` (1-based) replaced by `replacement` (which may span lines).
fn with(line: usize, replacement: &str) -> String {
    let mut lines: Vec<&str> = BASE.lines().collect();
    lines[line - 1] = replacement;
    lines.join("\n") + "\n"
}

fn problems(source: &str) -> Vec<Diagnostic> {
    match parse(source, "dataflow.yaml") {
        Ok(_) => panic!("expected diagnostics for:\n{source}"),
        Err(diagnostics) => diagnostics.into_vec(),
    }
}

/// Asserts exactly one problem, on `line`, whose message contains `needle`; returns it.
fn one(source: &str, line: usize, needle: &str) -> Diagnostic {
    let found = problems(source);
    assert_eq!(found.len(), 1, "{found:#?}");
    let problem = found.into_iter().next().expect("one problem");
    assert_eq!(problem.line, line, "{problem}");
    assert!(problem.message.contains(needle), "`{needle}` not in: {problem}");
    assert_eq!(problem.file, "dataflow.yaml");
    problem
}

#[test]
fn the_base_file_is_valid() {
    parse(BASE, "dataflow.yaml").unwrap();
}

#[test]
fn bad_indentation_is_a_yaml_syntax_error_on_its_line() {
    let problem = one(&with(17, "       id: readings"), 17, "invalid YAML");
    assert_eq!(problem.field_path, "");
    one(&with(9, "   alerts:"), 9, "invalid YAML");
    one("apiVersion: 0.5.0\nmeta: {name: x\n", 3, "invalid YAML");
}

#[test]
fn an_unknown_top_level_field_is_named_with_the_valid_ones() {
    let problem = one(&format!("{BASE}exports: []\n"), 24, "unknown field `exports`");
    assert_eq!((problem.column, problem.field_path.as_str()), (1, "exports"));
    assert!(
        problem.message.contains(
            "`apiVersion`, `meta`, `imports`, `dev`, `config`, `types`, `topics`, `services` or `functions`"
        ),
        "{problem}"
    );
    assert!(problem.expected.is_some());
}

#[test]
fn an_unknown_field_in_a_step_is_found_with_a_suggestion() {
    let problem =
        one(&with(20, "        cel: value.temp > 30.0\n        colour: red"), 21, "unknown field `colour`");
    assert_eq!(problem.field_path, "services.alerts.transforms[0].colour");
    let problem =
        one(&with(19, "      - opertor: filter"), 19, "unknown field `opertor` (did you mean `operator`?)");
    assert_eq!(problem.field_path, "services.alerts.transforms[0].opertor");
}

#[test]
fn a_wrong_type_points_at_the_value() {
    let problem = one(&with(5, "  readings:\n    partitions: many"), 6, "expected u32, found string `many`");
    assert_eq!((problem.column, problem.field_path.as_str()), (17, "topics.readings.partitions"));
    assert_eq!(problem.expected.as_deref(), Some("u32"));
    assert_eq!(
        problem.to_string(),
        "dataflow.yaml:6:17: topics.readings.partitions: expected u32, found string `many`"
    );
    one(&with(5, "  readings:\n    partitions: 0"), 6, "at least 1 partition");
}

#[test]
fn an_unknown_operator_lists_the_valid_ones() {
    let problem =
        one(&with(19, "      - operator: filtr"), 19, "unknown operator `filtr` (did you mean `filter`?)");
    assert_eq!(problem.column, 19);
    for operator in ["`filter`", "`map`", "`filter-map`", "`flat-map`", "`assign-key`", "`update-state`"] {
        assert!(problem.message.contains(operator), "{problem}");
    }
}

#[test]
fn an_undeclared_topic_points_at_its_id() {
    let problem = one(&with(17, "        id: readngs"), 17, "topic `readngs` is not declared in `topics`");
    assert_eq!(
        problem.to_string(),
        "dataflow.yaml:17:13: services.alerts.sources[0].id: topic `readngs` is not declared in `topics` \
         (did you mean `readings`?) (declared: alerts, readings)"
    );
    one(&with(23, "        id: nowhere"), 23, "topic `nowhere` is not declared");
}

#[test]
fn a_cel_syntax_error_points_into_the_expression() {
    let problem =
        one(&with(20, "        cel: value.temp >"), 20, "CEL syntax error at 1:13 of the expression");
    assert_eq!((problem.column, problem.field_path.as_str()), (26, "services.alerts.transforms[0].cel"));
    // Quoted: the column still lands on the offending character.
    let problem = one(&with(20, "        cel: 'value.temp > > 1'"), 20, "extraneous input '>'");
    assert_eq!(problem.column, 28);
    // A block scalar: the line of the `cel:` key, the place inside the expression in the message.
    let problem = one(
        &with(20, "        cel: |\n          value.temp >\n            && x"),
        20,
        "at 2:3 of the expression",
    );
    assert_eq!(problem.column, 9);
}

#[test]
fn two_problems_in_one_file_are_reported_together_in_file_order() {
    let source = with(17, "        id: readngs").replace("cel: value.temp > 30.0", "cel: value.temp >");
    let found = problems(&source);
    let lines: Vec<usize> = found.iter().map(|problem| problem.line).collect();
    assert_eq!(lines, [17, 20], "{found:#?}");
    assert!(found[0].message.contains("readngs"));
    assert!(found[1].message.contains("CEL syntax error"));

    // A structural problem does not hide a semantic one elsewhere.
    let source = with(5, "  readings:\n    partitions: many").replace("id: alerts", "id: alrets");
    let found = problems(&source);
    let lines: Vec<usize> = found.iter().map(|problem| problem.line).collect();
    assert_eq!(lines, [6, 24], "{found:#?}");

    // Nor does a broken root (no apiVersion).
    let found = problems(&with(1, "# no version").replace("id: readings", "id: readngs"));
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].message.contains("missing required field `apiVersion`"));
    assert_eq!(found[1].line, 17);
}

#[test]
fn update_state_outside_partition_is_refused() {
    let problem = one(
        &with(19, "      - operator: update-state"),
        19,
        "`update-state` is only allowed as `partition.update-state`",
    );
    assert_eq!(problem.field_path, "services.alerts.transforms[0].operator");
    one(
        &with(19, "      - operator: assign-key"),
        19,
        "`assign-key` is only allowed as `partition.assign-key`",
    );
}

#[test]
fn update_state_needs_exactly_one_state() {
    let partition = "    partition:\n      assign-key: {cel: value}\n      update-state: {cel: state + 1}";
    let none = with(18, &format!("{partition}\n    transforms:"));
    one(&none, 20, "`update-state` needs a state to update");
    let state = |name: &str| {
        format!(
            "      {name}: {{type: keyed-state, properties: {{key: {{type: string}}, value: {{type: u64}}}}}}"
        )
    };
    let two = with(18, &format!("    states:\n{}\n{}\n{partition}\n    transforms:", state("a"), state("b")));
    one(&two, 23, "binds exactly one state as `state`, but service `alerts` declares 2 (a, b)");
    let one_state = with(18, &format!("    states:\n{}\n{partition}\n    transforms:", state("a")));
    parse(&one_state, "dataflow.yaml").unwrap();
    // `state` is bound in update-state only.
    one(&with(20, "        cel: state > 1"), 20, "`state` is only bound in `partition.update-state`");
}

#[test]
fn missing_required_fields_are_reported_on_their_parent() {
    let problem = one(&with(17, "        idd: readings"), 17, "unknown field `idd` (did you mean `id`?)");
    assert_eq!(problem.field_path, "services.alerts.sources[0].idd");
    let problem = one(
        &with(6, "    partitions: 2").replace("      value:\n        type: string\n  alerts", "  alerts"),
        6,
        "missing required field `schema`",
    );
    assert_eq!(problem.field_path, "topics.readings");
}

#[test]
fn duplicate_names_are_errors() {
    let problem = one(
        &format!("{BASE}  alerts:\n    sources: []\n"),
        24,
        "duplicate key `alerts`; it is first defined on line 14",
    );
    assert_eq!(problem.field_path, "services.alerts");
    one(
        &with(9, "  alerts:\n    name: readings"),
        10,
        "topic name `readings` is already used by the topic with id `readings`",
    );
    one(
        &with(9, "  alerts:\n    name: sensors.dead-letter"),
        10,
        "reserved for the dataflow's dead-letter topic",
    );
}

#[test]
fn services_need_sources_and_somewhere_to_send_output() {
    let no_sources = with(15, "    sources: []").replace("      - type: topic\n        id: readings\n", "");
    one(&no_sources, 15, "service `alerts` has no sources");
    let no_sinks = with(21, "    sinks: []").replace("      - type: topic\n        id: alerts\n", "");
    one(&no_sinks, 21, "has no sinks and no `partition.update-state`");
    one(
        &with(23, "        id: readings"),
        23,
        "topic `readings` is both a source and a sink of service `alerts`",
    );
    let no_services = "apiVersion: 0.5.0\nmeta: {name: x}\nservices: {}\n";
    one(no_services, 3, "the dataflow has no services");
}

#[test]
fn steps_need_exactly_one_logic_that_this_build_runs() {
    one(&with(20, "        uses: hot"), 20, "function `hot` is not imported");
    one(&with(20, "        component: \"  \""), 20, "the component path is empty");
    one(
        &with(20, "        cel: value.temp > 30.0\n        uses: hot"),
        21,
        "`cel` and `uses` are both given",
    );
    one(&with(20, ""), 19, "no logic given; add `cel: <expression>`");
}

#[test]
fn expressions_may_read_only_their_bindings() {
    let problem = one(
        &with(20, "        cel: valeu.temp > 30.0"),
        20,
        "unknown variable `valeu` (did you mean `value`?)",
    );
    assert_eq!(problem.column, 14);
    assert!(problem.message.contains("available: `value`, `key`, `timestamp`"));
    parse(&with(20, "        cel: value.tags.exists(t, t == key) && timestamp > 0"), "f.yaml").unwrap();
}

#[test]
fn a_window_says_what_it_lacks() {
    let found = problems(&with(21, "    window: {tumbling: {duration: 10s}}\n    sinks:"));
    let messages: Vec<(usize, usize, &str)> =
        found.iter().map(|p| (p.line, p.column, p.message.as_str())).collect();
    assert!(
        messages.iter().any(|(line, column, message)| (*line, *column) == (21, 5)
            && message.contains("has no `flush`, so it never emits anything")),
        "{messages:#?}"
    );
    assert!(found.iter().all(|p| p.field_path.starts_with("services.alerts.window")), "{found:#?}");
}

#[test]
fn types_must_be_declared_and_well_formed() {
    let problem = one(&with(8, "        type: strng"), 8, "unknown type `strng` (did you mean `string`?)");
    assert_eq!(problem.field_path, "topics.readings.schema.value.type");
    let types = "types:\n  a: {type: list, items: {type: b}}\n  b: {type: a}\n  c: {type: object}\ntopics:";
    let found = problems(&with(4, types));
    let messages: Vec<(usize, &str)> =
        found.iter().map(|problem| (problem.line, problem.message.as_str())).collect();
    assert_eq!(
        messages,
        [
            (5, "type `a` refers to itself (a → b → a)"),
            (6, "type `b` refers to itself (b → a → b)"),
            (7, "`type: object` needs `properties`"),
        ],
        "{found:#?}"
    );
    one(&with(4, "types:\n  u64: {type: string}\ntopics:"), 5, "reserved for a built-in type");
}

#[test]
fn settings_are_checked() {
    one(&with(1, "apiVersion: 9.9.9"), 1, "unsupported apiVersion `9.9.9`; expected `0.5.0` or `0.6.0`");
    let problem = one(&with(3, "  name: my flow"), 3, "contains ' ' at position 2");
    assert_eq!(problem.field_path, "meta.name");
    one(&with(3, "  name: sensors\nconfig: {commit-interval: soon}"), 4, "invalid duration `soon`");
    one(&with(3, "  name: sensors\nconfig: {commit-interval: 0s}"), 4, "must be longer than 0");
    one(
        &with(3, "  name: sensors\nconfig: {converter: xml}"),
        4,
        "unknown converter `xml`; expected `json` or `raw`",
    );
    one(&with(4, "topics:\n  bad/name: {schema: {value: {type: string}}}"), 5, "set `name:`");
}

#[test]
fn hostile_or_empty_input_is_refused_politely() {
    one("", 1, "the file is empty");
    one("- just\n- a list\n", 1, "expected a mapping, found a sequence");
    one("a: 1\n---\nb: 2\n", 2, "a second YAML document starts here");
    let deep = format!("x: {}{}\n", "[".repeat(100), "]".repeat(100));
    one(&deep, 1, "nesting is deeper than");
}

#[test]
fn nesting_up_to_the_limit_fits_in_a_test_threads_stack() {
    // 62 levels of window (refused, but parsed), and a type nested as deep as the limit allows.
    let window = format!("    window: {}1{}\n    sinks:", "[".repeat(60), "]".repeat(60));
    one(&with(21, &window), 21, "expected a mapping, found a sequence");
    let list = format!("{}{{type: f64}}{}", "{type: list, items: ".repeat(30), "}".repeat(30));
    let types = format!("types:\n  deep: {list}\ntopics:");
    let source = with(4, &types).replacen("type: string", "type: deep", 1);
    let (_, plan) = parse(&source, "deep.yaml").unwrap();
    let value = (0..30).fold(serde_json::json!(1.5), |inner, _| serde_json::json!([inner]));
    assert_eq!(plan.topic("readings").unwrap().value.check(&value), Ok(()));
}
