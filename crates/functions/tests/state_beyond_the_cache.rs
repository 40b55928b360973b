//! Function state larger than the cache: each shard keeps the states of four addresses
//! in memory while thousands are called, so addresses are dropped after nearly every epoch
//! and read back from the store on their next call. Six runs, each over a sixth of the input
//! and on another shard count, start from what the one before committed; at the end
//! every address has counted and summed every visit exactly once.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{open, produce};
use eddy_functions::Options;
use eddy_functions::native::{Context, Function, NativeFunctions};
use eddy_statefun::state_spec::{Expiration, StateSpec};
use eddy_statefun::{Address, TypedValue};

const IDS: usize = 1500;
const RECORDS: usize = 9000;
const HOPS: usize = 4;
const CACHE_ADDRESSES: usize = 4;

/// Where a visit to `id` sends the message next.
fn next_id(id: usize) -> usize {
    (id * 7 + 1) % IDS
}

/// Counts and sums its visits, then sends the message on while it has hops left.
struct Tally;

impl Function for Tally {
    fn states(&self) -> Vec<StateSpec> {
        let long = |name: &str| StateSpec {
            name: name.to_owned(),
            typename: "io.statefun.types/long".to_owned(),
            expiration: Expiration::Never,
        };
        vec![long("visits"), long("sum")]
    }

    fn invoke(&self, context: &mut Context<'_>, message: TypedValue) -> Result<(), String> {
        let read = |context: &Context<'_>, name: &str| {
            context.get(name).map(TypedValue::as_long).transpose().map_err(|e| e.to_string())
        };
        let (visits, sum) = (read(context, "visits")?, read(context, "sum")?);
        let text = message.as_string().map_err(|error| error.to_string())?;
        let (amount, hops) = text.split_once(' ').ok_or("no hop count")?;
        let amount: i64 = amount.parse().map_err(|_| "a bad amount")?;
        let hops: usize = hops.parse().map_err(|_| "a bad hop count")?;
        context.set("visits", TypedValue::long(visits.unwrap_or(0) + 1));
        context.set("sum", TypedValue::long(sum.unwrap_or(0) + amount));
        if hops > 0 {
            let id: usize = context.address().id.parse().map_err(|_| "an id that is no number")?;
            let next = Address::new(context.address().function_type.clone(), next_id(id).to_string())
                .map_err(|error| error.to_string())?;
            context.send(&next, TypedValue::string(&format!("{amount} {}", hops - 1)));
        }
        Ok(())
    }
}

#[test]
fn counts_stay_exact_when_the_cache_holds_few_of_the_addresses() {
    let module = common::ingress_to_playground_egress(
        "example/amounts",
        "amounts",
        "io.statefun.types/string",
        "example/tally",
    );
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..RECORDS).map(|record| (record * 13 % IDS).to_string()).collect();
    let records: Vec<(&str, Vec<u8>)> = (0..RECORDS)
        .map(|record| {
            let text = format!("{} {HOPS}", record % 100);
            (ids[record].as_str(), TypedValue::string(&text).value.unwrap().to_vec())
        })
        .collect();
    // A sixth of the records before each run; each run goes until idle.
    let mut messages = Vec::new();
    for (run, (shards, part)) in [3, 2, 4, 1, 3, 4].into_iter().zip(records.chunks(RECORDS / 6)).enumerate() {
        let (log, store) = open(dir.path());
        produce(&log, "amounts", 4, part);
        let options = Options {
            until_idle: true,
            commit_interval: Duration::from_millis(1),
            // Few messages queued at a time, so that a run takes many epochs.
            max_queued: 64,
            shards,
            state_cache_addresses: CACHE_ADDRESSES,
            ..Options::default()
        };
        let running = eddy_functions::start_with(&module, log, store, options, |_| {
            Arc::new(NativeFunctions::new().with("example/tally".parse().unwrap(), Tally))
        })
        .unwrap();
        let summary = running.wait().unwrap();
        messages.push(summary.messages);
        eprintln!("run {run} ({shards} shards): {} messages in {} epochs", summary.messages, summary.epochs);
    }
    let visits = (RECORDS * (HOPS + 1)) as u64;
    assert_eq!(messages.iter().sum::<u64>(), visits, "{messages:?} messages for {visits} visits");

    let (_, store) = open(dir.path());
    let mut expected = vec![(0_i64, 0_i64); IDS];
    for (record, id) in ids.iter().enumerate() {
        let mut id: usize = id.parse().unwrap();
        for _ in 0..=HOPS {
            expected[id].0 += 1;
            expected[id].1 += (record % 100) as i64;
            id = next_id(id);
        }
    }
    let stored = |id: usize, state: &str| -> i64 {
        let Some(bytes) = store.get("example/tally", state, id.to_string().as_bytes()).unwrap() else {
            return 0;
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        value["value"].as_i64().unwrap()
    };
    for (id, &(visits, sum)) in expected.iter().enumerate() {
        assert_eq!((stored(id, "visits"), stored(id, "sum")), (visits, sum), "visits and sum of id {id}");
    }
}
