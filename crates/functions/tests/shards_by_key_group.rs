//! Function addresses spread over shards by key group. Chains of messages hop from id to id,
//! so nearly every hop crosses shards; runs are stopped part-way and restarted with another
//! shard count each time (3, 2, 1, then 4 until idle). At the end every address has counted
//! every visit exactly once and every chain has ended exactly once.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{open, produce, read_topic};
use eddy_functions::Options;
use eddy_functions::native::{Context, Function, NativeFunctions};
use eddy_statefun::state_spec::{Expiration, StateSpec};
use eddy_statefun::{Address, Module, TypedValue};

const IDS: usize = 64;
const CHAINS: usize = 2000;
const HOPS: usize = 200;

/// Counts a visit, then passes the chain on to the next id, or reports its end.
struct Relay {
    /// The threads that ran it.
    threads: Arc<Mutex<HashSet<String>>>,
}

impl Function for Relay {
    fn states(&self) -> Vec<StateSpec> {
        let typename = "io.statefun.types/long".to_owned();
        vec![StateSpec { name: "visits".to_owned(), typename, expiration: Expiration::Never }]
    }

    fn invoke(&self, context: &mut Context<'_>, message: TypedValue) -> Result<(), String> {
        if let Some(name) = std::thread::current().name() {
            self.threads.lock().unwrap().insert(name.to_owned());
        }
        let visits = context.get("visits").map(TypedValue::as_long).transpose().map_err(|e| e.to_string())?;
        context.set("visits", TypedValue::long(visits.unwrap_or(0) + 1));
        let text = message.as_string().map_err(|error| error.to_string())?;
        let (chain, left) = text.split_once(' ').ok_or("no hop count")?;
        let left: usize = left.parse().map_err(|_| "a bad hop count")?;
        if left == 0 {
            let end = serde_json::json!({"topic": "ends", "payload": chain});
            let end = TypedValue::json("io.statefun.playground/EgressRecord", &end).unwrap();
            context.egress(&"io.statefun.playground/egress".parse().unwrap(), end);
            return Ok(());
        }
        let id: usize = context.address().id.parse().map_err(|_| "an id that is no number")?;
        let next = Address::new(context.address().function_type.clone(), ((id + 1) % IDS).to_string())
            .map_err(|error| error.to_string())?;
        context.send(&next, TypedValue::string(&format!("{chain} {}", left - 1)));
        Ok(())
    }
}

fn relay_module() -> Module {
    common::ingress_to_playground_egress(
        "example/chains",
        "chains",
        "io.statefun.types/string",
        "example/relay",
    )
}

#[test]
fn chains_across_shards_count_exactly_through_restarts_with_other_shard_counts() {
    let module = relay_module();
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..CHAINS).map(|chain| (chain % IDS).to_string()).collect();
    let chains: Vec<(&str, Vec<u8>)> = (0..CHAINS)
        .map(|chain| {
            (ids[chain].as_str(), TypedValue::string(&format!("c{chain} {HOPS}")).value.unwrap().to_vec())
        })
        .collect();
    {
        let (log, _) = open(dir.path());
        produce(&log, "chains", 4, &chains);
    }
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let mut stopped_part_way = Vec::new();
    for (run, shards) in [3, 2, 1, 4].into_iter().enumerate() {
        let last = run == 3;
        let (log, store) = open(dir.path());
        let functions = NativeFunctions::new()
            .with("example/relay".parse().unwrap(), Relay { threads: Arc::clone(&threads) });
        let options = Options {
            until_idle: last,
            commit_interval: Duration::from_millis(5),
            shards,
            ..Options::default()
        };
        let running =
            eddy_functions::start_with(&module, Arc::clone(&log), Arc::clone(&store), options, |_| {
                Arc::new(functions)
            })
            .unwrap();
        if !last {
            std::thread::sleep(Duration::from_millis(60));
            running.handle().shutdown();
        }
        let summary = running.wait().unwrap();
        let ended = read_topic(&log, "ends").len();
        if !last {
            stopped_part_way.push(ended < CHAINS);
        }
        eprintln!("run {run} ({shards} shards): {} messages, {ended} chains ended so far", summary.messages);
    }
    assert!(
        stopped_part_way.iter().any(|&part_way| part_way),
        "no run stopped part-way: {stopped_part_way:?}"
    );

    let (log, store) = open(dir.path());
    let mut ends: BTreeMap<String, usize> = BTreeMap::new();
    for (_, chain) in read_topic(&log, "ends") {
        *ends.entry(chain).or_default() += 1;
    }
    assert_eq!(ends.len(), CHAINS, "every chain ends");
    assert!(ends.values().all(|&count| count == 1), "a chain ended twice: {ends:?}");
    let mut expected = vec![0_i64; IDS];
    for chain in 0..CHAINS {
        for hop in 0..=HOPS {
            expected[(chain + hop) % IDS] += 1;
        }
    }
    for (id, expected) in expected.iter().enumerate() {
        let stored = store.get("example/relay", "visits", id.to_string().as_bytes()).unwrap().unwrap();
        let stored: serde_json::Value = serde_json::from_slice(&stored).unwrap();
        assert_eq!(stored["value"], *expected, "visits of id {id}");
    }
    let threads = threads.lock().unwrap();
    assert!(
        threads.iter().filter(|name| *name == "eddy-functions" || name.starts_with("eddy-shard-")).count()
            >= 4,
        "functions ran on the threads of every shard: {threads:?}"
    );
    assert!(
        store.list("~functions", "in-transit").next().is_none(),
        "nothing is in transit after a quiescent last epoch"
    );
}
