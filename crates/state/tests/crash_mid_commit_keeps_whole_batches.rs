//! A child process commits batches in a loop and is killed with SIGKILL at a random moment
//! (seeded); the reopened store must hold whole batches only, the last one acknowledged or
//! the one in flight, with the matching epoch, offsets and sink end. Rounds run in turn on
//! the same directory, so later rounds also recover what earlier rounds left behind (a new
//! directory every few rounds keeps the journal replay, slow in a debug build, short).

#![allow(clippy::unwrap_used)]

use std::{
    io::{BufRead, BufReader, Read},
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use eddy_state::{CommitBatch, StateStore};

const DIR_ENV: &str = "EDDY_STATE_TEST_CRASH_DIR";
/// Keys each batch sets, all to the batch's epoch.
const KEYS: u32 = 1_000;
const ROUNDS: u64 = 8;
/// Rounds run on one directory before starting over in a new one.
const ROUNDS_PER_DIR: u64 = 4;
/// Makes each batch about 45 KB in the journal (written through an 8 KiB buffer), so a kill
/// often lands inside one. Kept small: every reopen replays the journal, in a debug build.
const PADDING: &str = "................";

/// The value of every counter key after epoch `epoch`.
fn value(epoch: u64) -> Vec<u8> {
    format!("{epoch}:{PADDING}").into_bytes()
}

fn epoch_of(value: &[u8]) -> u64 {
    let text = std::str::from_utf8(value).unwrap();
    text.split_once(':').unwrap().0.parse().unwrap()
}

/// Child side: commits epoch after epoch until killed. Does nothing in a normal test run.
#[test]
fn child_process_commits_batches_until_killed() {
    let Some(dir) = std::env::var_os(DIR_ENV) else { return };
    let store = StateStore::open(Path::new(&dir)).unwrap();
    let mut epoch = store.epoch().unwrap();
    loop {
        epoch += 1;
        let value = value(epoch);
        let mut batch = CommitBatch::new(epoch);
        for i in 0..KEYS {
            batch.put_state("svc", "counters", format!("key-{i:05}").as_bytes(), &value);
        }
        // Exactly one marker key exists at any epoch: a torn delete or put would show.
        batch.delete_state("svc", "marker", format!("m-{}", epoch - 1).as_bytes());
        batch.put_state("svc", "marker", format!("m-{epoch}").as_bytes(), b"");
        batch.set_source_offset("svc", "in", 0, epoch * 10);
        batch.set_sink_end("out", 0, epoch * 7);
        store.commit(batch).unwrap();
        println!("COMMITTED {epoch}");
    }
}

/// splitmix64: a small seeded generator, so a failing round can be replayed.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Runs the child, kills it after `acks` acknowledged commits and `delay`, and returns the
/// last epoch it acknowledged.
fn run_child_and_kill(dir: &Path, acks: u64, delay: Duration) -> u64 {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_commits_batches_until_killed", "--nocapture", "--test-threads=1"])
        .env(DIR_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut last_ack = None;
    let mut seen = 0;
    let mut line = String::new();
    while seen < acks {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            let mut stderr = String::new();
            child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
            panic!("child exited before {acks} commits: {:?}\n{stderr}", child.wait());
        }
        if let Some(epoch) = line.trim().strip_prefix("COMMITTED ") {
            last_ack = Some(epoch.parse::<u64>().unwrap());
            seen += 1;
        }
    }
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Commits acknowledged while we slept.
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    for line in rest.lines() {
        if let Some(epoch) = line.trim().strip_prefix("COMMITTED ") {
            last_ack = Some(epoch.parse().unwrap());
        }
    }
    last_ack.unwrap()
}

/// Checks that the store holds exactly the whole batch of its epoch, and returns the epoch.
fn check_whole_batch(store: &StateStore) -> u64 {
    let epoch = store.epoch().unwrap();
    let mut count = 0;
    for entry in store.list("svc", "counters") {
        let (key, value) = entry.unwrap();
        assert_eq!(epoch_of(&value), epoch, "key {key:?} is from another epoch than {epoch}");
        count += 1;
    }
    assert_eq!(count, KEYS, "epoch {epoch}: counter keys missing");
    let markers: Vec<Vec<u8>> = store.list("svc", "marker").map(|e| e.unwrap().0.to_vec()).collect();
    assert_eq!(markers, [format!("m-{epoch}").into_bytes()], "epoch {epoch}");
    assert_eq!(store.source_offset("svc", "in", 0).unwrap(), Some(epoch * 10));
    assert_eq!(store.sink_ends().unwrap(), [("out".to_owned(), 0, epoch * 7)]);
    assert_eq!(
        store.states().unwrap(),
        [("svc".to_owned(), "counters".to_owned()), ("svc".to_owned(), "marker".to_owned())]
    );
    epoch
}

#[test]
fn a_killed_writer_leaves_only_whole_batches() {
    let mut dir = tempfile::tempdir().unwrap();
    let mut floor = 0;
    for seed in 0..ROUNDS {
        if seed > 0 && seed % ROUNDS_PER_DIR == 0 {
            dir = tempfile::tempdir().unwrap();
            floor = 0;
        }
        let mut random = seed;
        let acks = 1 + next_random(&mut random) % 12;
        let delay = Duration::from_micros(next_random(&mut random) % 10_000);
        let acked = run_child_and_kill(dir.path(), acks, delay);
        assert!(acked > floor, "seed {seed}: acknowledged {acked} after {floor}");

        let store = StateStore::open(dir.path()).unwrap();
        let epoch = check_whole_batch(&store);
        assert!(
            epoch == acked || epoch == acked + 1,
            "seed {seed}: recovered epoch {epoch}, but {acked} was the last acknowledged"
        );
        floor = epoch;
        eprintln!("seed {seed}: killed after {acks} commits + {delay:?}, acked {acked}, recovered {epoch}");
    }
    // Still writable after all that.
    let store = StateStore::open(dir.path()).unwrap();
    let mut batch = CommitBatch::new(floor + 1);
    batch.put_state("svc", "after", b"k", b"v");
    store.commit(batch).unwrap();
    assert_eq!(store.epoch().unwrap(), floor + 1);
}
