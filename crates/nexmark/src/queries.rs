//! Reference answers of the Nexmark queries, computed straight from the generator with no
//! engine in between, to check what a run of a query's dataflow (`benches/nexmark/qN.yaml`)
//! wrote.
//!
//! | query | what it emits (the output record's value) |
//! |---|---|
//! | q0 pass-through | every bid: `{auction, bidder, price, dateTime, extra}` |
//! | q1 currency conversion | every bid, `price` × 0.908 as a double |
//! | q2 selection | `{auction, price}` of the bids whose `auction % 123 == 0` |
//! | q3 local item suggestion | `{name, city, state, id}` for each auction of category 10 by a person from OR, ID or CA (person ⋈ auction on `seller`) |
//! | q4 average price per category | `{category, avg}`: per category, the average over its auctions of the highest bid made while the auction was open (between its `dateTime` and `expires`, both included); auctions without such a bid do not count. The query's output is a changelog, and this is its last record per category |
//! | q5 hot items | per sliding window (10 s, every 2 s), the auctions with the most bids, ties included: `{auction, num, starttime, endtime}` |
//! | q7 highest bid | per tumbling window (10 s), the highest bid; ties across auctions included, one bid per auction (the earliest, then the smallest bidder): `{auction, price, bidder, dateTime, extra, window_end}` |
//! | q8 new users | per tumbling window (10 s), the persons who created an auction in the window they joined: `{id, name, starttime}` |
//!
//! Windows are those the dataflow closes by the end of a bounded run: a window closes when
//! the watermark (the lowest, over the source's partitions, of the highest event time that
//! reached the windows from each) reaches its end, so the last windows stay open. [`expected`] takes the
//! partition count for that reason.
//!
//! Outputs are compared as multisets with [`Fingerprint`]: order across partitions and
//! workers is free. A query whose output is a changelog ([`Query::changelog`]) is compared by
//! the last record of each key.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use serde_json::{Value, json};

use crate::{Event, EventRef, Generator};

/// The Nexmark queries Eddy runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Query {
    /// Pass-through of bids.
    Q0,
    /// Currency conversion.
    Q1,
    /// Selection by auction id.
    Q2,
    /// Local item suggestion: a person ⋈ auction join.
    Q3,
    /// Average price per category: an auction ⋈ bid join, then two updating aggregates.
    Q4,
    /// Hot items: sliding-window counts.
    Q5,
    /// Highest bid per window.
    Q7,
    /// New users: a windowed person ⋈ auction join.
    Q8,
}

impl Query {
    /// Every query, in order.
    pub const ALL: [Query; 8] =
        [Query::Q0, Query::Q1, Query::Q2, Query::Q3, Query::Q4, Query::Q5, Query::Q7, Query::Q8];

    /// `q0`, `q1`, …
    pub fn name(self) -> &'static str {
        match self {
            Query::Q0 => "q0",
            Query::Q1 => "q1",
            Query::Q2 => "q2",
            Query::Q3 => "q3",
            Query::Q4 => "q4",
            Query::Q5 => "q5",
            Query::Q7 => "q7",
            Query::Q8 => "q8",
        }
    }

    /// Whether the query's output is a changelog: each record updates the answer for its
    /// key, so the answer is the last record of each key, not every record.
    pub fn changelog(self) -> bool {
        self == Query::Q4
    }

    /// The query called `name` (`q5` or `Q5`).
    pub fn from_name(name: &str) -> Option<Query> {
        Query::ALL.into_iter().find(|query| query.name().eq_ignore_ascii_case(name))
    }
}

impl Query {
    /// Whether events of `kind` reach the query's windows, and so move its watermark: the
    /// dataflows drop the other kinds before their windows.
    fn windows(self, kind: crate::EventKind) -> bool {
        use crate::EventKind::{Auction, Bid, Person};
        matches!((self, kind), (Query::Q5 | Query::Q7, Bid) | (Query::Q8, Person | Auction))
    }
}

impl std::fmt::Display for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Window length of q5, q7 and q8, ms.
const WINDOW_MS: i64 = 10_000;
/// How often q5's sliding windows start, ms.
const SLIDE_MS: i64 = 2_000;
/// q1's exchange rate.
const DOLLARS_TO_EUROS: f64 = 0.908;

/// What the dataflow of `query` emits over events `0..events` of `generator`, read by a
/// source of `partitions` partitions (partition `p` makes the events numbered `p`, `p + P`, …).
pub fn expected(query: Query, generator: &Generator, events: u64, partitions: u32) -> Vec<Value> {
    let mut out = Vec::new();
    for_each_expected(query, generator, events, partitions, |value| out.push(value));
    out
}

/// [`expected`], one record at a time, for outputs too large to hold.
pub fn for_each_expected(
    query: Query,
    generator: &Generator,
    events: u64,
    partitions: u32,
    mut emit: impl FnMut(Value),
) {
    let mut event = Event::new();
    let partitions = u64::from(partitions.max(1));
    let mut highest = vec![i64::MIN; partitions as usize];
    let mut state = QueryState::default();
    for number in 0..events {
        generator.generate(number, &mut event);
        let time = event.date_time();
        if query.windows(event.kind()) {
            let partition = &mut highest[(number % partitions) as usize];
            *partition = (*partition).max(time);
        }
        state.add(query, event.get(), time, &mut emit);
    }
    let watermark = highest.iter().copied().min().unwrap_or(i64::MIN);
    state.close(query, watermark, &mut emit);
}

/// q7's best bid of an auction: `(price, dateTime, bidder, extra)`.
type BestBid = (u64, i64, u64, String);

/// What the windowed and joined queries keep while reading.
#[derive(Default)]
struct QueryState {
    /// q3: persons of OR, ID and CA by id; auctions of category 10 by seller.
    persons: HashMap<u64, (String, &'static str, &'static str)>,
    auctions_by_seller: HashMap<u64, Vec<u64>>,
    /// q4: auctions by id (category, start, expiry); every bid (auction, price, time).
    open_auctions: HashMap<u64, (u64, i64, i64)>,
    bids: Vec<(u64, u64, i64)>,
    /// q5: bids per auction per window `(end, start)`.
    counts: BTreeMap<(i64, i64), HashMap<u64, u64>>,
    /// q7: per window end, per auction, the best bid.
    best: BTreeMap<i64, HashMap<u64, BestBid>>,
    /// q8: per window start, persons (id → name) and sellers.
    joined: BTreeMap<i64, (HashMap<u64, String>, Vec<u64>)>,
}

impl QueryState {
    fn add(&mut self, query: Query, event: EventRef<'_>, time: i64, out: &mut impl FnMut(Value)) {
        match (query, event) {
            (Query::Q0, EventRef::Bid(bid)) => out(json!({
                "auction": bid.auction, "bidder": bid.bidder, "price": bid.price,
                "dateTime": bid.date_time, "extra": bid.extra,
            })),
            (Query::Q1, EventRef::Bid(bid)) => out(json!({
                "auction": bid.auction, "bidder": bid.bidder, "price": bid.price as f64 * DOLLARS_TO_EUROS,
                "dateTime": bid.date_time, "extra": bid.extra,
            })),
            (Query::Q2, EventRef::Bid(bid)) if bid.auction % 123 == 0 => {
                out(json!({"auction": bid.auction, "price": bid.price}));
            }
            (Query::Q3, EventRef::Person(person)) if matches!(person.state, "OR" | "ID" | "CA") => {
                self.persons.insert(person.id, (person.name.clone(), person.city, person.state));
            }
            (Query::Q3, EventRef::Auction(auction)) if auction.category == 10 => {
                self.auctions_by_seller.entry(auction.seller).or_default().push(auction.id);
            }
            (Query::Q4, EventRef::Auction(auction)) => {
                self.open_auctions.insert(auction.id, (auction.category, auction.date_time, auction.expires));
            }
            (Query::Q4, EventRef::Bid(bid)) => self.bids.push((bid.auction, bid.price, bid.date_time)),
            (Query::Q5, EventRef::Bid(bid)) => {
                let last_start = time.div_euclid(SLIDE_MS) * SLIDE_MS;
                for back in 0..WINDOW_MS / SLIDE_MS {
                    let start = last_start - back * SLIDE_MS;
                    *self
                        .counts
                        .entry((start + WINDOW_MS, start))
                        .or_default()
                        .entry(bid.auction)
                        .or_default() += 1;
                }
            }
            (Query::Q7, EventRef::Bid(bid)) => {
                let end = time.div_euclid(WINDOW_MS) * WINDOW_MS + WINDOW_MS;
                let candidate = (bid.price, bid.date_time, bid.bidder, bid.extra.clone());
                let best = self.best.entry(end).or_default();
                match best.get_mut(&bid.auction) {
                    Some(current) if !beats(&candidate, current) => {}
                    Some(current) => *current = candidate,
                    None => {
                        best.insert(bid.auction, candidate);
                    }
                }
            }
            (Query::Q8, EventRef::Person(person)) => {
                let start = time.div_euclid(WINDOW_MS) * WINDOW_MS;
                self.joined.entry(start).or_default().0.insert(person.id, person.name.clone());
            }
            (Query::Q8, EventRef::Auction(auction)) => {
                let start = time.div_euclid(WINDOW_MS) * WINDOW_MS;
                self.joined.entry(start).or_default().1.push(auction.seller);
            }
            _ => {}
        }
    }

    fn close(&mut self, query: Query, watermark: i64, out: &mut impl FnMut(Value)) {
        match query {
            Query::Q3 => {
                for (seller, auctions) in &self.auctions_by_seller {
                    if let Some((name, city, state)) = self.persons.get(seller) {
                        for id in auctions {
                            out(json!({"name": name, "city": city, "state": state, "id": id}));
                        }
                    }
                }
            }
            Query::Q4 => {
                let mut highest: HashMap<u64, (u64, u64)> = HashMap::new();
                for &(auction, price, time) in &self.bids {
                    let Some(&(category, start, expires)) = self.open_auctions.get(&auction) else {
                        continue;
                    };
                    if (start..=expires).contains(&time) {
                        let best = highest.entry(auction).or_insert((category, price));
                        best.1 = best.1.max(price);
                    }
                }
                let mut totals: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
                for (category, price) in highest.into_values() {
                    let total = totals.entry(category).or_default();
                    total.0 += price;
                    total.1 += 1;
                }
                for (category, (sum, count)) in totals {
                    out(json!({"category": category, "avg": sum as f64 / count as f64}));
                }
            }
            Query::Q5 => {
                for (&(end, start), counts) in self.counts.iter().filter(|((end, _), _)| *end <= watermark) {
                    let most = counts.values().copied().max().unwrap_or(0);
                    for (&auction, &num) in counts.iter().filter(|(_, num)| **num == most) {
                        out(json!({"auction": auction, "num": num, "starttime": start, "endtime": end}));
                    }
                }
            }
            Query::Q7 => {
                for (&end, best) in self.best.iter().filter(|(end, _)| **end <= watermark) {
                    let highest = best.values().map(|bid| bid.0).max().unwrap_or(0);
                    for (&auction, (price, date_time, bidder, extra)) in
                        best.iter().filter(|(_, bid)| bid.0 == highest)
                    {
                        out(json!({
                            "auction": auction, "price": price, "bidder": bidder,
                            "dateTime": date_time, "extra": extra, "window_end": end,
                        }));
                    }
                }
            }
            Query::Q8 => {
                for (&start, (persons, sellers)) in &self.joined {
                    if start + WINDOW_MS > watermark {
                        continue;
                    }
                    let mut seen = std::collections::HashSet::new();
                    for seller in sellers {
                        if let Some(name) = persons.get(seller).filter(|_| seen.insert(*seller)) {
                            out(json!({"id": seller, "name": name, "starttime": start}));
                        }
                    }
                }
            }
            Query::Q0 | Query::Q1 | Query::Q2 => {}
        }
    }
}

/// q7's order among one auction's bids: the higher price, then the earlier time, then the
/// smaller bidder.
fn beats(candidate: &BestBid, current: &BestBid) -> bool {
    (candidate.0, std::cmp::Reverse(candidate.1), std::cmp::Reverse(candidate.2))
        > (current.0, std::cmp::Reverse(current.1), std::cmp::Reverse(current.2))
}

/// An order-free summary of a multiset of records: how many, and a sum of their hashes.
/// Two outputs with the same records, in any order, have equal fingerprints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// How many records.
    pub records: u64,
    sum: u64,
}

impl Fingerprint {
    /// The fingerprint of `values`.
    pub fn of<'a>(values: impl IntoIterator<Item = &'a Value>) -> Fingerprint {
        let mut fingerprint = Fingerprint::default();
        for value in values {
            fingerprint.add(value);
        }
        fingerprint
    }

    /// Adds one record. Objects are compared with their keys in order, so the field order
    /// a writer used does not matter.
    pub fn add(&mut self, value: &Value) {
        let mut hasher = DefaultHasher::new();
        value.to_string().hash(&mut hasher);
        self.records += 1;
        self.sum = self.sum.wrapping_add(hasher.finish());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn generator() -> Generator {
        Generator::new(Config { seed: 7, base_time: 1_700_000_000_000, ..Config::default() })
    }

    #[test]
    fn q0_emits_every_bid_and_q2_a_few() {
        let generator = generator();
        let bids = (0..5_000).filter(|&n| generator.kind(n) == crate::EventKind::Bid).count();
        assert_eq!(expected(Query::Q0, &generator, 5_000, 2).len(), bids);
        let q2 = expected(Query::Q2, &generator, 50_000, 2);
        assert!(!q2.is_empty() && q2.len() < bids);
        assert!(q2.iter().all(|bid| bid["auction"].as_u64().unwrap() % 123 == 0));
    }

    #[test]
    fn windows_the_watermark_has_not_passed_stay_open() {
        let generator = generator();
        // 100,000 events at 10,000 events/s of event time: 10 s, so one 10 s window at
        // most closes, and only once every partition has passed its end.
        let q7 = expected(Query::Q7, &generator, 100_000, 2);
        assert!(q7.iter().all(|bid| bid["window_end"].as_i64().unwrap() <= 1_700_000_010_000));
        let q5 = expected(Query::Q5, &generator, 100_000, 2);
        assert!(!q5.is_empty());
        for hot in &q5 {
            assert_eq!(hot["endtime"].as_i64().unwrap() - hot["starttime"].as_i64().unwrap(), WINDOW_MS);
        }
        assert!(
            expected(Query::Q5, &generator, 100_000, 200_000).is_empty(),
            "an empty partition holds it back"
        );
    }

    #[test]
    fn q3_and_q8_join_persons_to_their_auctions() {
        let generator = generator();
        let q3 = expected(Query::Q3, &generator, 100_000, 1);
        assert!(!q3.is_empty());
        assert!(q3.iter().all(|row| matches!(row["state"].as_str(), Some("OR" | "ID" | "CA"))));
        let q8 = expected(Query::Q8, &generator, 200_000, 1);
        assert!(!q8.is_empty());
    }

    #[test]
    fn q4_averages_the_winning_bids_of_each_category() {
        let generator = generator();
        let q4 = expected(Query::Q4, &generator, 100_000, 1);
        assert!(!q4.is_empty() && q4.len() <= crate::NUM_CATEGORIES as usize);
        for row in &q4 {
            assert!(row["avg"].as_f64().unwrap() > 0.0, "{row}");
        }
        // The partition count does not change an unwindowed answer.
        assert_eq!(q4, expected(Query::Q4, &generator, 100_000, 3));
    }

    #[test]
    fn fingerprints_ignore_order_but_not_content() {
        let (a, b) = (json!({"x": 1, "y": "a"}), json!({"y": "b", "x": 1}));
        assert_eq!(Fingerprint::of([&a, &b]), Fingerprint::of([&b, &a]));
        assert_ne!(Fingerprint::of([&a, &b]), Fingerprint::of([&a, &a]));
        assert_ne!(Fingerprint::of([&a]), Fingerprint::of([&a, &a]));
    }
}
