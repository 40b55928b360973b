//! The Nexmark benchmark's event generator.
//!
//! Nexmark models an online auction site: a stream of new [`Person`]s, new [`Auction`]s
//! and [`Bid`]s on them, mixed 1 : 3 : 46 in every 50 events. This crate follows the
//! reference generators (Apache Beam's and Flink's `NexmarkGenerator`): the same field
//! layouts, id rules (dense ids from 1000, bids on recent or hot auctions by recent or hot
//! persons), value distributions (prices, categories, names, cities, states, channels) and
//! `extra` padding to the average sizes (200, 500 and 100 bytes). Event times advance from a
//! base time at a fixed number of events per second of event time.
//!
//! It is deterministic: event number `n` depends only on the [`Config`] (seed included) and
//! `n`, and can be made without making the events before it. A source can therefore resume
//! at any offset and regenerate exactly what it produced before a crash, or be split into
//! parallel sources (say, source `p` of `P` makes the events numbered `p`, `p + P`, …) whose
//! union is the single stream.
//!
//! [`queries`] holds reference answers of the queries Eddy runs, computed straight from the
//! generator, to check a run's output.
//!
//! What it is not: the queries' dataflows (those are `benches/nexmark/qN.yaml`), a rate
//! limiter (timestamps are event time; how fast events are emitted is up to the caller), or
//! the reference's exact random sequence (the
//! choices follow the reference rules, the random numbers come from a faster generator).
//!
//! Records are JSON in the shape of the Flink and RisingWave Nexmark tables, all kinds in
//! one stream (see [`Event::write_json`]):
//!
//! ```
//! use eddy_nexmark::{Config, Event, EventKind, Generator};
//!
//! let generator = Generator::new(Config { seed: 42, base_time: 1_700_000_000_000, ..Config::default() });
//! let mut event = Event::new();
//! let mut json = Vec::new();
//! for number in 0..50 {
//!     generator.generate(number, &mut event); // reuses `event`'s strings
//!     json.clear();
//!     event.write_json(&mut json);
//!     // key: none; value: `json`; record timestamp: `event.date_time()`
//! }
//! // The same JSON as a `serde_json::Value`, built without writing and parsing text:
//! assert_eq!(event.to_value(), serde_json::from_slice::<serde_json::Value>(&json).unwrap());
//! generator.generate(0, &mut event);
//! assert_eq!(event.kind(), EventKind::Person);
//! assert_eq!(event.person().map(|p| p.id), Some(1000));
//! assert_eq!(generator.timestamp(10_000), 1_700_000_001_000); // 10,000 events/s by default
//! ```

mod config;
mod event;
mod generator;
mod json;
pub mod queries;
mod rng;
mod value;

pub use config::{
    AUCTION_ID_LEAD, Config, FIRST_AUCTION_ID, FIRST_CATEGORY_ID, FIRST_PERSON_ID, HOT_BATCH,
    HOT_CHANNELS_RATIO, NUM_CATEGORIES, NUM_CHANNELS, PERSON_ID_LEAD,
};
pub use event::{Auction, Bid, Event, EventKind, EventRef, Person};
pub use generator::Generator;
pub use value::EventFields;
