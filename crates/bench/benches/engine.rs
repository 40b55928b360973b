//! Dataflow throughput: a stateless filter+map chain and a keyed counter with a
//! re-partition, over JSON records, with 1 and 2 workers; the counter with a commit
//! interval 10x shorter than the default, to show what epochs cost; the same map as a
//! WebAssembly component (exporting `map`, called per record, or `map-batch`, called with the
//! records of a log batch); the counter as the built-in `count` aggregate; a pass-through of
//! Nexmark events from a `type: nexmark` generator source to a topic; a sliding-window count
//! per key with `duration / slide` = 10 and = 100, each window updated per record (CEL
//! `update-state` without `merge`) against panes (the same CEL with `merge`, and the built-in
//! `count`).
//!
//! Each iteration runs the dataflow to idle over `RECORDS` records in a fresh copy of a
//! prepared data directory, so the time includes start-up and the final commit.
//!
//! `cargo bench -p eddy-bench --bench engine`

#![allow(missing_docs)]

use eddy_bench as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use eddy_engine::Options;
use eddy_log::{Log, Options as LogOptions, TopicConfig};
use eddy_state::StateStore;
use eddy_types::{RecordRef, TopicName};

const RECORDS: u64 = 200_000;
/// Records (and distinct keys) of the windowed bench.
const WINDOWED_RECORDS: u64 = 1_000_000;

const STATELESS: &str = r#"
apiVersion: 0.5.0
meta: {name: stateless}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}, ts: {type: i64}}}
  alert: {type: object, properties: {sensor: {type: string}, temp: {type: f64}}}
topics:
  readings: {name: readings, partitions: 2, schema: {value: {type: reading}}}
  alerts: {name: alerts, partitions: 2, schema: {value: {type: alert}}}
services:
  hot:
    sources: [{type: topic, id: readings}]
    transforms:
      - {operator: filter, cel: "value.temp > 10.0"}
      - {operator: map, cel: "{'sensor': value.sensor, 'temp': value.temp}"}
    sinks: [{type: topic, id: alerts}]
"#;

const KEYED: &str = r#"
apiVersion: 0.5.0
meta: {name: keyed}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}, ts: {type: i64}}}
topics:
  readings: {name: readings, partitions: 2, schema: {value: {type: reading}}}
services:
  count:
    sources: [{type: topic, id: readings}]
    states:
      per-sensor: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    partition:
      assign-key: {cel: value.sensor}
      update-state: {cel: state + 1}
"#;

/// The filter+map chain with the map in a WebAssembly component (`{"value": v, "at": ts}`).
const WASM_MAP: &str = r#"
apiVersion: 0.5.0
meta: {name: wasm-map}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}, ts: {type: i64}}}
  wrapped: {type: object, properties: {value: {type: reading}, at: {type: i64}}}
topics:
  readings: {name: readings, partitions: 2, schema: {value: {type: reading}}}
  wrapped: {name: wrapped, partitions: 2, schema: {value: {type: wrapped}}}
services:
  hot:
    sources: [{type: topic, id: readings}]
    transforms:
      - {operator: filter, cel: "value.temp > 10.0"}
      - {operator: map, component: MAP}
    sinks: [{type: topic, id: wrapped}]
"#;

/// The keyed counter as the built-in aggregate.
const KEYED_AGGREGATE: &str = r#"
apiVersion: 0.5.0
meta: {name: keyed}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}, ts: {type: i64}}}
topics:
  readings: {name: readings, partitions: 2, schema: {value: {type: reading}}}
services:
  count:
    sources: [{type: topic, id: readings}]
    states:
      per-sensor: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    partition:
      assign-key: {cel: value.sensor}
      update-state: {aggregate: count}
"#;

/// A tumbling-window count per key, event time from the value: over `WINDOWED_RECORDS`
/// readings of as many sensors, 1 s apart in event time, in 10 s windows.
const WINDOWED: &str = r#"
apiVersion: 0.5.0
meta: {name: windowed}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}, ts: {type: i64}}}
  count: {type: object, properties: {sensor: {type: string}, count: {type: u64}}}
topics:
  readings: {name: readings, partitions: 2, schema: {value: {type: reading}}}
  counts: {name: counts, partitions: 2, schema: {value: {type: count}}}
services:
  count:
    sources: [{type: topic, id: readings}]
    states:
      per-sensor: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    window:
      tumbling: {duration: 10s}
      assign-timestamp: {cel: value.ts * 1000}
      partition:
        assign-key: {cel: value.sensor}
        update-state: {cel: state + 1}
      flush: {cel: "{'sensor': key, 'count': state}"}
    sinks: [{type: topic, id: counts}]
"#;

/// Records of the sliding-window bench, and its sensors.
const SLIDING_RECORDS: u64 = 50_000;
const SLIDING_SENSORS: u64 = 10;

/// A sliding-window count per sensor over `SLIDING_RECORDS` readings 20 ms apart in event
/// time (1000 s in all), windows `DURATION` long every 5 s: 250 readings per pane, 25 per
/// sensor. `UPDATE` is the partition's `update-state` (and `merge`).
const SLIDING: &str = r#"
apiVersion: 0.5.0
meta: {name: sliding}
config: {converter: json, consumer: {default_starting_offset: {position: Beginning}}}
types:
  reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}, ts: {type: i64}}}
  count: {type: object, properties: {sensor: {type: string}, count: {type: u64}, start: {type: i64}}}
topics:
  readings: {name: readings, partitions: 2, schema: {value: {type: reading}}}
  counts: {name: counts, partitions: 2, schema: {value: {type: count}}}
services:
  count:
    sources: [{type: topic, id: readings}]
    states:
      per-sensor: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    window:
      sliding: {duration: DURATION, slide: 5s}
      assign-timestamp: {cel: value.ts * 20}
      partition:
        assign-key: {cel: value.sensor}
        UPDATE
      flush: {cel: "{'sensor': key, 'count': state, 'start': window.start}"}
    sinks: [{type: topic, id: counts}]
"#;

/// Events of the Nexmark pass-through bench.
const NEXMARK_EVENTS: u64 = 200_000;

/// Every event of a bounded 2-partition generator written to a topic.
const NEXMARK_PASS_THROUGH: &str = r#"
apiVersion: 0.5.0
meta: {name: nexmark}
config: {converter: json}
types:
  event: {type: object, properties: {event_type: {type: u32}}}
topics:
  events: {name: events, partitions: 2, schema: {value: {type: event}}}
services:
  copy:
    sources: [{type: nexmark, id: events, events: 200000, partitions: 2, generator: {base-time: 1700000000000}}]
    sinks: [{type: topic, id: events}]
"#;

/// A data directory holding `RECORDS` readings (about 60 bytes each) in 2 partitions.
fn template() -> tempfile::TempDir {
    template_of(RECORDS, 10_000)
}

/// A data directory holding `records` readings of `sensors` sensors in 2 partitions.
fn template_of(records: u64, sensors: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = Log::open(dir.path().join("log"), LogOptions::default()).expect("log");
    let topic = log
        .create_topic(&TopicName::new("readings").expect("name"), TopicConfig::with_partitions(2))
        .expect("topic");
    let values: Vec<String> = (0..records)
        .map(|i| {
            format!(r#"{{"sensor":"sensor-{}","temp":{}.5,"ts":{}}}"#, i % sensors, i % 40, 1_700_000_000 + i)
        })
        .collect();
    for (p, chunk) in values.chunks(values.len().div_ceil(2)).enumerate() {
        let partition = topic.partition(p as u32).expect("partition");
        for batch in chunk.chunks(4096) {
            partition.append(batch.iter().map(|v| RecordRef::new(None, v.as_bytes(), 0))).expect("append");
            partition.commit().expect("commit");
        }
    }
    log.sync().expect("sync");
    dir
}

/// A data directory holding `records` readings of as many sensors, reading `i` in partition
/// `i % 2`, in batches of 4,096 per partition.
fn template_interleaved(records: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = Log::open(dir.path().join("log"), LogOptions::default()).expect("log");
    let topic = log
        .create_topic(&TopicName::new("readings").expect("name"), TopicConfig::with_partitions(2))
        .expect("topic");
    for p in 0..2 {
        let values: Vec<String> = (p..records)
            .step_by(2)
            .map(|i| format!(r#"{{"sensor":"sensor-{i}","temp":{}.5,"ts":{}}}"#, i % 40, 1_700_000_000 + i))
            .collect();
        let partition = topic.partition(p as u32).expect("partition");
        for batch in values.chunks(4096) {
            partition.append(batch.iter().map(|v| RecordRef::new(None, v.as_bytes(), 0))).expect("append");
            partition.commit().expect("commit");
        }
    }
    log.sync().expect("sync");
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn run_to_idle(source: &str, dir: &Path, workers: usize, interval: Duration) {
    run_records(source, dir, workers, interval, RECORDS);
}

/// Runs `source` to idle over `dir`. The benches hand `dir` back to criterion, which drops
/// it (deleting the data directory) outside the measured time.
fn run_records(source: &str, dir: &Path, workers: usize, interval: Duration, records: u64) {
    let (_, plan) = eddy_dataflow::parse(source, "bench.yaml").expect("dataflow");
    let log = Arc::new(Log::open(dir.join("log"), LogOptions::default()).expect("log"));
    let store = Arc::new(StateStore::open(&dir.join("state")).expect("state"));
    let options =
        Options { workers, until_idle: true, commit_interval: Some(interval), ..Options::default() };
    let summary = eddy_engine::start(&plan, log, store, &options).expect("start").wait().expect("run");
    assert_eq!(summary.records_read, records);
}

fn dataflows(c: &mut Criterion) {
    let template = template();
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(RECORDS));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let default_interval = Duration::from_millis(100);
    let wasm_map = WASM_MAP.replace("MAP", &eddy_test_guests::component("map").display().to_string());
    let wasm_map_batch =
        WASM_MAP.replace("MAP", &eddy_test_guests::component("map-batch").display().to_string());
    let cases: [(&str, &str, usize, Duration); 11] = [
        ("filter-map/1-worker", STATELESS, 1, default_interval),
        ("filter-map/2-workers", STATELESS, 2, default_interval),
        ("filter-wasm-map/1-worker", &wasm_map, 1, default_interval),
        ("filter-wasm-map/2-workers", &wasm_map, 2, default_interval),
        ("filter-wasm-map-batch/1-worker", &wasm_map_batch, 1, default_interval),
        ("filter-wasm-map-batch/2-workers", &wasm_map_batch, 2, default_interval),
        ("keyed-count/1-worker", KEYED, 1, default_interval),
        ("keyed-count/2-workers", KEYED, 2, default_interval),
        ("keyed-count/2-workers/commit-10ms", KEYED, 2, Duration::from_millis(10)),
        ("keyed-count-aggregate/1-worker", KEYED_AGGREGATE, 1, default_interval),
        ("keyed-count-aggregate/2-workers", KEYED_AGGREGATE, 2, default_interval),
    ];
    for (name, source, workers, interval) in cases {
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().expect("temp dir");
                    copy_dir(template.path(), dir.path());
                    dir
                },
                |dir| {
                    run_to_idle(source, dir.path(), workers, interval);
                    dir
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn windows(c: &mut Criterion) {
    // Halves: the first half of event time in partition 0, the second in partition 1, so the
    // watermark (the lower of the two) holds every window of the second half open until the
    // first is read. Interleaved: reading i in partition i % 2, as a round-robin producer
    // writes them, both partitions advancing in event time together.
    let halves = template_of(WINDOWED_RECORDS, WINDOWED_RECORDS);
    let interleaved = template_interleaved(WINDOWED_RECORDS);
    let aligned = WINDOWED
        .replace("      assign-timestamp", "      watermark: {max-drift: 1h}\n      assign-timestamp");
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(WINDOWED_RECORDS));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let cases: [(&str, &tempfile::TempDir, &str, usize); 6] = [
        ("halves/1-worker", &halves, WINDOWED, 1),
        ("halves/2-workers", &halves, WINDOWED, 2),
        ("halves/2-workers/max-drift-1h", &halves, &aligned, 2),
        ("interleaved/1-worker", &interleaved, WINDOWED, 1),
        ("interleaved/2-workers", &interleaved, WINDOWED, 2),
        ("interleaved/2-workers/max-drift-1h", &interleaved, &aligned, 2),
    ];
    for (name, template, source, workers) in cases {
        group.bench_function(format!("tumbling-count-1M-keys/{name}"), |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().expect("temp dir");
                    copy_dir(template.path(), dir.path());
                    dir
                },
                |dir| {
                    run_records(source, dir.path(), workers, Duration::from_millis(100), WINDOWED_RECORDS);
                    dir
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn sliding(c: &mut Criterion) {
    let template = template_of(SLIDING_RECORDS, SLIDING_SENSORS);
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(SLIDING_RECORDS));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let updates = [
        ("per-window", "update-state: {cel: state + 1}"),
        ("panes-cel-merge", "update-state: {cel: state + 1}\n      merge: {cel: state + other}"),
        ("panes-aggregate", "update-state: {aggregate: count}"),
    ];
    for (path, update) in updates {
        for (ratio, duration) in [(10, "50s"), (100, "500s")] {
            let source = SLIDING.replace("DURATION", duration).replace("UPDATE", update);
            group.bench_function(format!("sliding-count/{path}/size-over-slide-{ratio}/1-worker"), |b| {
                b.iter_batched(
                    || {
                        let dir = tempfile::tempdir().expect("temp dir");
                        copy_dir(template.path(), dir.path());
                        dir
                    },
                    |dir| {
                        run_records(&source, dir.path(), 1, Duration::from_millis(100), SLIDING_RECORDS);
                        dir
                    },
                    BatchSize::PerIteration,
                )
            });
        }
    }
    group.finish();
}

fn nexmark(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(NEXMARK_EVENTS));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for workers in [1, 2] {
        let name = format!("nexmark-pass-through/{workers}-worker{}", if workers == 1 { "" } else { "s" });
        group.bench_function(name, |b| {
            b.iter_batched(
                || tempfile::tempdir().expect("temp dir"),
                |dir| {
                    run_records(
                        NEXMARK_PASS_THROUGH,
                        dir.path(),
                        workers,
                        Duration::from_millis(100),
                        NEXMARK_EVENTS,
                    );
                    dir
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, dataflows, windows, sliding, nexmark);
criterion_main!(benches);
