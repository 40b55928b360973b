//! [`Generator`]: event number → event, by the reference rules.
//!
//! Event number `n` (its position in the stream) maps to an event id (the same number unless
//! events are shuffled in out-of-order groups). The id alone decides the kind (`id mod 50`:
//! 1 person, then 3 auctions, then 46 bids), the ids of the person or auction it creates, the
//! persons and auctions it may refer to, and seeds its random choices; the id also gives
//! its event time: `base-time + id × 1,000,000 / events-per-second µs`.
//!
//! ```text
//! id mod 50:   0      1  2  3    4 … 49
//! kind:        person auctions   bids
//! person id:   1000 + (persons created so far - 1)
//! auction id:  1000 + (auctions created so far - 1)
//! seller:      3/4 the hot seller (first person of the latest batch of 100),
//!              1/4 one of the latest 1,000 persons, or up to 10 not yet created
//! bid auction: 1/2 the hot auction (first auction of the latest batch of 100),
//!              1/2 one of the latest 100 auctions, or up to 10 not yet created
//! bidder:      3/4 the hot bidder (second person of the latest batch of 100),
//!              1/4 like a random seller
//! ```

use std::ops::Range;

use crate::{
    config::{
        AUCTION_ID_LEAD, Config, FIRST_AUCTION_ID, FIRST_CATEGORY_ID, FIRST_PERSON_ID, HOT_BATCH,
        HOT_CHANNELS_RATIO, NUM_CATEGORIES, NUM_CHANNELS, PERSON_ID_LEAD,
    },
    event::{Auction, Bid, Event, EventKind, Person},
    rng::{Rng, SeedKey},
};

const US_STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const US_CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
const FIRST_NAMES: [&str; 11] =
    ["Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"];
const LAST_NAMES: [&str; 9] =
    ["Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"];
const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];

/// Random streams of events, of long-tail channels' URLs and of hot channels' URLs.
const EVENTS: u64 = 0;
const CHANNEL_URLS: u64 = 1;
const HOT_URLS: u64 = 2;

/// Makes the Nexmark events of one [`Config`]. Cheap to share: [`generate`](Self::generate)
/// takes `&self`, and any event can be made on its own.
#[derive(Clone, Debug)]
pub struct Generator {
    config: Config,
    total_proportion: u64,
    person_proportion: u64,
    auction_proportion: u64,
    inter_event_delay_us: f64,
    /// Events until `in-flight-auctions` more auctions exist: sets auction lengths.
    events_for_auctions: u64,
    events_key: SeedKey,
    channels: Channels,
}

impl Generator {
    /// A generator of the events `config` describes. Builds the table of channel URLs
    /// (10,000 short strings).
    pub fn new(config: Config) -> Self {
        let total_proportion = config.total_proportion();
        let person_proportion = u64::from(config.person_proportion.get());
        let auction_proportion = u64::from(config.auction_proportion.get());
        Generator {
            total_proportion,
            person_proportion,
            auction_proportion,
            inter_event_delay_us: 1_000_000.0 / config.events_per_second.get() as f64,
            events_for_auctions: u64::from(config.in_flight_auctions) * total_proportion / auction_proportion,
            events_key: SeedKey::new(config.seed, EVENTS),
            channels: Channels::new(config.seed),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Fills `event` with event number `number` (its position in the stream, from 0).
    pub fn generate(&self, number: u64, event: &mut Event) {
        let id = self.event_id(number);
        let at = self.position(id);
        let timestamp = self.timestamp_of_id(id);
        let mut rng = Rng::new(self.events_key, id);
        event.number = number;
        event.kind = self.kind_at(at);
        match event.kind {
            EventKind::Person => self.person(at, timestamp, &mut rng, &mut event.person),
            EventKind::Auction => self.auction(at, timestamp, &mut rng, &mut event.auction),
            EventKind::Bid => self.bid(at, timestamp, &mut rng, &mut event.bid),
        }
    }

    /// The events numbered `numbers`, each in a new [`Event`] (a loop that reuses one
    /// `Event` with [`generate`](Self::generate) allocates less).
    pub fn events(&self, numbers: Range<u64>) -> impl Iterator<Item = Event> + '_ {
        numbers.map(|number| {
            let mut event = Event::new();
            self.generate(number, &mut event);
            event
        })
    }

    /// The kind of event number `number`, without making it.
    pub fn kind(&self, number: u64) -> EventKind {
        self.kind_at(self.position(self.event_id(number)))
    }

    /// The event time of event number `number`, without making it.
    pub fn timestamp(&self, number: u64) -> i64 {
        self.timestamp_of_id(self.event_id(number))
    }

    /// A watermark for a source that has made events `0..number`: no event from `number` on
    /// is older. It lags the latest timestamp only when events are shuffled in groups.
    pub fn watermark(&self, number: u64) -> i64 {
        let group = self.config.out_of_order_group_size.get();
        self.timestamp_of_id(number / group * group)
    }

    /// The id of event number `number`: the number itself, unless events are shuffled in
    /// out-of-order groups (the reference's `nextAdjustedEventNumber`).
    fn event_id(&self, number: u64) -> u64 {
        let group = self.config.out_of_order_group_size.get();
        if group == 1 {
            return number;
        }
        let offset = (u128::from(number) * 953 % u128::from(group)) as u64;
        number / group * group + offset
    }

    /// Where event `id` falls in the cycles of the event mix (one division per event).
    fn position(&self, id: u64) -> Position {
        Position { id, cycle: id / self.total_proportion, offset: id % self.total_proportion }
    }

    fn kind_at(&self, Position { offset, .. }: Position) -> EventKind {
        if offset < self.person_proportion {
            EventKind::Person
        } else if offset < self.person_proportion + self.auction_proportion {
            EventKind::Auction
        } else {
            EventKind::Bid
        }
    }

    fn timestamp_of_id(&self, id: u64) -> i64 {
        self.config.base_time.saturating_add((id as f64 * self.inter_event_delay_us) as i64 / 1000)
    }

    /// The latest person id (from 0) created at the event `at`, or before it.
    fn last_person(&self, Position { cycle, offset, .. }: Position) -> u64 {
        cycle * self.person_proportion + offset.min(self.person_proportion - 1)
    }

    /// The latest auction id (from 0) created at the event `at`, or before it (0 before any).
    fn last_auction(&self, Position { cycle, offset, .. }: Position) -> u64 {
        if offset < self.person_proportion {
            // A person: the last auction is the previous cycle's last.
            (cycle * self.auction_proportion).saturating_sub(1)
        } else if offset < self.person_proportion + self.auction_proportion {
            cycle * self.auction_proportion + offset - self.person_proportion
        } else {
            cycle * self.auction_proportion + self.auction_proportion - 1
        }
    }

    /// A random active person id (from 0), possibly up to [`PERSON_ID_LEAD`] ahead.
    fn random_person(&self, at: Position, rng: &mut Rng) -> u64 {
        let people = self.last_person(at) + 1;
        let active = people.min(u64::from(self.config.active_people));
        people - active + rng.below(active + PERSON_ID_LEAD)
    }

    /// A random in-flight auction id (from 0), possibly up to [`AUCTION_ID_LEAD`] ahead.
    fn random_auction(&self, at: Position, rng: &mut Rng) -> u64 {
        let last = self.last_auction(at);
        let first = last.saturating_sub(u64::from(self.config.in_flight_auctions));
        first + rng.below(last - first + 1 + AUCTION_ID_LEAD)
    }

    fn person(&self, at: Position, timestamp: i64, rng: &mut Rng, person: &mut Person) {
        person.id = self.last_person(at) + FIRST_PERSON_ID;
        person.name.clear();
        person.name.push_str(FIRST_NAMES[rng.index(FIRST_NAMES.len())]);
        person.name.push(' ');
        person.name.push_str(LAST_NAMES[rng.index(LAST_NAMES.len())]);
        person.email_address.clear();
        rng.push_string(&mut person.email_address, 7, ' ');
        person.email_address.push('@');
        rng.push_string(&mut person.email_address, 5, ' ');
        person.email_address.push_str(".com");
        person.credit_card.clear();
        for group in 0..4 {
            if group > 0 {
                person.credit_card.push(' ');
            }
            let digits = rng.below(10_000) as u32;
            for divisor in [1000, 100, 10, 1] {
                person.credit_card.push(char::from(b'0' + (digits / divisor % 10) as u8));
            }
        }
        person.city = US_CITIES[rng.index(US_CITIES.len())];
        person.state = US_STATES[rng.index(US_STATES.len())];
        person.date_time = timestamp;
        let size = 8
            + person.name.len()
            + person.email_address.len()
            + person.credit_card.len()
            + person.city.len()
            + person.state.len();
        person.extra.clear();
        rng.push_extra(&mut person.extra, size, self.config.avg_person_byte_size);
    }

    fn auction(&self, at: Position, timestamp: i64, rng: &mut Rng, auction: &mut Auction) {
        auction.id = self.last_auction(at) + FIRST_AUCTION_ID;
        let seller = if rng.below(u64::from(self.config.hot_sellers_ratio.get())) > 0 {
            self.last_person(at) / HOT_BATCH * HOT_BATCH
        } else {
            self.random_person(at, rng)
        };
        auction.seller = seller + FIRST_PERSON_ID;
        auction.category = FIRST_CATEGORY_ID + rng.below(NUM_CATEGORIES);
        auction.initial_bid = rng.price();
        // Auctions last twice, on average, the time until `in-flight-auctions` more exist.
        let horizon = self.timestamp_of_id(at.id + self.events_for_auctions) - timestamp;
        let length = 1 + rng.below(horizon.saturating_mul(2).max(1) as u64) as i64;
        auction.date_time = timestamp;
        auction.expires = timestamp.saturating_add(length);
        auction.item_name.clear();
        rng.push_string(&mut auction.item_name, 20, ' ');
        auction.description.clear();
        rng.push_string(&mut auction.description, 100, ' ');
        auction.reserve = auction.initial_bid + rng.price();
        let size = 8 + auction.item_name.len() + auction.description.len() + 8 + 8 + 8 + 8 + 8;
        auction.extra.clear();
        rng.push_extra(&mut auction.extra, size, self.config.avg_auction_byte_size);
    }

    fn bid(&self, at: Position, timestamp: i64, rng: &mut Rng, bid: &mut Bid) {
        let auction = if rng.below(u64::from(self.config.hot_auction_ratio.get())) > 0 {
            self.last_auction(at) / HOT_BATCH * HOT_BATCH
        } else {
            self.random_auction(at, rng)
        };
        bid.auction = auction + FIRST_AUCTION_ID;
        let bidder = if rng.below(u64::from(self.config.hot_bidders_ratio.get())) > 0 {
            // The second person of the batch, so hot bidders are not hot sellers.
            self.last_person(at) / HOT_BATCH * HOT_BATCH + 1
        } else {
            self.random_person(at, rng)
        };
        bid.bidder = bidder + FIRST_PERSON_ID;
        bid.price = rng.price();
        bid.channel.clear();
        bid.url.clear();
        if rng.below(HOT_CHANNELS_RATIO) > 0 {
            let hot = rng.index(HOT_CHANNELS.len());
            bid.channel.push_str(HOT_CHANNELS[hot]);
            bid.url.push_str(&self.channels.hot_urls[hot]);
        } else {
            let channel = rng.below(u64::from(NUM_CHANNELS)) as u32;
            bid.channel.push_str("channel-");
            bid.channel.push_str(itoa::Buffer::new().format(channel));
            bid.url.push_str(self.channels.url(channel));
        }
        bid.date_time = timestamp;
        bid.extra.clear();
        rng.push_extra(&mut bid.extra, 8 + 8 + 8 + 8, self.config.avg_bid_byte_size);
    }
}

/// An event id and where it falls in the cycles of the event mix.
#[derive(Clone, Copy, Debug)]
struct Position {
    id: u64,
    /// `id / total-proportion`
    cycle: u64,
    /// `id % total-proportion`
    offset: u64,
}

/// The URLs of the hot channels and of the long tail of [`NUM_CHANNELS`] channels.
#[derive(Clone, Debug)]
struct Channels {
    hot_urls: [String; HOT_CHANNELS.len()],
    /// Every long-tail URL, one after the other; channel `n`'s ends at `ends[n]`.
    urls: String,
    ends: Vec<usize>,
}

impl Channels {
    fn new(seed: u64) -> Self {
        let hot_key = SeedKey::new(seed, HOT_URLS);
        let hot_urls = std::array::from_fn(|hot| {
            let mut url = String::new();
            push_base_url(&mut Rng::new(hot_key, hot as u64), &mut url);
            url
        });
        let key = SeedKey::new(seed, CHANNEL_URLS);
        let mut urls = String::with_capacity(NUM_CHANNELS as usize * 72);
        let mut ends = Vec::with_capacity(NUM_CHANNELS as usize);
        for channel in 0..NUM_CHANNELS {
            let mut rng = Rng::new(key, u64::from(channel));
            push_base_url(&mut rng, &mut urls);
            // Nine channels in ten carry their id in the URL, as in the reference: the
            // absolute value of the channel number's bits reversed, as a 32-bit integer.
            if rng.below(10) > 0 {
                urls.push_str("&channel_id=");
                let reversed = (channel as i32).reverse_bits().wrapping_abs();
                urls.push_str(itoa::Buffer::new().format(reversed));
            }
            ends.push(urls.len());
        }
        Channels { hot_urls, urls, ends }
    }

    fn url(&self, channel: u32) -> &str {
        let channel = channel as usize;
        let start = if channel == 0 { 0 } else { self.ends[channel - 1] };
        &self.urls[start..self.ends[channel]]
    }
}

/// `https://www.nexmark.com/<a>/<b>/<c>/item.htm?query=1`, each part 3 or 4 letters or `_`.
fn push_base_url(rng: &mut Rng, url: &mut String) {
    url.push_str("https://www.nexmark.com/");
    for _ in 0..3 {
        rng.push_string(url, 5, '_');
        url.push('/');
    }
    url.push_str("item.htm?query=1");
}
