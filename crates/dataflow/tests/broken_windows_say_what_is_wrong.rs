//! Broken `window` blocks: each problem is reported with its line and what was expected.

#![allow(clippy::unwrap_used)]

use eddy_dataflow::{Diagnostic, WindowKind, parse};

const WINDOWED: &str = r#"apiVersion: 0.5.0
meta: {name: windows}
types:
  reading: {type: object, properties: {sensor: {type: string}}}
topics:
  readings: {name: readings, partitions: 1, schema: {value: {type: reading}}}
  counts: {name: counts, partitions: 1, schema: {value: {type: reading}}}
services:
  count:
    sources: [{type: topic, id: readings}]
    states:
      n: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    window:
      tumbling: {duration: 10s}
      partition:
        assign-key: {cel: value.sensor}
        update-state: {cel: state + 1}
      flush: {cel: "{'sensor': key}"}
    sinks: [{type: topic, id: counts}]
"#;

/// `WINDOWED` with line `line` (1-based) replaced.
fn with(line: usize, replacement: &str) -> String {
    let mut lines: Vec<&str> = WINDOWED.lines().collect();
    lines[line - 1] = replacement;
    lines.join("\n") + "\n"
}

fn problems(source: &str) -> Vec<Diagnostic> {
    parse(source, "windows.yaml").map(|_| ()).unwrap_err().into_vec()
}

fn has(found: &[Diagnostic], line: usize, needle: &str) {
    assert!(
        found.iter().any(|p| p.line == line && p.message.contains(needle)),
        "no problem on line {line} containing `{needle}` in {found:#?}"
    );
}

#[test]
fn the_windowed_file_is_valid_and_planned() {
    let (_, plan) = parse(WINDOWED, "windows.yaml").unwrap();
    let window = plan.services[0].window.as_ref().unwrap();
    assert_eq!(window.kind, WindowKind::Tumbling { size_ms: 10_000 });
    assert_eq!(plan.late_records_topic.unwrap().as_str(), "windows.late-records");
}

#[test]
fn shapes_must_be_one_and_well_formed() {
    has(&problems(&with(14, "      sliding: {duration: 10s, slide: 3s}")), 14, "the slide must divide");
    has(&problems(&with(14, "      tumbling: {duration: 0s}")), 14, "at least 1ms");
    has(&problems(&with(14, "      tumbling: {duration: soon}")), 14, "invalid duration `soon`");
    let both = with(14, "      tumbling: {duration: 10s}\n      sliding: {duration: 10s, slide: 5s}");
    has(&problems(&both), 13, "exactly one of `tumbling`, `sliding` or `session`");
    has(&problems(&with(14, "      hopping: {duration: 10s}")), 14, "hopping");
}

#[test]
fn sessions_need_merge_and_only_sessions_and_sliding_windows_take_it() {
    has(&problems(&with(14, "      session: {gap: 5s}")), 14, "a session window needs `merge`");
    let merge_on_tumbling =
        with(18, "      flush: {cel: \"{'sensor': key}\"}\n      merge: {cel: state + other}");
    has(&problems(&merge_on_tumbling), 19, "`merge` is only used by session and sliding windows");
    let session = with(14, "      session: {gap: 5s}");
    let bad_merge = session.replace("      flush:", "      merge: {cel: state + value}\n      flush:");
    has(&problems(&bad_merge), 18, "unknown variable `value`");
    let sliding = with(14, "      sliding: {duration: 10s, slide: 5s}");
    let sliding_merge = sliding.replace("      flush:", "      merge: {cel: state + other}\n      flush:");
    let (_, plan) = parse(&sliding_merge, "windows.yaml").unwrap();
    assert!(plan.services[0].window.as_ref().unwrap().merge.is_some(), "a sliding window keeps its merge");
    let sliding_bad_merge =
        sliding.replace("      flush:", "      merge: {cel: state + value}\n      flush:");
    has(&problems(&sliding_bad_merge), 18, "unknown variable `value`");
}

#[test]
fn flush_sees_only_its_bindings() {
    has(&problems(&with(18, "      flush: {cel: value.sensor}")), 18, "unknown variable `value`");
    let per_window = with(18, "      flush: {per: window, cel: \"{'n': state}\"}");
    has(&problems(&per_window), 18, "`state` is only bound in");
    has(&problems(&with(18, "      flush: {per: hour, cel: key}")), 18, "hour");
    has(&problems(&with(18, "")), 13, "has no `flush`");
}

#[test]
fn a_window_needs_keyed_state() {
    let no_update = with(17, "");
    has(&problems(&no_update), 13, "has no `partition` with `update-state`");
}

#[test]
fn built_in_aggregates_are_planned_where_they_fit() {
    let aggregated = with(17, "        update-state: {aggregate: sum, of: value.n}").replace(
        "      flush: {cel: \"{'sensor': key}\"}",
        "      flush: {per: window, aggregate: top-k, k: 3, by: state}",
    );
    let (_, plan) = parse(&aggregated, "windows.yaml").unwrap();
    let service = &plan.services[0];
    assert!(matches!(
        &service.partition.as_ref().unwrap().update_state.as_ref().unwrap().logic,
        eddy_dataflow::Logic::Aggregate(a) if a.kind == eddy_dataflow::model::Aggregate::Sum && a.of.is_some()
    ));
    assert!(matches!(
        &service.window.as_ref().unwrap().flush.as_ref().unwrap().logic,
        eddy_dataflow::Logic::Aggregate(a) if a.k == 3 && a.by.is_some()
    ));
}

#[test]
fn broken_aggregates_say_what_they_need() {
    has(
        &problems(&with(17, "        update-state: {aggregate: count, of: value.n}")),
        17,
        "it takes no `of`",
    );
    has(&problems(&with(17, "        update-state: {aggregate: sum}")), 17, "`sum` needs `of`");
    has(&problems(&with(17, "        update-state: {aggregate: sum, of: value.}")), 17, "CEL");
    has(
        &problems(&with(17, "        update-state: {aggregate: avg, of: value.n}")),
        17,
        "`avg` cannot keep its result in state `n`",
    );
    has(&problems(&with(17, "        update-state: {aggregate: median, of: value.n}")), 17, "median");
    has(
        &problems(&with(17, "        update-state: {aggregate: top-k}")),
        17,
        "use it in `flush: {per: window",
    );
    has(
        &problems(&with(17, "        update-state: {cel: state + 1, of: value.n}")),
        17,
        "`of` belongs to `aggregate`",
    );
    has(
        &problems(&with(17, "        update-state: {cel: state + 1, aggregate: count}")),
        17,
        "are both given",
    );
    has(&problems(&with(16, "        assign-key: {aggregate: count}")), 16, "`aggregate` is only allowed in");
    has(
        &problems(&with(18, "      flush: {aggregate: top-k, k: 2, by: state}")),
        18,
        "it needs `per: window`",
    );
    has(
        &problems(&with(18, "      flush: {per: window, aggregate: top-k, k: 0, by: state}")),
        18,
        "`k` must be at least 1",
    );
    has(
        &problems(&with(18, "      flush: {per: window, aggregate: top-k, by: state}")),
        18,
        "`top-k` needs `k`",
    );
    has(&problems(&with(18, "      flush: {per: window, aggregate: top-k, k: 2}")), 18, "`top-k` needs `by`");
    has(
        &problems(&with(18, "      flush: {per: window, aggregate: top-k, k: 2, by: value}")),
        18,
        "unknown variable `value`",
    );
    has(
        &problems(&with(18, "      flush: {per: window, aggregate: count}")),
        18,
        "use it in `partition.update-state`",
    );
    has(
        &problems(&with(18, "      flush: {cel: \"{'sensor': key}\", k: 2}")),
        18,
        "`k` belongs to `aggregate`",
    );
}

#[test]
fn the_watermark_takes_a_max_drift_and_refuses_what_is_not_a_duration() {
    let aligned = with(14, "      tumbling: {duration: 10s}\n      watermark: {max-drift: 1m, idleness: 5s}");
    let (_, plan) = parse(&aligned, "windows.yaml").unwrap();
    assert_eq!(plan.services[0].window.as_ref().unwrap().max_drift_ms, Some(60_000));
    let (_, plain) = parse(WINDOWED, "windows.yaml").unwrap();
    assert_eq!(plain.services[0].window.as_ref().unwrap().max_drift_ms, None, "no alignment unless asked");
    let bad = with(14, "      tumbling: {duration: 10s}\n      watermark: {max-drift: lots}");
    has(&problems(&bad), 15, "invalid duration `lots`");
    let misspelt = with(14, "      tumbling: {duration: 10s}\n      watermark: {max-drfit: 1m}");
    has(&problems(&misspelt), 15, "max-drfit");
}
