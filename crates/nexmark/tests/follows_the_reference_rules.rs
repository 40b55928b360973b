//! The generator against the Nexmark reference rules: the event mix, dense ids, what bids and
//! auctions may refer to, value ranges and sizes, event times, determinism, and the JSON shape.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use eddy_nexmark::{
    AUCTION_ID_LEAD, Config, Event, EventKind, EventRef, FIRST_AUCTION_ID, FIRST_CATEGORY_ID,
    FIRST_PERSON_ID, Generator, NUM_CATEGORIES, NUM_CHANNELS, PERSON_ID_LEAD,
};
use serde_json::Value;

const BASE_TIME: i64 = 1_700_000_000_000;

fn generator(seed: u64) -> Generator {
    Generator::new(Config { seed, base_time: BASE_TIME, ..Config::default() })
}

#[test]
fn every_fifty_events_hold_one_person_then_three_auctions_then_forty_six_bids() {
    let generator = generator(1);
    let mut event = Event::new();
    for cycle in [0u64, 1, 2, 17, 1_000, 123_456_789] {
        let mut kinds = Vec::new();
        for number in cycle * 50..(cycle + 1) * 50 {
            generator.generate(number, &mut event);
            assert_eq!(event.kind(), generator.kind(number));
            kinds.push(event.kind());
        }
        let count = |kind| kinds.iter().filter(|&&k| k == kind).count();
        assert_eq!((count(EventKind::Person), count(EventKind::Auction), count(EventKind::Bid)), (1, 3, 46));
        assert_eq!(kinds[0], EventKind::Person);
        assert_eq!(kinds[1..4], [EventKind::Auction; 3]);
    }
}

#[test]
fn person_and_auction_ids_are_dense_from_1000_in_creation_order() {
    let generator = generator(2);
    let (mut persons, mut auctions) = (Vec::new(), Vec::new());
    for event in generator.events(0..100_000) {
        match event.get() {
            EventRef::Person(person) => persons.push(person.id),
            EventRef::Auction(auction) => auctions.push(auction.id),
            EventRef::Bid(_) => {}
        }
    }
    assert_eq!(persons, (FIRST_PERSON_ID..FIRST_PERSON_ID + 2_000).collect::<Vec<_>>());
    assert_eq!(auctions, (FIRST_AUCTION_ID..FIRST_AUCTION_ID + 6_000).collect::<Vec<_>>());
}

/// What was created before an event: the latest person and auction ids (or none yet).
#[derive(Default)]
struct Created {
    last_person: Option<u64>,
    last_auction: Option<u64>,
}

#[test]
fn bids_and_auctions_refer_to_recent_or_hot_persons_and_auctions_as_the_reference_says() {
    let config = Config { seed: 3, ..Config::default() };
    let active = u64::from(config.active_people);
    let in_flight = u64::from(config.in_flight_auctions);
    let generator = Generator::new(config);
    let mut created = Created::default();
    let (mut bids, mut hot_auction_bids, mut hot_bidder_bids) = (0u64, 0u64, 0u64);
    let (mut auctions, mut hot_seller_auctions) = (0u64, 0u64);
    for event in generator.events(0..200_000) {
        match event.get() {
            EventRef::Person(person) => created.last_person = Some(person.id),
            EventRef::Auction(auction) => {
                let last_person = created.last_person.unwrap();
                let hot_seller = (last_person - FIRST_PERSON_ID) / 100 * 100 + FIRST_PERSON_ID;
                let people = last_person - FIRST_PERSON_ID + 1;
                let oldest_active = FIRST_PERSON_ID + people - people.min(active);
                assert!(
                    auction.seller == hot_seller
                        || (oldest_active..=last_person + PERSON_ID_LEAD).contains(&auction.seller),
                    "auction {} by seller {} (latest person {last_person})",
                    auction.id,
                    auction.seller
                );
                auctions += 1;
                hot_seller_auctions += u64::from(auction.seller == hot_seller);
                created.last_auction = Some(auction.id);
            }
            EventRef::Bid(bid) => {
                let last_person = created.last_person.unwrap();
                let last_auction = created.last_auction.unwrap();
                let hot_auction = (last_auction - FIRST_AUCTION_ID) / 100 * 100 + FIRST_AUCTION_ID;
                let oldest_in_flight = last_auction.saturating_sub(in_flight).max(FIRST_AUCTION_ID);
                assert!(
                    bid.auction == hot_auction
                        || (oldest_in_flight..=last_auction + AUCTION_ID_LEAD).contains(&bid.auction),
                    "bid on auction {} (latest auction {last_auction})",
                    bid.auction
                );
                let hot_bidder = (last_person - FIRST_PERSON_ID) / 100 * 100 + 1 + FIRST_PERSON_ID;
                let people = last_person - FIRST_PERSON_ID + 1;
                let oldest_active = FIRST_PERSON_ID + people - people.min(active);
                assert!(
                    bid.bidder == hot_bidder
                        || (oldest_active..=last_person + PERSON_ID_LEAD).contains(&bid.bidder),
                    "bid by {} (latest person {last_person})",
                    bid.bidder
                );
                bids += 1;
                hot_auction_bids += u64::from(bid.auction == hot_auction);
                hot_bidder_bids += u64::from(bid.bidder == hot_bidder);
            }
        }
    }
    // Hot with probability 1 - 1/ratio, plus the odd random pick that lands on the hot one.
    let share = |part: u64, whole: u64| part as f64 / whole as f64;
    assert!((0.49..0.53).contains(&share(hot_auction_bids, bids)), "{}", share(hot_auction_bids, bids));
    assert!((0.74..0.77).contains(&share(hot_bidder_bids, bids)), "{}", share(hot_bidder_bids, bids));
    let sellers = share(hot_seller_auctions, auctions);
    assert!((0.73..0.78).contains(&sellers), "{sellers}");
}

#[test]
fn values_follow_the_reference_ranges_and_padding_reaches_the_average_sizes() {
    let generator = generator(4);
    let states: HashSet<&str> = ["AZ", "CA", "ID", "OR", "WA", "WY"].into();
    let (mut person_bytes, mut auction_bytes, mut bid_bytes) = (Vec::new(), Vec::new(), Vec::new());
    let (mut categories, mut hot_channel_bids) = (HashSet::new(), 0);
    for event in generator.events(0..100_000) {
        match event.get() {
            EventRef::Person(p) => {
                let (first, last) = p.name.split_once(' ').unwrap();
                assert!(first.chars().next().unwrap().is_ascii_uppercase() && !last.is_empty());
                let (user, domain) = p.email_address.split_once('@').unwrap();
                assert!((1..=6).contains(&user.len()) && domain.ends_with(".com"), "{}", p.email_address);
                assert_eq!(p.credit_card.len(), 19);
                assert!(
                    p.credit_card.split(' ').all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_digit()))
                );
                assert!(states.contains(p.state), "{}", p.state);
                assert!(!p.city.is_empty());
                person_bytes.push(
                    8 + p.name.len()
                        + p.email_address.len()
                        + p.credit_card.len()
                        + p.city.len()
                        + p.state.len()
                        + p.extra.len(),
                );
            }
            EventRef::Auction(a) => {
                assert!((FIRST_CATEGORY_ID..FIRST_CATEGORY_ID + NUM_CATEGORIES).contains(&a.category));
                categories.insert(a.category);
                assert!((100..=100_000_000).contains(&a.initial_bid), "{}", a.initial_bid);
                assert!(a.reserve >= a.initial_bid + 100, "reserve {} < {}", a.reserve, a.initial_bid);
                assert!(a.expires > a.date_time);
                assert!(a.item_name.len() < 20 && a.description.len() < 100);
                auction_bytes.push(8 + a.item_name.len() + a.description.len() + 40 + a.extra.len());
            }
            EventRef::Bid(b) => {
                assert!((100..=100_000_000).contains(&b.price));
                assert!(b.url.starts_with("https://www.nexmark.com/"), "{}", b.url);
                assert!(b.url.contains("/item.htm?query=1"), "{}", b.url);
                if ["Google", "Facebook", "Baidu", "Apple"].contains(&b.channel.as_str()) {
                    hot_channel_bids += 1;
                } else {
                    let n: u32 = b.channel.strip_prefix("channel-").unwrap().parse().unwrap();
                    assert!(n < NUM_CHANNELS);
                }
                bid_bytes.push(32 + b.extra.len());
            }
        }
    }
    assert_eq!(categories.len() as u64, NUM_CATEGORIES);
    let hot_channels = hot_channel_bids as f64 / bid_bytes.len() as f64;
    assert!((0.48..0.52).contains(&hot_channels), "{hot_channels}");
    let average = |sizes: &[usize]| sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
    for (kind, sizes, target) in
        [("person", &person_bytes, 200.0), ("auction", &auction_bytes, 500.0), ("bid", &bid_bytes, 100.0)]
    {
        let average = average(sizes);
        assert!((target * 0.98..target * 1.02).contains(&average), "{kind}: average {average} bytes");
    }
}

#[test]
fn event_times_advance_from_the_base_time_at_the_configured_rate() {
    let at_10k = generator(5);
    assert_eq!(at_10k.timestamp(0), BASE_TIME);
    assert_eq!(at_10k.timestamp(9), BASE_TIME);
    assert_eq!(at_10k.timestamp(10), BASE_TIME + 1);
    assert_eq!(at_10k.timestamp(36_000_000_000), BASE_TIME + 3_600_000_000);
    let at_3 = Generator::new(Config {
        base_time: BASE_TIME,
        events_per_second: 3.try_into().unwrap(),
        ..Config::default()
    });
    assert_eq!((1..=4).map(|n| at_3.timestamp(n) - BASE_TIME).collect::<Vec<_>>(), [333, 666, 1000, 1333]);
    let mut previous = BASE_TIME;
    for event in at_10k.events(0..10_000) {
        assert_eq!(event.date_time(), at_10k.timestamp(event.number()));
        assert!(event.date_time() >= previous);
        previous = event.date_time();
    }
    assert_eq!(previous, BASE_TIME + 999);
}

#[test]
fn out_of_order_groups_shuffle_ids_within_each_group_and_the_watermark_holds() {
    let generator = Generator::new(Config {
        base_time: BASE_TIME,
        out_of_order_group_size: 100.try_into().unwrap(),
        ..Config::default()
    });
    let events: Vec<Event> = generator.events(0..1_000).collect();
    let mut auctions: Vec<u64> = events.iter().filter_map(|e| e.auction().map(|a| a.id)).collect();
    assert_ne!(auctions, (1000..1060).collect::<Vec<_>>(), "auctions should come out of order");
    auctions.sort_unstable();
    assert_eq!(auctions, (1000..1060).collect::<Vec<_>>());
    for (number, event) in events.iter().enumerate() {
        let watermark = generator.watermark(number as u64);
        assert!(events[number..].iter().all(|later| later.date_time() >= watermark));
        assert!(event.date_time() < watermark + 10, "a group spans 10 ms at 10,000 events/s");
    }
}

#[test]
fn the_same_seed_gives_the_same_events_in_any_order_and_another_seed_does_not() {
    let encode = |generator: &Generator, numbers: &mut dyn Iterator<Item = u64>| -> Vec<Vec<u8>> {
        let mut event = Event::new();
        numbers
            .map(|n| {
                generator.generate(n, &mut event);
                event.to_json()
            })
            .collect()
    };
    let forward = encode(&generator(6), &mut (0..5_000));
    assert_eq!(forward, encode(&generator(6), &mut (0..5_000)));
    let mut backward = encode(&generator(6), &mut (0..5_000).rev());
    backward.reverse();
    assert_eq!(forward, backward, "an event does not depend on the events made before it");
    let other = encode(&generator(7), &mut (0..5_000));
    let differing = forward.iter().zip(&other).filter(|(a, b)| a != b).count();
    assert!(differing > 4_900, "only {differing} of 5000 events differ between seeds");
    let iterated: Vec<Vec<u8>> = generator(6).events(0..5_000).map(|e| e.to_json()).collect();
    assert_eq!(forward, iterated);
}

#[test]
fn json_has_the_flink_and_risingwave_shape() {
    let generator = generator(8);
    let fields = |kind: &str| -> Vec<&str> {
        match kind {
            "person" => {
                vec!["id", "name", "emailAddress", "creditCard", "city", "state", "dateTime", "extra"]
            }
            "auction" => vec![
                "id",
                "itemName",
                "description",
                "initialBid",
                "reserve",
                "dateTime",
                "expires",
                "seller",
                "category",
                "extra",
            ],
            _ => vec!["auction", "bidder", "price", "channel", "url", "dateTime", "extra"],
        }
    };
    for event in generator.events(0..1_000) {
        let json = event.to_json();
        let value: Value = serde_json::from_slice(&json).unwrap();
        let object = value.as_object().unwrap();
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        let mut expected = vec!["event_type", "person", "auction", "bid"];
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        expected.sort_unstable();
        assert_eq!(sorted, expected);
        let event_type = object["event_type"].as_u64().unwrap();
        assert_eq!(event_type, event.kind() as u64);
        let present = ["person", "auction", "bid"][event_type as usize];
        for kind in ["person", "auction", "bid"] {
            if kind != present {
                assert!(object[kind].is_null(), "{kind} should be null in {value}");
                continue;
            }
            let inner = object[kind].as_object().unwrap();
            let inner_keys: Vec<&str> = inner.keys().map(String::as_str).collect();
            let mut wanted = fields(kind);
            let mut got = inner_keys.clone();
            wanted.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, wanted, "{kind}");
            assert_eq!(inner["dateTime"].as_i64().unwrap(), event.date_time());
        }
        if let Some(bid) = event.bid() {
            assert_eq!(object["bid"]["auction"].as_u64().unwrap(), bid.auction);
            assert_eq!(object["bid"]["extra"].as_str().unwrap(), bid.extra);
        }
    }
}

#[test]
fn a_config_reads_from_kebab_case_and_refuses_zeros_and_unknown_fields() {
    let config: Config =
        serde_json::from_str(r#"{"seed": 9, "base-time": 5, "events-per-second": 1000000}"#).unwrap();
    assert_eq!(
        config,
        Config {
            seed: 9,
            base_time: 5,
            events_per_second: 1_000_000.try_into().unwrap(),
            ..Config::default()
        }
    );
    assert!(serde_json::from_str::<Config>(r#"{"events-per-second": 0}"#).is_err());
    assert!(serde_json::from_str::<Config>(r#"{"hot-auction-ratio": 0}"#).is_err());
    assert!(serde_json::from_str::<Config>(r#"{"seeds": 1}"#).is_err());
    assert_eq!(serde_json::from_str::<Config>("{}").unwrap(), Config::default());
    assert_eq!(Config::default().total_proportion(), 50);
}
