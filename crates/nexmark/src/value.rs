//! The JSON encoding of events as a [`serde_json::Value`], built field by field: the value
//! parsing [`Event::write_json`]'s bytes gives, without writing and parsing them. A dataflow
//! source that hands events to operators as JSON values uses it.

use eddy_types::Projection;
use serde_json::{Map, Value};

use crate::event::{Auction, Bid, Event, EventRef, Person};

impl Event {
    /// The event as the JSON value `serde_json::from_slice(&event.to_json())` gives: an
    /// object with `event_type` and the three kinds, the absent ones `null` (see
    /// [`write_json`](Self::write_json)). Allocates only the value itself.
    pub fn to_value(&self) -> Value {
        self.to_value_of(&EventFields::ALL)
    }

    /// The parts of [`to_value`](Self::to_value) that `read` keeps, built without the rest.
    pub fn to_projected_value(&self, read: &Projection) -> Value {
        self.to_value_of(&EventFields::of(read))
    }

    /// The fields of [`to_value`](Self::to_value) that `fields` names, built without the rest.
    pub fn to_value_of(&self, fields: &EventFields) -> Value {
        let mut object = Fields::new(fields.event);
        // In the order of the names, which builds the map without searching it.
        object.put(0, EVENT[0], || match self.get() {
            EventRef::Auction(auction) => auction_value(auction, fields.auction),
            _ => Value::Null,
        });
        object.put(1, EVENT[1], || match self.get() {
            EventRef::Bid(bid) => bid_value(bid, fields.bid),
            _ => Value::Null,
        });
        object.put(2, EVENT[2], || {
            Value::from(match self.get() {
                EventRef::Person(_) => 0,
                EventRef::Auction(_) => 1,
                EventRef::Bid(_) => 2,
            })
        });
        object.put(3, EVENT[3], || match self.get() {
            EventRef::Person(person) => person_value(person, fields.person),
            _ => Value::Null,
        });
        object.into_value()
    }
}

/// The names of an event's fields, and of each kind's, in order: bit `i` of a mask in
/// [`EventFields`] stands for name `i`.
const EVENT: [&str; 4] = ["auction", "bid", "event_type", "person"];
const PERSON: [&str; 8] = ["city", "creditCard", "dateTime", "emailAddress", "extra", "id", "name", "state"];
const AUCTION: [&str; 10] = [
    "category",
    "dateTime",
    "description",
    "expires",
    "extra",
    "id",
    "initialBid",
    "itemName",
    "reserve",
    "seller",
];
const BID: [&str; 7] = ["auction", "bidder", "channel", "dateTime", "extra", "price", "url"];

/// Which fields of an event to build, worked out once from a [`Projection`]: a bit mask per
/// object, bit `i` for the `i`-th field name in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFields {
    event: u16,
    person: u16,
    auction: u16,
    bid: u16,
}

impl EventFields {
    /// Every field.
    pub const ALL: EventFields =
        EventFields { event: u16::MAX, person: u16::MAX, auction: u16::MAX, bid: u16::MAX };

    /// The fields `read` keeps.
    pub fn of(read: &Projection) -> EventFields {
        let mask = |read: Option<&Projection>, names: &[&str]| {
            let Some(read) = read else { return 0 };
            names
                .iter()
                .enumerate()
                .filter(|(_, name)| read.field(name).is_some())
                .fold(0, |mask, (i, _)| mask | 1 << i)
        };
        EventFields {
            event: mask(Some(read), &EVENT),
            person: mask(read.field("person"), &PERSON),
            auction: mask(read.field("auction"), &AUCTION),
            bid: mask(read.field("bid"), &BID),
        }
    }
}

/// An object under construction from the fields a mask keeps, put in name order.
struct Fields {
    mask: u16,
    fields: Vec<(String, Value)>,
}

impl Fields {
    fn new(mask: u16) -> Self {
        Fields { mask, fields: Vec::with_capacity(mask.count_ones().min(10) as usize) }
    }

    /// Adds the field of bit `bit` when it is kept: `value` is only built then.
    fn put(&mut self, bit: u32, name: &str, value: impl FnOnce() -> Value) {
        if self.mask & (1 << bit) != 0 {
            self.fields.push((name.to_owned(), value()));
        }
    }

    fn into_value(self) -> Value {
        // From names in order, the map is built in one pass (`BTreeMap`'s bulk build).
        Value::Object(self.fields.into_iter().collect::<Map<String, Value>>())
    }
}

fn person_value(person: &Person, mask: u16) -> Value {
    let mut object = Fields::new(mask);
    let names = PERSON;
    object.put(0, names[0], || Value::from(person.city));
    object.put(1, names[1], || Value::from(person.credit_card.as_str()));
    object.put(2, names[2], || Value::from(person.date_time));
    object.put(3, names[3], || Value::from(person.email_address.as_str()));
    object.put(4, names[4], || Value::from(person.extra.as_str()));
    object.put(5, names[5], || Value::from(person.id));
    object.put(6, names[6], || Value::from(person.name.as_str()));
    object.put(7, names[7], || Value::from(person.state));
    object.into_value()
}

fn auction_value(auction: &Auction, mask: u16) -> Value {
    let mut object = Fields::new(mask);
    let names = AUCTION;
    object.put(0, names[0], || Value::from(auction.category));
    object.put(1, names[1], || Value::from(auction.date_time));
    object.put(2, names[2], || Value::from(auction.description.as_str()));
    object.put(3, names[3], || Value::from(auction.expires));
    object.put(4, names[4], || Value::from(auction.extra.as_str()));
    object.put(5, names[5], || Value::from(auction.id));
    object.put(6, names[6], || Value::from(auction.initial_bid));
    object.put(7, names[7], || Value::from(auction.item_name.as_str()));
    object.put(8, names[8], || Value::from(auction.reserve));
    object.put(9, names[9], || Value::from(auction.seller));
    object.into_value()
}

fn bid_value(bid: &Bid, mask: u16) -> Value {
    let mut object = Fields::new(mask);
    let names = BID;
    object.put(0, names[0], || Value::from(bid.auction));
    object.put(1, names[1], || Value::from(bid.bidder));
    object.put(2, names[2], || Value::from(bid.channel.as_str()));
    object.put(3, names[3], || Value::from(bid.date_time));
    object.put(4, names[4], || Value::from(bid.extra.as_str()));
    object.put(5, names[5], || Value::from(bid.price));
    object.put(6, names[6], || Value::from(bid.url.as_str()));
    object.into_value()
}

#[cfg(test)]
mod tests {
    use crate::{Config, Event, Generator};
    use eddy_types::Projection;

    #[test]
    fn the_value_is_the_parsed_json_for_every_kind() {
        let generator = Generator::new(Config { seed: 7, base_time: 1_700_000_000_000, ..Config::default() });
        let mut event = Event::new();
        for number in 0..500 {
            generator.generate(number, &mut event);
            let parsed: serde_json::Value = serde_json::from_slice(&event.to_json()).unwrap();
            assert_eq!(event.to_value(), parsed, "event {number}");
        }
    }

    #[test]
    fn a_projected_value_is_the_projection_of_the_value() {
        let generator = Generator::new(Config { seed: 7, base_time: 1_700_000_000_000, ..Config::default() });
        let mut event = Event::new();
        let mut q0 = Projection::nothing();
        q0.add_path(&["event_type"]);
        q0.add_path(&["bid", "price"]);
        q0.add_path(&["bid", "extra"]);
        let mut kinds = Projection::nothing();
        kinds.add_path(&["person"]);
        kinds.add_path(&["auction", "category"]);
        kinds.add_path(&["auction", "no-such-field"]);
        for number in 0..200 {
            generator.generate(number, &mut event);
            let value = event.to_value();
            for read in [&q0, &kinds, &Projection::nothing(), &Projection::Whole] {
                assert_eq!(event.to_projected_value(read), read.apply(&value), "event {number}, {read:?}");
            }
        }
    }
}
