//! A sliding-window count with a built-in aggregate, run by `eddy run --until-idle`: its
//! closed windows reach the sink topic, and `eddy state list` shows the state left by pane,
//! `<pane start>/<pane end>/<key>`, with `--internal` the end of the last window flushed for
//! each key that still has panes.

#![allow(clippy::unwrap_used)]

mod common;

use common::Eddy;

const DATAFLOW: &str = r#"
apiVersion: 0.5.0
meta: {name: sliding}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  reading: {type: object, properties: {sensor: {type: string}, ts: {type: i64}}}
  count: {type: object, properties: {sensor: {type: string}, count: {type: u64}, start: {type: i64}}}
topics:
  readings: {name: readings, partitions: 1, schema: {value: {type: reading}}}
  counts: {name: counts, partitions: 1, schema: {value: {type: count}}}
services:
  count:
    sources: [{type: topic, id: readings}]
    states:
      n: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    window:
      sliding: {duration: 6s, slide: 2s}
      assign-timestamp: {cel: value.ts}
      partition:
        assign-key: {cel: value.sensor}
        update-state: {aggregate: count}
      flush: {cel: "{'sensor': key, 'count': state, 'start': window.start}"}
    sinks: [{type: topic, id: counts}]
"#;

const READINGS: &str = r#"{"sensor": "a", "ts": 1000}
{"sensor": "a", "ts": 3500}
{"sensor": "b", "ts": 2500}
{"sensor": "a", "ts": 12000}
"#;

#[test]
fn sliding_window_state_is_listed_by_pane() {
    let eddy = Eddy::new();
    eddy.create_topic("readings", 1);
    eddy.produce("readings", &[], READINGS.as_bytes());
    let flow = eddy.scratch("sliding.yaml");
    std::fs::write(&flow, DATAFLOW).unwrap();
    eddy.ok(&["run", flow.to_str().unwrap(), "--until-idle"]);
    let mut counts: Vec<serde_json::Value> = String::from_utf8(eddy.consume_all("counts", &[]))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    counts.sort_by_key(|count| (count["start"].as_i64(), count["sensor"].as_str().map(str::to_owned)));
    let at = |sensor: &str, count: u64, start: i64| serde_json::json!({"sensor": sensor, "count": count, "start": start});
    // Every window up to the watermark (12 s) closed: a's panes [0, 2 s) and [2 s, 4 s), b's
    // [2 s, 4 s) are gone, a's [12 s, 14 s) is open.
    assert_eq!(
        counts,
        [
            at("a", 1, -4000),
            at("a", 2, -2000),
            at("b", 1, -2000),
            at("a", 2, 0),
            at("b", 1, 0),
            at("a", 1, 2000),
            at("b", 1, 2000)
        ]
    );
    assert_eq!(String::from_utf8(eddy.ok(&["state", "list", "count", "n"])).unwrap(), "12000/14000/a 1\n");
    assert_eq!(
        String::from_utf8(eddy.ok(&["state", "list", "count", "n", "--internal"])).unwrap(),
        "12000/14000/a 1\n~event-time/0/0 12000\n~flushed/a 8000\n",
        "the last window flushed for `a` ended at 8 s; `b` has no panes left"
    );
}
