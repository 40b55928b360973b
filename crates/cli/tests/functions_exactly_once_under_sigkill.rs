//! A Stateful Functions module, exactly once: `eddy run module.yaml` drives the Python SDK's
//! greeter and its shopping cart and inventory, which message each other
//! (`crates/statefun/tests/python/functions.py`), over HTTP and is killed with SIGKILL at
//! random moments (seeded). The visits arrive in rounds, one before each run, so that every
//! run has work of its own to be killed in, however fast the ones before it went. Once, the
//! endpoint itself is restarted while a run is calling it (on the same port, as its operators
//! would), and Eddy must carry on. The killed runs spread the addresses over 1, 2 and 3 shards
//! in turn, so every restart changes the key-group split, and keep the state of few addresses in
//! memory (`--state-cache-keys 6` of about 50), so most calls read it back from the store.
//! After every kill the greetings and the visit counts come
//! from the same committed epochs; in the end every greeting is on the egress topic exactly
//! once, in order per user, and every count is exact; every item added to a cart was
//! reserved once from the inventory's stock and has one receipt.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::net::UnixStream;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use common::{Eddy, PythonFunctions};
use eddy_log::{Log, Options, TopicConfig};
use eddy_types::{Record, TopicName, partition_for_key};

const USERS: usize = 40;
const VISITS: usize = 250;
const KILLS: usize = 6;
/// The run during which the Python endpoint is restarted.
const ENDPOINT_RESTART: usize = KILLS / 2;
const SEED: u64 = 0x0f00_d5ee_d123;
/// Items in the inventory, and each one's stock before any cart takes from it.
const ITEMS: usize = 7;
const STOCK: u64 = 1_000_000;

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

fn user(index: usize) -> String {
    format!("user{index:02}")
}

/// `io.statefun.types/string` bytes: a protobuf `StringWrapper { value }` (short values only).
fn string_value(text: &str) -> Vec<u8> {
    let mut bytes = vec![0x0a, u8::try_from(text.len()).unwrap()];
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// Writes round `round` of `rounds` of the visits to the ingress topic, every user's in
/// order, users interleaved.
fn produce_visits(eddy: &Eddy, round: usize, rounds: usize) {
    let log = Log::open(eddy.data_dir().join("log"), Options::default()).unwrap();
    let name = TopicName::new("visits").unwrap();
    let topic = log.topic(name.as_str()).unwrap();
    for _ in VISITS * round / rounds..VISITS * (round + 1) / rounds {
        for index in 0..USERS {
            let key = user(index);
            let partition = topic.partition(partition_for_key(key.as_bytes(), 4)).unwrap();
            let value = string_value(&key.to_uppercase());
            partition.append([Record::new(Some(key.into_bytes()), value, 0).as_ref()]).unwrap();
        }
    }
    for partition in topic.partitions().unwrap() {
        partition.commit().unwrap();
    }
}

/// Appends keyed JSON records to `topic` (created with four partitions when missing).
fn produce_json(log: &Log, topic: &str, records: &[(String, serde_json::Value)]) {
    let name = TopicName::new(topic).unwrap();
    let topic = log
        .topic(name.as_str())
        .or_else(|_| log.create_topic(&name, TopicConfig::with_partitions(4)))
        .unwrap();
    for (key, value) in records {
        let partition = topic.partition(partition_for_key(key.as_bytes(), 4)).unwrap();
        let value = serde_json::to_vec(value).unwrap();
        partition.append([Record::new(Some(key.clone().into_bytes()), value, 0).as_ref()]).unwrap();
    }
    for partition in topic.partitions().unwrap() {
        partition.commit().unwrap();
    }
}

fn item(index: usize) -> String {
    format!("item{index}")
}

/// Round `round`'s additions to carts: each user adds one item, `round + 1` of it.
fn cart_additions(round: usize) -> Vec<(String, String, u64)> {
    (0..USERS).map(|index| (user(index), item((index + round) % ITEMS), round as u64 + 1)).collect()
}

/// The inventory's stock, to be taken in by a run of its own before any cart asks for it (the
/// ingress topics are read independently of each other).
fn produce_restock(eddy: &Eddy) {
    let log = Log::open(eddy.data_dir().join("log"), Options::default()).unwrap();
    let restock: Vec<(String, serde_json::Value)> =
        (0..ITEMS).map(|index| (item(index), serde_json::json!({ "quantity": STOCK }))).collect();
    produce_json(&log, "restock", &restock);
    produce_json(&log, "add-to-cart", &[]);
    produce_json(&log, "visits", &[]);
}

/// Round `round`'s additions to carts.
fn produce_shopping(eddy: &Eddy, round: usize) {
    let log = Log::open(eddy.data_dir().join("log"), Options::default()).unwrap();
    let additions: Vec<(String, serde_json::Value)> = cart_additions(round)
        .into_iter()
        .map(|(user, item, quantity)| (user, serde_json::json!({ "item": item, "quantity": quantity })))
        .collect();
    produce_json(&log, "add-to-cart", &additions);
}

/// After the last run: one receipt per addition, all in stock, and each item's stock less
/// exactly what was reserved.
fn check_shopping(eddy: &Eddy, rounds: usize) {
    let output = String::from_utf8(eddy.ok(&["consume", "receipts", "-B", "-d"])).unwrap();
    let mut receipts: Vec<&str> = output.lines().collect();
    receipts.sort_unstable();
    let mut expected: Vec<String> = (0..rounds)
        .flat_map(cart_additions)
        .map(|(user, item, quantity)| format!("{user} {item} x{quantity} IN_STOCK"))
        .collect();
    expected.sort_unstable();
    assert_eq!(receipts, expected, "one receipt per item added to a cart");
    let mut reserved = [0u64; ITEMS];
    for (_, item, quantity) in (0..rounds).flat_map(cart_additions) {
        reserved[item.strip_prefix("item").unwrap().parse::<usize>().unwrap()] += quantity;
    }
    for (index, reserved) in reserved.iter().enumerate() {
        let stock = eddy.ok(&["state", "get", "shop/inventory", "stock", &item(index)]);
        let stock: serde_json::Value = serde_json::from_slice(&stock).unwrap();
        assert_eq!(stock["value"].as_u64(), Some(STOCK - reserved), "stock of {}: {stock}", item(index));
    }
}

/// Greetings per user, in topic order.
fn greetings(eddy: &Eddy) -> BTreeMap<String, Vec<String>> {
    let output = String::from_utf8(eddy.ok(&["consume", "greetings", "-B", "-d", "-k"])).unwrap();
    let mut greetings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in output.lines() {
        let (key, value) = line.split_once(' ').unwrap();
        let key = key.strip_prefix('[').and_then(|key| key.strip_suffix(']')).unwrap();
        greetings.entry(key.to_owned()).or_default().push(value.to_owned());
    }
    greetings
}

/// The committed visit counts per user.
fn counts(eddy: &Eddy) -> BTreeMap<String, u64> {
    let output = eddy.run(&["state", "list", "example/greeter", "seen"], b"");
    if !output.status.success() {
        return BTreeMap::new(); // nothing committed yet
    }
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (key, json) = line.split_once(' ').unwrap();
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(value["typename"], "io.statefun.types/int");
            (key.to_owned(), value["value"].as_u64().unwrap())
        })
        .collect()
}

/// What a killed run left: per user, greetings 1..=n exactly once and in order, with `seen`
/// = n. Returns how many greetings there are.
fn check_committed_epoch(eddy: &Eddy, kill: usize) -> usize {
    let greetings = greetings(eddy);
    let counts = counts(eddy);
    for (user, said) in &greetings {
        let name = user.to_uppercase();
        let expected: Vec<String> =
            (1..=said.len()).map(|n| format!("Hello {name}, visit number {n}")).collect();
        assert_eq!(said, &expected, "greetings of {user} after kill {kill}");
        assert_eq!(counts.get(user).copied(), Some(said.len() as u64), "state of {user} after kill {kill}");
    }
    assert_eq!(counts.len(), greetings.len(), "state and greetings of different epochs after kill {kill}");
    greetings.values().map(Vec::len).sum()
}

/// Greetings committed, asked through the running process; `None` while it is not serving.
fn committed_greetings(eddy: &Eddy) -> Option<u64> {
    UnixStream::connect(eddy.data_dir().join("eddy.sock")).ok()?;
    let output = eddy.run(&["topic", "describe", "greetings"], b"");
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).unwrap();
    let rows = text.lines().skip_while(|line| !line.starts_with("PARTITION")).skip(1);
    Some(rows.map(|row| row.split_whitespace().nth(3).unwrap().parse::<u64>().unwrap()).sum())
}

#[test]
fn greetings_counts_and_stock_are_exact_after_repeated_sigkills() {
    let mut python = PythonFunctions::start();
    let eddy = Eddy::new();
    let module = eddy.scratch("module.yaml");
    std::fs::write(
        &module,
        format!(
            "kind: io.statefun.endpoints.v2/http\nspec:\n  functions: example/*\n  \
             urlPathTemplate: http://127.0.0.1:{port}/{{function.name}}\n  maxNumBatchRequests: 20\n---\n\
             kind: io.statefun.endpoints.v2/http\nspec:\n  functions: shop/*\n  \
             urlPathTemplate: http://127.0.0.1:{port}/shop-{{function.name}}\n---\n\
             kind: io.statefun.kafka.v1/ingress\nspec:\n  id: example/visits\n  startupPosition:\n    type: earliest\n  \
             topics:\n    - topic: visits\n      valueType: io.statefun.types/string\n      targets: [example/greeter]\n---\n\
             kind: io.statefun.kafka.v1/ingress\nspec:\n  id: shop/requests\n  startupPosition:\n    type: earliest\n  \
             topics:\n    - topic: restock\n      valueType: shop/Restock\n      targets: [shop/inventory]\n    \
             - topic: add-to-cart\n      valueType: shop/AddToCart\n      targets: [shop/cart]\n---\n\
             kind: io.statefun.kafka.v1/egress\nspec:\n  id: example/greetings\n---\n\
             kind: io.statefun.kafka.v1/egress\nspec:\n  id: shop/receipts\n",
            port = python.port
        ),
    )
    .unwrap();
    let module = module.to_str().unwrap().to_owned();
    let total = USERS * VISITS;
    // One round of visits before each killed run and one before the last run.
    let rounds = KILLS + 1;

    produce_restock(&eddy);
    eddy.ok(&["run", &module, "--until-idle", "--commit-interval", "20ms"]);
    let mut rng = Rng(SEED);
    let mut progress = Vec::with_capacity(KILLS);
    for kill in 0..KILLS {
        produce_visits(&eddy, kill, rounds);
        produce_shopping(&eddy, kill);
        // Each run spreads the addresses over another number of shards (1 to 3), so a restart
        // also takes up in-flight and in-transit messages of a run with another key-group split.
        let shards = (1 + kill % 3).to_string();
        let mut run = eddy
            .command(&[
                "run",
                &module,
                "--commit-interval",
                "20ms",
                "--workers",
                &shards,
                "--state-cache-keys",
                "6",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a random moment after this run committed greetings of its own.
        let before = progress.last().copied().unwrap_or(0) as u64;
        let deadline = Instant::now() + Duration::from_secs(120);
        while committed_greetings(&eddy).is_none_or(|done| done <= before) {
            assert!(run.try_wait().unwrap().is_none(), "eddy run exited before kill {kill}");
            assert!(Instant::now() < deadline, "run {kill} committed nothing in 120 s: {progress:?}");
            thread::sleep(Duration::from_millis(5));
        }
        if kill == ENDPOINT_RESTART {
            // Requests in flight fail and are retried against the new process.
            python.restart();
        }
        thread::sleep(Duration::from_millis(rng.below(150)));
        assert!(run.try_wait().unwrap().is_none(), "eddy run exited before kill {kill}");
        run.kill().unwrap(); // SIGKILL
        run.wait().unwrap();
        progress.push(check_committed_epoch(&eddy, kill));
    }
    eprintln!("greetings committed after each kill: {progress:?} of {total}");
    assert!(progress.is_sorted(), "committed output never shrinks: {progress:?}");
    let mid_stream = progress.iter().filter(|&&done| done > 0 && done < total).count();
    assert!(mid_stream >= KILLS / 2, "most kills must land mid-stream: {progress:?}");

    produce_visits(&eddy, KILLS, rounds);
    produce_shopping(&eddy, KILLS);
    eddy.ok(&["run", &module, "--until-idle", "--commit-interval", "20ms"]);
    check_shopping(&eddy, rounds);
    assert_eq!(check_committed_epoch(&eddy, KILLS), total, "every greeting exactly once");
    let counts = counts(&eddy);
    assert_eq!(counts.len(), USERS);
    assert!(counts.values().all(|&seen| seen == VISITS as u64), "{counts:?}");
    // Every user visited more than twice: each reminder was scheduled and cancelled.
    let pending = eddy.run(&["state", "list", "~functions", "delayed"], b"");
    assert!(!pending.status.success() || pending.stdout.is_empty(), "no reminder pending");
}
