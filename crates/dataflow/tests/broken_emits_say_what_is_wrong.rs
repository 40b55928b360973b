//! `partition.emit`, a state's changelog: the valid form is planned with `previous` bound;
//! each misuse is reported with its line and what to do instead.

#![allow(clippy::unwrap_used)]

use eddy_dataflow::{Diagnostic, EmitPlan, parse};

const CHANGES: &str = r#"apiVersion: 0.5.0
meta: {name: changes}
types:
  bid: {type: object, properties: {auction: {type: u64}, price: {type: u64}}}
topics:
  bids: {name: bids, partitions: 1, schema: {value: {type: bid}}}
  out: {name: out, partitions: 1, schema: {value: {type: bid}}}
services:
  highest:
    sources: [{type: topic, id: bids}]
    states:
      best: {type: keyed-state, properties: {key: {type: u64}, value: {type: u64}}}
    partition:
      assign-key: {cel: value.auction}
      update-state: {aggregate: max, of: value.price}
      emit: {cel: "previous == null || state > previous ? {'auction': value.auction, 'price': state} : null"}
    sinks: [{type: topic, id: out}]
"#;

/// `CHANGES` with line `line` (1-based) replaced.
fn with(line: usize, replacement: &str) -> String {
    let mut lines: Vec<&str> = CHANGES.lines().collect();
    lines[line - 1] = replacement;
    lines.join("\n") + "\n"
}

fn problems(source: &str) -> Vec<Diagnostic> {
    parse(source, "changes.yaml").map(|_| ()).unwrap_err().into_vec()
}

fn has(found: &[Diagnostic], line: usize, needle: &str) {
    assert!(
        found.iter().any(|p| p.line == line && p.message.contains(needle)),
        "no problem on line {line} containing `{needle}` in {found:#?}"
    );
}

#[test]
fn the_changelog_file_is_valid_and_planned() {
    let (_, plan) = parse(CHANGES, "changes.yaml").unwrap();
    let partition = plan.services[0].partition.as_ref().unwrap();
    let emit = partition.emit.as_ref().unwrap();
    assert_eq!(emit.origin, "services.highest.partition.emit");
    let variables: Vec<String> =
        emit.logic.as_cel().unwrap().free_variables().into_iter().map(|v| v.name).collect();
    assert!(variables.iter().any(|name| name == EmitPlan::PREVIOUS), "{variables:?}");
}

#[test]
fn an_emit_without_update_state_says_to_add_one() {
    let found = problems(&with(15, "      transforms: []"));
    has(&found, 16, "has no `update-state`");
}

#[test]
fn an_emit_in_a_windowed_service_points_to_flush() {
    let windowed = CHANGES.replace(
        "    sinks: [{type: topic, id: out}]",
        "    window: {tumbling: {duration: 10s}, flush: {cel: \"{'auction': key, 'price': state}\"}}\n    sinks: [{type: topic, id: out}]",
    );
    let found = problems(&windowed);
    has(&found, 16, "results leave through `flush`");
}

#[test]
fn an_emit_reading_an_unbound_variable_names_the_ones_bound() {
    let found = problems(&with(16, "      emit: {cel: \"{'auction': value.auction, 'old': previus}\"}"));
    has(&found, 16, "unknown variable `previus` (did you mean `previous`?)");
    has(&found, 16, "`state`");
}

#[test]
fn an_emit_runs_cel_only() {
    let found = problems(&with(16, "      emit: {component: ./emit.wasm}"));
    has(&found, 16, "`emit` runs CEL only");
}

#[test]
fn an_emit_with_a_syntax_error_points_inside_the_expression() {
    let found = problems(&with(16, "      emit: {cel: \"{'auction': value.auction,\"}"));
    has(&found, 16, "CEL syntax error");
}
