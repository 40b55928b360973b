//! Broken `join` blocks: each problem is reported with its line and what was expected.

#![allow(clippy::unwrap_used)]

use eddy_dataflow::model::Keep;
use eddy_dataflow::{Diagnostic, parse};

const JOINED: &str = r#"apiVersion: 0.5.0
meta: {name: joins}
types:
  event: {type: object, properties: {kind: {type: u32}, id: {type: u64}, seller: {type: u64}}}
topics:
  events: {name: events, partitions: 1, schema: {value: {type: event}}}
  bids: {name: bids, partitions: 1, schema: {value: {type: event}}}
  out: {name: out, partitions: 1, schema: {value: {type: event}}}
services:
  q3:
    sources: [{type: topic, id: events}, {type: topic, id: bids}]
    join:
      left:
        name: person
        source: events
        when: {cel: value.kind == 0u}
        key: {cel: value.id}
        keep: last
      right:
        name: auction
        when: {cel: value.kind == 1u}
        key: {cel: value.seller}
      emit: {cel: "{'id': auction.id, 'seller': person.id, 'key': key}"}
    sinks: [{type: topic, id: out}]
"#;

/// `JOINED` with line `line` (1-based) replaced.
fn with(line: usize, replacement: &str) -> String {
    let mut lines: Vec<&str> = JOINED.lines().collect();
    lines[line - 1] = replacement;
    lines.join("\n") + "\n"
}

fn problems(source: &str) -> Vec<Diagnostic> {
    parse(source, "joins.yaml").map(|_| ()).unwrap_err().into_vec()
}

fn has(found: &[Diagnostic], line: usize, needle: &str) {
    assert!(
        found.iter().any(|p| p.line == line && p.message.contains(needle)),
        "no problem on line {line} containing `{needle}` in {found:#?}"
    );
}

#[test]
fn the_joined_file_is_valid_and_planned() {
    let (_, plan) = parse(JOINED, "joins.yaml").unwrap();
    let join = plan.services[0].join.as_ref().unwrap();
    assert_eq!((join.left.name.as_str(), join.left.source, join.left.keep), ("person", Some(0), Keep::Last));
    assert_eq!((join.right.name.as_str(), join.right.source, join.right.keep), ("auction", None, Keep::All));
    assert_eq!(join.left.key_origin, "services.q3.join.left.key");
    assert_eq!(join.right.when_origin, "services.q3.join.right.when");
    assert_eq!(join.emit_origin, "services.q3.join.emit");
    assert!(plan.services[0].partition.is_none());
    assert!(plan.late_records_topic.is_none());
}

#[test]
fn join_and_partition_do_not_go_together() {
    let both = with(
        11,
        "    sources: [{type: topic, id: events}, {type: topic, id: bids}]\n    partition: {assign-key: {cel: value.id}}",
    );
    has(&problems(&both), 13, "has both `partition` and `join`");
}

#[test]
fn a_side_needs_a_key_and_a_source_of_the_service() {
    let found = problems(&with(17, "        when: {cel: value.kind == 0u}"));
    has(&found, 13, "join side `person` has no `key`");
    let problem = problems(&with(15, "        source: bid"));
    has(
        &problem,
        15,
        "`bid` is not a source of this service (did you mean `bids`?); its sources: events, bids",
    );
    assert_eq!(problem[0].column, 17);
    has(&problems(&with(15, "        source: out")), 15, "`out` is not a source of this service");
}

#[test]
fn keep_is_all_first_or_last() {
    let found = problems(&with(18, "        keep: newest"));
    has(&found, 18, "newest");
    assert!(found[0].message.contains("`first`") && found[0].message.contains("`last`"), "{found:#?}");
}

#[test]
fn side_names_are_distinct_identifiers_the_engine_does_not_bind() {
    has(&problems(&with(20, "        name: person")), 20, "both sides are called `person`");
    for bound in ["key", "window", "value", "timestamp"] {
        has(&problems(&with(14, &format!("        name: {bound}"))), 14, "a name the engine binds itself");
    }
    has(&problems(&with(14, "        name: the-person")), 14, "must be letters, digits and `_`");
    has(&problems(&with(14, "        name: in")), 14, "reserved word of CEL");
    has(&problems(&with(14, "        name: \"\"")), 14, "cannot be a side's name");
}

#[test]
fn join_logic_is_checked_cel() {
    has(&problems(&with(16, "        when: {cel: value.kind ==}")), 16, "CEL syntax error");
    has(&problems(&with(17, "        key: {cel: auction.id}")), 17, "unknown variable `auction`");
    let emit = problems(&with(23, "      emit: {cel: \"{'id': auction.id, 'p': persn.id, 'v': value}\"}"));
    has(&emit, 23, "unknown variable `persn` (did you mean `person`?)");
    has(&emit, 23, "unknown variable `value`");
    has(&problems(&with(23, "      emit: {cel: window.start}")), 23, "unknown variable `window`");
    let component_key = with(17, "        key: {component: ./key.wasm}");
    let (_, plan) = parse(&component_key, "joins.yaml").unwrap();
    assert!(matches!(plan.services[0].join.as_ref().unwrap().left.key, eddy_dataflow::Logic::Wasm(_)));
    let (_, mut plan) = parse(&with(16, "        when: {component: when.wasm}"), "joins.yaml").unwrap();
    plan.resolve_component_paths(std::path::Path::new("/flows"));
    let mut visited = Vec::new();
    plan.for_each_wasm(|origin, source| visited.push(format!("{origin} {source:?}")));
    assert_eq!(visited, [r#"services.q3.join.left.when Component("/flows/when.wasm")"#]);
    has(&problems(&with(16, "        when: {uses: pkg/f}")), 16, "`uses:`");
    has(&problems(&with(23, "      emit: {component: ./emit.wasm}")), 23, "runs CEL only in this build");
    has(&problems(&with(23, "      emit: {run: \"fn f() {}\"}")), 23, "runs CEL only in this build");
    has(&problems(&with(23, "")), 12, "the join has no `emit`");
}

#[test]
fn a_join_needs_sinks() {
    has(&problems(&with(24, "")), 10, "joins but has no sinks for what `emit` returns");
}

#[test]
fn a_windowed_join_emits_instead_of_flush() {
    let window = "    window:\n      tumbling: {duration: 10s}\n    sinks: [{type: topic, id: out}]";
    let windowed = with(24, window);
    let emit_window = windowed.replace("'key': key}", "'key': key, 'start': window.start}");
    let (_, plan) = parse(&emit_window, "joins.yaml").unwrap();
    let service = &plan.services[0];
    assert!(service.window.as_ref().unwrap().flush.is_none());
    assert!(service.join.is_some());
    assert!(plan.late_records_topic.is_some());

    let flush = with(24, &format!("{window}\n    extra:")).replace(
        "    sinks: [{type: topic, id: out}]\n    extra:",
        "      flush: {cel: key}\n    sinks: [{type: topic, id: out}]",
    );
    has(&problems(&flush), 26, "remove `flush`");
    let session = with(24, "    window:\n      session: {gap: 5s}\n    sinks: [{type: topic, id: out}]");
    has(&problems(&session), 25, "a join cannot use session windows");
}
