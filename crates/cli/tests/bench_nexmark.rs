//! `eddy bench nexmark`: every built-in query runs over generated events, with 1 and 2
//! workers, and its output matches the reference answer computed from the generator; with
//! `--rate` it reports latency; an unknown query says which exist.

#![allow(clippy::unwrap_used)]

mod common;

use common::Eddy;

fn bench(eddy: &Eddy, args: &[&str]) -> String {
    let mut all = vec!["bench", "nexmark"];
    all.extend_from_slice(args);
    String::from_utf8(eddy.ok(&all)).unwrap()
}

#[test]
fn every_query_matches_its_reference_with_one_and_two_workers() {
    let eddy = Eddy::new();
    for query in ["q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8"] {
        for workers in ["1", "2"] {
            // 150,000 events are 15 s of event time: q5, q7 and q8 close windows.
            let report = bench(&eddy, &["--query", query, "--events", "150000", "--workers", workers]);
            assert!(report.contains("match the reference"), "{query}, {workers} workers:\n{report}");
            assert!(report.contains("events/s per core"), "{report}");
            assert!(report.contains("peak RSS"), "{report}");
        }
    }
}

#[test]
fn a_paced_run_reports_latency() {
    let eddy = Eddy::new();
    let report = bench(&eddy, &["--query", "q0", "--events", "20000", "--rate", "40000", "--workers", "2"]);
    assert!(report.contains("latency (event time to committed output"), "{report}");
    assert!(report.contains("p99"), "{report}");
    assert!(report.contains("match the reference"), "{report}");
}

#[test]
fn an_unknown_query_says_which_exist() {
    let eddy = Eddy::new();
    let error = eddy.fails(&["bench", "nexmark", "--query", "q6"]);
    assert!(error.contains("no Nexmark query 'q6'"), "{error}");
    assert!(error.contains("q0, q1, q2, q3, q4, q5, q7, q8"), "{error}");
}

#[test]
fn a_changelog_is_checked_by_its_last_record_per_key() {
    let eddy = Eddy::new();
    let q4 = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../benches/nexmark/q4.yaml"))
        .unwrap();
    // Averages that count each auction's first winning bid only, not its highest.
    let first_bids_only = q4.replace("state > previous ?", "false ?");
    assert_ne!(first_bids_only, q4);
    let file = eddy.scratch("q4-first-bids.yaml");
    std::fs::write(&file, first_bids_only).unwrap();
    let error = eddy.fails(&[
        "bench",
        "nexmark",
        "--query",
        "q4",
        "--events",
        "50000",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(error.contains("does not match the reference"), "{error}");
}
