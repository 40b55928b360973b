//! `type: nexmark` sources: what a valid one becomes in the plan, and every broken setting
//! reported on its line, all problems of a file at once.

#![allow(clippy::unwrap_used)]

use eddy_dataflow::{Diagnostic, NexmarkPlan, SourceInput, parse};

/// A valid file with a generator source; line numbers on the right.
const BASE: &str = "\
apiVersion: 0.5.0
meta:
  name: auctions
topics:
  bids:
    schema:
      value:
        type: string
services:
  copy:
    sources:
      - type: nexmark
        id: feed
        events: 20000
        rate: 1000000
        partitions: 2
        generator:
          seed: 42
          base-time: 1700000000000
    sinks:
      - type: topic
        id: bids
";
//  1 apiVersion   7 value          13 id: feed         19 base-time
//  2 meta         8 type           14 events           20 sinks
//  3 name         9 services       15 rate             21 - type: topic
//  4 topics      10 copy           16 partitions       22 id: bids
//  5 bids        11 sources        17 generator
//  6 schema      12 - type         18 seed

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

/// Asserts exactly one problem, on `line` at `field`, whose message contains `needle`.
fn one(source: &str, line: usize, field: &str, needle: &str) {
    let found = problems(source);
    assert_eq!(found.len(), 1, "{found:#?}");
    let problem = &found[0];
    assert_eq!((problem.line, problem.field_path.as_str()), (line, field), "{problem}");
    assert!(problem.message.contains(needle), "`{needle}` not in: {problem}");
}

#[test]
fn a_generator_source_becomes_a_nexmark_input_with_its_settings() {
    let (_, plan) = parse(BASE, "dataflow.yaml").unwrap();
    let source = &plan.services[0].sources[0];
    assert_eq!(source.id, "feed");
    assert_eq!(source.topic_id(), None);
    assert_eq!(source.name(), "nexmark:feed");
    let expected = eddy_nexmark::Config { seed: 42, base_time: 1_700_000_000_000, ..Default::default() };
    assert_eq!(
        source.input,
        SourceInput::Nexmark(NexmarkPlan {
            config: expected,
            events: Some(20_000),
            rate: Some(1_000_000),
            partitions: 2
        })
    );
}

#[test]
fn settings_left_out_give_an_endless_unpaced_single_partition_reference_generator() {
    let source = BASE.lines().take(13).chain(BASE.lines().skip(19)).collect::<Vec<_>>().join("\n");
    let (_, plan) = parse(&source, "dataflow.yaml").unwrap();
    assert_eq!(
        plan.services[0].sources[0].input,
        SourceInput::Nexmark(NexmarkPlan {
            config: eddy_nexmark::Config::default(),
            events: None,
            rate: None,
            partitions: 1
        })
    );
}

#[test]
fn a_generator_named_like_a_topic_another_service_writes_does_not_depend_on_it() {
    let source = format!(
        "{BASE}  \
  echo:
    sources: [{{type: topic, id: bids}}]
    sinks: [{{type: topic, id: echoed}}]
  again:
    sources: [{{type: nexmark, id: echoed}}]
    sinks: [{{type: topic, id: bids2}}]
"
    )
    .replace(
        "topics:\n",
        "topics:\n  echoed: {schema: {value: {type: string}}}\n  bids2: {schema: {value: {type: string}}}\n",
    );
    let (_, plan) = parse(&source, "dataflow.yaml").unwrap();
    let order: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    // By name, as nothing feeds `again`; `echo` after `copy`, which writes `bids`.
    assert_eq!(order, ["again", "copy", "echo"]);
}

#[test]
fn zero_partitions_rate_or_events_are_refused_on_their_line() {
    let base = "services.copy.sources[0]";
    one(&with(16, "        partitions: 0"), 16, &format!("{base}.partitions"), "1 to 4096 partitions, not 0");
    one(&with(16, "        partitions: 5000"), 16, &format!("{base}.partitions"), "not 5000");
    one(&with(15, "        rate: 0"), 15, &format!("{base}.rate"), "at least 1 event per second");
    one(&with(14, "        events: 0"), 14, &format!("{base}.events"), "makes no events");
}

#[test]
fn negative_or_non_numeric_settings_are_type_errors_on_their_line() {
    let base = "services.copy.sources[0]";
    one(&with(14, "        events: -3"), 14, &format!("{base}.events"), "expected u64");
    one(&with(15, "        rate: fast"), 15, &format!("{base}.rate"), "expected u64");
    one(&with(16, "        partitions: -1"), 16, &format!("{base}.partitions"), "expected u32");
}

#[test]
fn unknown_or_invalid_generator_fields_are_refused() {
    let base = "services.copy.sources[0].generator";
    one(&with(18, "          sed: 42"), 18, &format!("{base}.sed"), "unknown field `sed`");
    one(&with(18, "          events-per-second: 0"), 18, &format!("{base}.events-per-second"), "nonzero");
    one(&with(18, "          seed: -1"), 18, &format!("{base}.seed"), "expected u64");
}

#[test]
fn a_missing_or_bad_id_is_refused() {
    let found = problems(&with(13, ""));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].message.contains("missing required field `id`"), "{}", found[0]);
    assert_eq!(found[0].field_path, "services.copy.sources[0]");
    assert_eq!(found[0].line, 12);
    one(&with(13, "        id: 'a feed'"), 13, "services.copy.sources[0].id", "letters, digits");
}

#[test]
fn a_nexmark_sink_is_refused() {
    one(
        &with(21, "      - type: nexmark"),
        21,
        "services.copy.sinks[0].type",
        "a nexmark generator can only be a source",
    );
}

#[test]
fn generator_settings_on_topics_are_refused() {
    let source = format!(
        "{BASE}  \
  echo:
    sources:
      - type: topic
        id: bids
        events: 10
    sinks:
      - type: topic
        id: bids2
        generator: {{seed: 1}}
"
    )
    .replace("topics:\n", "topics:\n  bids2: {schema: {value: {type: string}}}\n");
    let found = problems(&source);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].field_path, "services.echo.sources[0].events");
    assert!(found[0].message.contains("not of a topic source"), "{}", found[0]);
    assert_eq!(found[0].line, 28);
    assert_eq!(found[1].field_path, "services.echo.sinks[0].generator");
    assert!(found[1].message.contains("not of a sink"), "{}", found[1]);
    assert_eq!(found[1].line, 32);
}

#[test]
fn every_problem_of_a_file_is_reported_at_once() {
    // Settings out of range in one service, values of the wrong type in another (a service
    // broken while reading it is not validated further, so they are kept apart).
    let source = format!(
        "{BASE}  \
  other:
    sources:
      - type: nexmark
        id: feed
        events: -3
        generator: {{sed: 1}}
    sinks: [{{type: topic, id: bids}}]
"
    )
    .replace("        id: feed\n        events: 20000", "        id: 'a feed'\n        events: 0")
    .replace("        rate: 1000000", "        rate: 0")
    .replace("        partitions: 2", "        partitions: 0")
    .replace("      - type: topic\n        id: bids", "      - type: nexmark\n        id: bids");
    let found = problems(&source);
    let fields: Vec<(usize, &str)> = found.iter().map(|p| (p.line, p.field_path.as_str())).collect();
    assert_eq!(
        fields,
        [
            (13, "services.copy.sources[0].id"),
            (14, "services.copy.sources[0].events"),
            (15, "services.copy.sources[0].rate"),
            (16, "services.copy.sources[0].partitions"),
            (21, "services.copy.sinks[0].type"),
            (27, "services.other.sources[0].events"),
            (28, "services.other.sources[0].generator.sed"),
        ],
        "{found:#?}"
    );
}
