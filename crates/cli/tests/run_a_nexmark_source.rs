//! `eddy run` of a dataflow whose source is a `type: nexmark` generator: no topic to create
//! or feed for it; the output topic and the keyed state hold what the generator makes, and a
//! second run finds the bounded source drained.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{Eddy, lines};
use eddy_nexmark::{Config, Event, Generator};

const DATAFLOW: &str = r#"
apiVersion: 0.5.0
meta: {name: auctions}
config: {converter: json, commit-interval: 20ms}
types:
  event: {type: object, properties: {event_type: {type: u32}}}
topics:
  events: {partitions: 2, schema: {value: {type: event}}}
services:
  copy:
    sources: [{type: nexmark, id: feed, events: 1000, partitions: 2, generator: {seed: 7}}]
    sinks: [{type: topic, id: events}]
  bids:
    sources: [{type: nexmark, id: feed, events: 1000, partitions: 2, generator: {seed: 7}}]
    transforms: [{operator: filter, cel: "value.event_type == 2"}]
    states:
      per-auction: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    partition:
      assign-key: {cel: value.bid.auction}
      update-state: {aggregate: count}
"#;

#[test]
fn a_dataflow_reads_generated_events_to_the_end() {
    let eddy = Eddy::new();
    let flow = eddy.scratch("auctions.yaml");
    std::fs::write(&flow, DATAFLOW).unwrap();
    let flow = flow.to_str().unwrap();
    let output = eddy.command(&["run", flow, "--until-idle", "--workers", "2"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");

    let generator = Generator::new(Config { seed: 7, ..Config::default() });
    let mut expected_values: Vec<serde_json::Value> =
        generator.events(0..1000).map(|event| serde_json::from_slice(&event.to_json()).unwrap()).collect();
    let consumed = eddy.consume_all("events", &[]);
    let mut values: Vec<serde_json::Value> =
        lines(&consumed).into_iter().map(|line| serde_json::from_slice(line).unwrap()).collect();
    let by_text = |value: &serde_json::Value| value.to_string();
    values.sort_by_key(by_text);
    expected_values.sort_by_key(by_text);
    assert_eq!(values, expected_values);

    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut event = Event::new();
    for number in 0..1000 {
        generator.generate(number, &mut event);
        if let Some(bid) = event.bid() {
            *counts.entry(bid.auction.to_string()).or_default() += 1;
        }
    }
    let expected: String = counts.iter().map(|(auction, count)| format!("{auction} {count}\n")).collect();
    let state = String::from_utf8(eddy.ok(&["state", "list", "bids", "per-auction"])).unwrap();
    assert_eq!(state, expected);

    // Drained: a second run adds nothing.
    let output = eddy.command(&["run", flow, "--until-idle"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(lines(&eddy.consume_all("events", &[])).len(), 1000);
}
