//! fjall's journal cut at any byte (a torn write after a power loss, before the fsync) must
//! reopen to whole batches only: the store's epoch and every key agree, and more bytes never
//! give an older epoch. Complements `crash_mid_commit_keeps_whole_batches`, where a
//! SIGKILL rarely lands inside the journal write itself.

#![allow(clippy::unwrap_used)]

use std::{fs, io::Write, path::Path};

use eddy_state::{CommitBatch, StateStore};

const BATCHES: u64 = 12;
const CUTS: u64 = 24;

/// Batch `epoch` sets keys `0..keys(epoch)` of one state to the epoch (other keys are
/// deleted), so the sizes of batches differ.
fn keys(epoch: u64) -> u32 {
    [50, 400, 7, 1200, 90][epoch as usize % 5]
}

fn write_batches(dir: &Path) {
    let store = StateStore::open(dir).unwrap();
    for epoch in 1..=BATCHES {
        let mut batch = CommitBatch::new(epoch);
        for i in 0..1200 {
            if i < keys(epoch) {
                batch.put_state("svc", "st", &i.to_be_bytes(), format!("{epoch}").as_bytes());
            } else {
                batch.delete_state("svc", "st", &i.to_be_bytes());
            }
        }
        batch.set_source_offset("svc", "in", 0, epoch * 100);
        store.commit(batch).unwrap();
    }
}

/// Copies the store in `from` to `to`, with `journal` (the path of the journal in `from`)
/// replaced by `journal_bytes`.
fn copy_with_journal(from: &Path, to: &Path, journal: &Path, journal_bytes: &[u8]) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir(&target).unwrap();
            copy_with_journal(&entry.path(), &target, journal, journal_bytes);
        } else if entry.path() == journal {
            fs::File::create(&target).unwrap().write_all(journal_bytes).unwrap();
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[test]
fn a_journal_cut_at_any_byte_reopens_to_whole_batches() {
    let original = tempfile::tempdir().unwrap();
    write_batches(original.path());
    let journal = original.path().join("0.jnl");
    // fjall preallocates the journal; the written part ends at the last non-zero byte.
    let bytes = fs::read(&journal).unwrap();
    let end = bytes.iter().rposition(|&b| b != 0).unwrap() + 1;

    let mut random = 7;
    let mut cuts: Vec<usize> = (0..CUTS).map(|_| next_random(&mut random) as usize % end).collect();
    cuts.extend([0, 1, end - 1, end]);
    cuts.sort_unstable();
    let mut last_epoch = 0;
    let mut epochs_seen = Vec::new();
    for cut in cuts {
        let copy = tempfile::tempdir().unwrap();
        copy_with_journal(original.path(), copy.path(), &journal, &bytes[..cut]);
        let store = StateStore::open(copy.path()).unwrap();
        let epoch = store.epoch().unwrap();
        assert!(
            epoch >= last_epoch,
            "cut at {cut}: epoch {epoch} is older than {last_epoch} at a shorter cut"
        );
        let entries: Vec<(Vec<u8>, Vec<u8>)> =
            store.list("svc", "st").map(|e| e.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
        if epoch == 0 {
            assert!(entries.is_empty(), "cut at {cut}: keys without a committed epoch");
            assert_eq!(store.source_offset("svc", "in", 0).unwrap(), None);
        } else {
            let expected: Vec<(Vec<u8>, Vec<u8>)> = (0..keys(epoch))
                .map(|i| (i.to_be_bytes().to_vec(), format!("{epoch}").into_bytes()))
                .collect();
            assert_eq!(entries, expected, "cut at {cut} of {end}: state is not that of epoch {epoch}");
            assert_eq!(store.source_offset("svc", "in", 0).unwrap(), Some(epoch * 100));
        }
        if cut == end {
            assert_eq!(epoch, BATCHES, "the whole journal lost a batch");
        }
        last_epoch = epoch;
        epochs_seen.push(epoch);
    }
    epochs_seen.dedup();
    assert!(epochs_seen.len() > BATCHES as usize / 2, "cuts hit too few batches: {epochs_seen:?}");
}
