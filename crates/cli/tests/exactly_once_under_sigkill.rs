//! Exactly-once, proven: `eddy run` over a million records with keyed state, a re-partition
//! and event-time windows is killed with SIGKILL at random moments (seeded), restarted each time, and
//! in the end the state and every output topic are exactly what one pass over the input
//! gives: no record lost, none twice. It runs twice: with CEL logic, a per-window `top-k`
//! (whose windows' keys are spread over both workers) and a windowed join; and with the same
//! logic as WebAssembly components.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use common::Eddy;

const RECORDS: u64 = 1_000_000;
const KEYS: u64 = 1_000;
const KILLS: usize = 10;
const SEED: u64 = 0x5eed_0fed_d1ed;

const DATAFLOW: &str = r#"
apiVersion: 0.5.0
meta: {name: exactly-once}
config: {converter: json, commit-interval: 50ms, consumer: {default_starting_offset: {position: Beginning}}}
types:
  event: {type: object, properties: {id: {type: u64}, k: {type: string}, v: {type: u64}}}
  window-count: {type: object, properties: {k: {type: string}, start: {type: i64}, count: {type: u64}}}
  bounds: {type: object, properties: {start: {type: i64}, end: {type: i64}}}
  pair: {type: object, properties: {big: {type: u64}, small: {type: u64}}}
  ranked: {type: object, properties: {rank: {type: u32}, key: {type: string}, state: {type: u64}, window: {type: bounds}}}
topics:
  events: {name: events, partitions: 4, schema: {value: {type: event}}}
  totals: {name: totals, partitions: 3, schema: {value: {type: event}}}
  big: {name: big, partitions: 2, schema: {value: {type: event}}}
  windowed: {name: windowed, partitions: 2, schema: {value: {type: window-count}}}
  top: {name: top, partitions: 1, schema: {value: {type: ranked}}}
  pairs: {name: pairs, partitions: 2, schema: {value: {type: pair}}}
services:
  sum:
    sources: [{type: topic, id: events}]
    states:
      sum-per-key: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    partition:
      assign-key: {cel: value.k}
      update-state: {cel: state + value.v}
    sinks: [{type: topic, id: totals}]
  big-ones:
    sources: [{type: topic, id: events}]
    transforms:
      - {operator: filter, cel: "value.v > 90"}
    sinks: [{type: topic, id: big}]
  per-window:
    sources: [{type: topic, id: events}]
    states:
      count-per-window: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    window:
      tumbling: {duration: 100s}
      assign-timestamp: {cel: int(value.id)}
      partition:
        assign-key: {cel: value.k}
        update-state: {cel: state + 1}
      flush: {cel: "{'k': key, 'start': window.start, 'count': state}"}
    sinks: [{type: topic, id: windowed}]
"#;

/// The CEL variant adds a per-window flush: the three keys with the largest sums of each
/// window, ranked over both workers' keys.
const TOP_PER_WINDOW: &str = r#"
  top-per-window:
    sources: [{type: topic, id: events}]
    states:
      sum-per-window: {type: keyed-state, properties: {key: {type: string}, value: {type: u64}}}
    window:
      tumbling: {duration: 100s}
      assign-timestamp: {cel: int(value.id)}
      partition:
        assign-key: {cel: value.k}
        update-state: {aggregate: sum, of: value.v}
      flush: {per: window, aggregate: top-k, k: 3, by: state}
    sinks: [{type: topic, id: top}]
  pairs-per-window:
    sources: [{type: topic, id: events}]
    window:
      tumbling: {duration: 100s}
      assign-timestamp: {cel: int(value.id)}
    join:
      left: {name: big, when: {cel: value.v > 90}, key: {cel: value.k}}
      right: {name: small, when: {cel: value.v < 5}, key: {cel: value.k}}
      emit: {cel: "{'big': big.id, 'small': small.id}"}
    sinks: [{type: topic, id: pairs}]
"#;

/// Event time is the id in ms: windows of this many ids.
const WINDOW: u64 = 100_000;

fn key(id: u64) -> u64 {
    (id * 7919) % KEYS
}

fn v(id: u64) -> u64 {
    (id * 31) % 97
}

/// A small deterministic generator for the kill times (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound
    }
}

fn ids_in(output: &[u8]) -> Vec<u64> {
    let mut ids: Vec<u64> = output
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| serde_json::from_slice::<serde_json::Value>(line).unwrap()["id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

fn state_of(eddy: &Eddy) -> BTreeMap<String, u64> {
    let listed = String::from_utf8(eddy.ok(&["state", "list", "sum", "sum-per-key"])).unwrap();
    listed
        .lines()
        .map(|line| {
            let (k, v) = line.split_once(' ').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect()
}

/// How many records `topic` holds, asked through the running process; `None` while it is
/// not serving yet (asking then would open the data directory and keep the run from starting).
fn committed_in(eddy: &Eddy, topic: &str) -> Option<u64> {
    UnixStream::connect(eddy.data_dir().join("eddy.sock")).ok()?;
    let output = eddy.run(&["topic", "describe", topic], b"");
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).unwrap();
    let rows = text.lines().skip_while(|line| !line.starts_with("PARTITION")).skip(1);
    Some(rows.map(|row| row.split_whitespace().nth(3).unwrap().parse::<u64>().unwrap()).sum())
}

/// What a killed run left, read without a running process: the output of `sum` and its state
/// come from the same committed epochs, so the state holds exactly the sums of the records in
/// `totals`, none of them twice. Returns how many records `totals` holds.
fn check_committed_epoch(eddy: &Eddy, kill: usize) -> u64 {
    let totals = ids_in(&eddy.ok(&["consume", "totals", "-B", "-d"]));
    let mut distinct = totals.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), totals.len(), "a record in `totals` twice after kill {kill}");
    let summed: u64 = totals.iter().map(|&id| v(id)).sum();
    let state: u64 = if totals.is_empty() { 0 } else { state_of(eddy).values().sum() };
    assert_eq!(state, summed, "state and output of different epochs after kill {kill}");
    totals.len() as u64
}

/// The same dataflow with WebAssembly components for all its logic: filter, keys, state
/// updates, event times and window flushes.
fn webassembly_dataflow() -> String {
    let sum = eddy_test_guests::component("eo-sum").display().to_string();
    let window = eddy_test_guests::component("eo-window").display().to_string();
    let swaps = [
        ("      assign-key: {cel: value.k}\n      update-state: {cel: state + value.v}", "sum"),
        (r#"{operator: filter, cel: "value.v > 90"}"#, "filter"),
        ("assign-timestamp: {cel: int(value.id)}", "assign-timestamp"),
        ("        assign-key: {cel: value.k}\n        update-state: {cel: state + 1}", "count"),
        (r#"flush: {cel: "{'k': key, 'start': window.start, 'count': state}"}"#, "flush"),
    ];
    let mut dataflow = DATAFLOW.to_owned();
    for (cel, what) in swaps {
        assert!(dataflow.contains(cel), "{cel}");
        let wasm = match what {
            "sum" => {
                format!("      assign-key: {{component: {sum}}}\n      update-state: {{component: {sum}}}")
            }
            "filter" => format!("{{operator: filter, component: {sum}}}"),
            "assign-timestamp" => format!("assign-timestamp: {{component: {window}}}"),
            "count" => format!(
                "        assign-key: {{component: {window}}}\n        update-state: {{component: {window}}}"
            ),
            _ => format!("flush: {{component: {window}}}"),
        };
        dataflow = dataflow.replace(cel, &wasm);
    }
    assert!(!dataflow.contains("cel:"), "{dataflow}");
    dataflow
}

#[test]
fn state_and_outputs_are_exact_after_repeated_sigkills() {
    let eddy = exact_after_repeated_sigkills(&format!("{DATAFLOW}{TOP_PER_WINDOW}"), &[]);
    let top = eddy.ok(&["consume", "top", "-B", "-d"]);
    let mut ranked: Vec<(u64, u64, String, u64)> = top
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let value: serde_json::Value = serde_json::from_slice(line).unwrap();
            let start = value["window"]["start"].as_u64().unwrap();
            let key = value["key"].as_str().unwrap().to_owned();
            (start, value["rank"].as_u64().unwrap(), key, value["state"].as_u64().unwrap())
        })
        .collect();
    ranked.sort();
    let mut sums: BTreeMap<u64, BTreeMap<String, u64>> = BTreeMap::new();
    for id in 0..RECORDS - WINDOW {
        *sums.entry(id / WINDOW * WINDOW).or_default().entry(format!("k{}", key(id))).or_default() += v(id);
    }
    let mut expected = Vec::new();
    for (start, per_key) in sums {
        let mut keys: Vec<(String, u64)> = per_key.into_iter().collect();
        keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (rank, (key, sum)) in keys.into_iter().take(3).enumerate() {
            expected.push((start, rank as u64 + 1, key, sum));
        }
    }
    assert_eq!(ranked, expected, "the top keys of every closed window, exactly once");

    // The windowed join: per closed window and key, every big record with every small one.
    let pairs = eddy.ok(&["consume", "pairs", "-B", "-d"]);
    let mut pairs: Vec<(u64, u64)> = pairs
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let value: serde_json::Value = serde_json::from_slice(line).unwrap();
            (value["big"].as_u64().unwrap(), value["small"].as_u64().unwrap())
        })
        .collect();
    pairs.sort_unstable();
    let mut sides: BTreeMap<(u64, u64), (Vec<u64>, Vec<u64>)> = BTreeMap::new();
    for id in 0..RECORDS - WINDOW {
        let side = sides.entry((id / WINDOW, key(id))).or_default();
        if v(id) > 90 {
            side.0.push(id);
        }
        if v(id) < 5 {
            side.1.push(id);
        }
    }
    let mut expected: Vec<(u64, u64)> = sides
        .values()
        .flat_map(|(big, small)| big.iter().flat_map(|&b| small.iter().map(move |&s| (b, s))))
        .collect();
    expected.sort_unstable();
    assert_eq!(pairs.len(), expected.len(), "every pair of every closed window exactly once");
    assert!(pairs == expected, "the joined pairs differ from the reference");
}

#[test]
fn webassembly_operators_are_exact_after_repeated_sigkills() {
    // With fewer keys kept in memory than each worker owns, so that keys are dropped after
    // commits and read back from the store between kills.
    exact_after_repeated_sigkills(&webassembly_dataflow(), &["--state-cache-keys", "300"]);
}

/// Runs `dataflow` (`eddy run` with `run_options`) through the kills, checks the outputs every
/// variant has, and returns the data directory for checks of its own.
fn exact_after_repeated_sigkills(dataflow: &str, run_options: &[&str]) -> Eddy {
    let eddy = Eddy::new();
    let flow = eddy.scratch("exactly-once.yaml");
    std::fs::write(&flow, dataflow).unwrap();
    let flow = flow.to_str().unwrap().to_owned();
    let input = eddy.scratch("events.txt");
    let mut text = String::with_capacity(RECORDS as usize * 40);
    for id in 0..RECORDS {
        text.push_str(&format!("{{\"id\":{id},\"k\":\"k{}\",\"v\":{}}}\n", key(id), v(id)));
    }
    std::fs::write(&input, text).unwrap();
    eddy.ok(&["topic", "create", "events", "--partitions", "4"]);
    eddy.ok(&["produce", "events", "--file", input.to_str().unwrap()]);

    let mut rng = Rng(SEED);
    let mut progress = Vec::with_capacity(KILLS);
    for kill in 0..KILLS {
        let mut run = eddy
            .command(&[&["run", &flow, "--workers", "2"], run_options].concat())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a random moment after this run committed something of its own, so every
        // kill lands mid-stream however fast or loaded the machine is.
        let before = progress.last().copied().unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(120);
        while committed_in(&eddy, "totals").is_none_or(|done| done <= before) {
            assert!(run.try_wait().unwrap().is_none(), "eddy run exited before kill {kill}");
            assert!(Instant::now() < deadline, "run {kill} committed nothing in 120 s");
            thread::sleep(Duration::from_millis(10));
        }
        thread::sleep(Duration::from_millis(rng.below(300)));
        assert!(run.try_wait().unwrap().is_none(), "eddy run exited before kill {kill}");
        run.kill().unwrap(); // SIGKILL
        run.wait().unwrap();
        progress.push(check_committed_epoch(&eddy, kill));
    }
    eprintln!("records committed in `totals` after each kill: {progress:?}");
    assert!(progress.is_sorted(), "committed output never shrinks: {progress:?}");
    let mid_stream = progress.iter().filter(|&&done| done > 0 && done < RECORDS).count();
    assert!(mid_stream >= KILLS / 2, "most kills must land mid-stream: {progress:?}");
    // The last run recovers from the last kill and says how long that took.
    let last = eddy
        .command(&[&["run", &flow, "--workers", "2", "--until-idle"], run_options].concat())
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&last.stderr);
    assert!(last.status.success(), "{log}");
    assert!(log.contains("opened the data directory log=") && log.contains(" state="), "{log}");

    let totals = ids_in(&eddy.ok(&["consume", "totals", "-B", "-d"]));
    assert_eq!(totals.len() as u64, RECORDS, "every record reaches `totals` exactly once");
    assert!(totals.iter().copied().eq(0..RECORDS), "no record lost, none twice");

    let big = ids_in(&eddy.ok(&["consume", "big", "-B", "-d"]));
    let expected_big: Vec<u64> = (0..RECORDS).filter(|&id| v(id) > 90).collect();
    assert_eq!(big, expected_big);

    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for id in 0..RECORDS {
        *expected.entry(format!("k{}", key(id))).or_default() += v(id);
    }
    assert_eq!(state_of(&eddy), expected);

    // Windows: every one closed by the watermark (all but the last) exactly once, with
    // exact counts; nothing late.
    let windowed = eddy.ok(&["consume", "windowed", "-B", "-d"]);
    let mut windows: Vec<(String, u64, u64)> = windowed
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let value: serde_json::Value = serde_json::from_slice(line).unwrap();
            let (k, start, count) = (&value["k"], &value["start"], &value["count"]);
            (k.as_str().unwrap().to_owned(), start.as_u64().unwrap(), count.as_u64().unwrap())
        })
        .collect();
    windows.sort();
    let mut expected_windows: BTreeMap<(String, u64), u64> = BTreeMap::new();
    for id in 0..RECORDS - WINDOW {
        *expected_windows.entry((format!("k{}", key(id)), id / WINDOW * WINDOW)).or_default() += 1;
    }
    let expected_windows: Vec<(String, u64, u64)> =
        expected_windows.into_iter().map(|((k, start), count)| (k, start, count)).collect();
    assert_eq!(windows.len(), expected_windows.len(), "every closed window of every key exactly once");
    assert!(windows == expected_windows, "window counts differ from the reference");
    let late = eddy.ok(&["consume", "exactly-once.late-records", "-B", "-d"]);
    assert!(late.is_empty(), "{}", String::from_utf8_lossy(&late));

    let dead = eddy.ok(&["consume", "exactly-once.dead-letter", "-B", "-d"]);
    assert!(dead.is_empty(), "{}", String::from_utf8_lossy(&dead));
    eddy
}
