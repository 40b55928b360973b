//! Key groups: how function addresses are spread over the runtime's shards.
//!
//! Every function type is keyed by id. An id falls into one of [`KEY_GROUPS`] key groups (the
//! Kafka partitioner's murmur2 of the id's bytes, as Flink keys a stream into its maximum
//! parallelism), and key group `g` belongs to shard `g % shards`. A shard owns the addresses
//! of its key groups: their invocations, their state cache and the delayed messages they
//! sent. A message for an address of another shard travels to it over a channel.
//!
//! Ingress partition `p` is read by shard `p % shards`. The ingress record's key is the id and
//! a keyed record lies in partition `murmur2(key) % partitions`, so when the shard count
//! divides both [`KEY_GROUPS`] and the partition count, a shard reads exactly the records of
//! its own addresses and ingress messages never cross shards.

use eddy_statefun::Address;
use eddy_types::partition_for_key;

/// Key groups, fixed: the unit by which addresses are assigned to shards (Flink's default
/// maximum parallelism).
pub const KEY_GROUPS: u32 = 128;

/// The key group of a function id.
pub fn key_group(id: &str) -> u32 {
    partition_for_key(id.as_bytes(), KEY_GROUPS)
}

/// The shard that owns key group `key_group` among `shards`.
pub fn shard_of_key_group(key_group: u32, shards: usize) -> usize {
    key_group as usize % shards.max(1)
}

/// The shard that owns `address` among `shards`.
pub(crate) fn owner(address: &Address, shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    shard_of_key_group(key_group(&address.id), shards)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ids_spread_over_every_shard_and_keep_their_owner() {
        for shards in 1..=4 {
            let mut counts = vec![0_usize; shards];
            for id in 0..10_000 {
                let address: Address = format!("example/counter/user-{id}").parse().unwrap();
                let shard = owner(&address, shards);
                assert_eq!(shard, owner(&address, shards));
                counts[shard] += 1;
            }
            let fair = 10_000 / shards;
            assert!(counts.iter().all(|&count| count > fair * 8 / 10), "{shards} shards: {counts:?}");
        }
    }

    #[test]
    fn a_keyed_ingress_partition_holds_only_ids_of_its_shard_when_the_counts_divide() {
        for (partitions, shards) in [(2, 2), (4, 2), (8, 4), (4, 4)] {
            for id in 0..2_000 {
                let id = format!("k{id}");
                let partition = partition_for_key(id.as_bytes(), partitions) as usize;
                let address: Address = format!("example/counter/{id}").parse().unwrap();
                assert_eq!(partition % shards, owner(&address, shards), "{id}: {partitions}/{shards}");
            }
        }
    }

    #[test]
    fn the_function_type_does_not_move_an_id() {
        let a: Address = "example/a/same".parse().unwrap();
        let b: Address = "other/b/same".parse().unwrap();
        assert_eq!(owner(&a, 3), owner(&b, 3));
    }
}
