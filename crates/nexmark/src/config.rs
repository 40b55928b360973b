//! [`Config`]: what the generator makes, with the Nexmark reference defaults.
//!
//! Every field may be left out of a serialized config (kebab-case, unknown fields refused);
//! each field's doc states its default. Settings that would divide by zero are `NonZero*`,
//! so every `Config` that exists is a valid one.

use std::num::{NonZeroU32, NonZeroU64};

use serde::{Deserialize, Serialize};

/// Ids of the first person and the first auction, as in the reference generator: they start
/// above zero so that small data sets still match the queries' constants.
pub const FIRST_PERSON_ID: u64 = 1000;
/// See [`FIRST_PERSON_ID`].
pub const FIRST_AUCTION_ID: u64 = 1000;
/// The first auction category; categories are `FIRST_CATEGORY_ID..FIRST_CATEGORY_ID + NUM_CATEGORIES`.
pub const FIRST_CATEGORY_ID: u64 = 10;
/// How many auction categories there are.
pub const NUM_CATEGORIES: u64 = 5;
/// How many person ids past the last person created a seller or bidder may refer to (the
/// reference lets references run a little ahead of creation, as if events were reordered).
pub const PERSON_ID_LEAD: u64 = 10;
/// How many auction ids past the last auction created a bid may refer to.
pub const AUCTION_ID_LEAD: u64 = 10;
/// Hot sellers, bidders and auctions are the first (for bidders: second) of each batch of
/// this many ids.
pub const HOT_BATCH: u64 = 100;
/// One bid in this many goes to one of the long tail of channels, the others to a hot one.
pub const HOT_CHANNELS_RATIO: u64 = 2;
/// How many channels the long tail holds.
pub const NUM_CHANNELS: u32 = 10_000;

/// What the generator makes: the event mix, the rates and sizes, the seed and the clock.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Config {
    /// Seeds every random choice: the same seed (and settings) gives the same events.
    /// Default 0.
    pub seed: u64,
    /// Event time of the first event, in milliseconds since the Unix epoch. Default 0; a
    /// source sets it (the `eddy produce --nexmark` default is the current time).
    pub base_time: i64,
    /// Events per second of event time: event `n` happens `n / events-per-second` seconds
    /// after `base-time`. Default 10,000.
    pub events_per_second: NonZeroU64,
    /// Events come in groups of this size whose ids (and so timestamps) are shuffled within
    /// the group; 1 keeps them in order. Default 1.
    pub out_of_order_group_size: NonZeroU64,
    /// Persons per `person + auction + bid` events. Default 1.
    pub person_proportion: NonZeroU32,
    /// Auctions per `person + auction + bid` events. Default 3.
    pub auction_proportion: NonZeroU32,
    /// Bids per `person + auction + bid` events. Default 46.
    pub bid_proportion: u32,
    /// Sellers and bidders that are not hot are drawn from the latest this many persons.
    /// Default 1,000.
    pub active_people: u32,
    /// Bids that are not for a hot auction are drawn from the latest this many auctions.
    /// Default 100; it also sets how long auctions last.
    pub in_flight_auctions: u32,
    /// One auction in this many is by a random active person, the others by a hot seller.
    /// Default 4.
    pub hot_sellers_ratio: NonZeroU32,
    /// One bid in this many is for a random in-flight auction, the others for a hot auction.
    /// Default 2.
    pub hot_auction_ratio: NonZeroU32,
    /// One bid in this many is by a random active person, the others by a hot bidder.
    /// Default 4.
    pub hot_bidders_ratio: NonZeroU32,
    /// The `extra` field pads persons to this average size in bytes. Default 200.
    pub avg_person_byte_size: u32,
    /// The `extra` field pads auctions to this average size in bytes. Default 500.
    pub avg_auction_byte_size: u32,
    /// The `extra` field pads bids to this average size in bytes. Default 100.
    pub avg_bid_byte_size: u32,
}

/// `NonZero` constants for the defaults, checked at compile time.
const fn non_zero_u32(value: u32) -> NonZeroU32 {
    NonZeroU32::new(value).expect("a non-zero constant")
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 0,
            base_time: 0,
            events_per_second: const { NonZeroU64::new(10_000).expect("a non-zero constant") },
            out_of_order_group_size: NonZeroU64::MIN,
            person_proportion: NonZeroU32::MIN,
            auction_proportion: const { non_zero_u32(3) },
            bid_proportion: 46,
            active_people: 1000,
            in_flight_auctions: 100,
            hot_sellers_ratio: const { non_zero_u32(4) },
            hot_auction_ratio: const { non_zero_u32(2) },
            hot_bidders_ratio: const { non_zero_u32(4) },
            avg_person_byte_size: 200,
            avg_auction_byte_size: 500,
            avg_bid_byte_size: 100,
        }
    }
}

impl Config {
    /// `person + auction + bid` proportions: the length of one cycle of the event mix (50).
    pub fn total_proportion(&self) -> u64 {
        u64::from(self.person_proportion.get())
            + u64::from(self.auction_proportion.get())
            + u64::from(self.bid_proportion)
    }
}
