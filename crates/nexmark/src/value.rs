//! The JSON encoding of events as a [`serde_json::Value`], built field by field: the value
//! parsing [`Event::write_json`]'s bytes gives, without writing and parsing them. A dataflow
//! source that hands events to operators as JSON values uses it.
//!
//! A source making millions of events can also refill one value in place
//! ([`Event::fill_value_of`]): a value built before for the same fields keeps its maps and
//! strings, so an event costs no allocation and no map building, only its fields' new
//! contents.

use eddy_types::Projection;
use serde_json::{Map, Number, Value};

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
        build(fields.event, &EVENT, |bit| self.event_field(fields, bit))
    }

    /// Makes `value` equal to [`to_value_of(fields)`](Self::to_value_of), reusing what it
    /// holds: an object with the same field names (a value built before for the same
    /// `fields`) keeps its maps and strings and gets only new contents; a kind's object that
    /// is `null` in `value` is built, one absent from this event becomes `null`. Any other
    /// value is replaced by a new one.
    pub fn fill_value_of(&self, fields: &EventFields, value: &mut Value) {
        let refilled =
            refill(value, fields.event, &EVENT, |bit, slot| self.event_field(fields, bit).write_into(slot));
        if !refilled {
            *value = self.to_value_of(fields);
        }
    }

    /// The event's field of bit `bit` (of [`EVENT`]).
    fn event_field<'a>(&'a self, fields: &EventFields, bit: usize) -> Field<'a> {
        let event = self.get();
        match (bit, event) {
            (0, EventRef::Auction(auction)) => Field::Kind(fields.auction, Kind::Auction(auction)),
            (1, EventRef::Bid(bid)) => Field::Kind(fields.bid, Kind::Bid(bid)),
            (2, _) => Field::UInt(match event {
                EventRef::Person(_) => 0,
                EventRef::Auction(_) => 1,
                EventRef::Bid(_) => 2,
            }),
            (3, EventRef::Person(person)) => Field::Kind(fields.person, Kind::Person(person)),
            _ => Field::Null,
        }
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

/// One field of an event, borrowed from it.
#[derive(Clone, Copy)]
enum Field<'a> {
    Null,
    Str(&'a str),
    UInt(u64),
    Int(i64),
    /// A kind's object, of the fields the mask keeps.
    Kind(u16, Kind<'a>),
}

/// The event of one kind, for its object.
#[derive(Clone, Copy)]
enum Kind<'a> {
    Person(&'a Person),
    Auction(&'a Auction),
    Bid(&'a Bid),
}

impl<'a> Kind<'a> {
    /// The names of its object's fields, in order.
    fn names(self) -> &'static [&'static str] {
        match self {
            Kind::Person(_) => &PERSON,
            Kind::Auction(_) => &AUCTION,
            Kind::Bid(_) => &BID,
        }
    }

    /// The field of bit `bit` (of [`names`](Self::names)).
    fn field(self, bit: usize) -> Field<'a> {
        match self {
            Kind::Person(person) => person_field(person, bit),
            Kind::Auction(auction) => auction_field(auction, bit),
            Kind::Bid(bid) => bid_field(bid, bit),
        }
    }
}

impl Field<'_> {
    fn into_value(self) -> Value {
        match self {
            Field::Null => Value::Null,
            Field::Str(text) => Value::from(text),
            Field::UInt(number) => Value::from(number),
            Field::Int(number) => Value::from(number),
            Field::Kind(mask, kind) => build(mask, kind.names(), |bit| kind.field(bit)),
        }
    }

    /// Makes `slot` equal to [`into_value`](Self::into_value), reusing its string, number or
    /// object when it has one of the same shape.
    fn write_into(self, slot: &mut Value) {
        match (self, &mut *slot) {
            (Field::Str(text), Value::String(old)) => {
                old.clear();
                old.push_str(text);
            }
            (Field::UInt(number), Value::Number(old)) => *old = Number::from(number),
            (Field::Int(number), Value::Number(old)) => *old = Number::from(number),
            (Field::Kind(mask, kind), _) => {
                if !refill(slot, mask, kind.names(), |bit, field| kind.field(bit).write_into(field)) {
                    *slot = self.into_value();
                }
            }
            _ => *slot = self.into_value(),
        }
    }
}

/// The bits of `mask` that name a field of `names`, with the names, in order.
fn kept<'n>(mask: u16, names: &'n [&'n str]) -> impl Iterator<Item = (usize, &'n str)> + Clone {
    names.iter().enumerate().filter(move |(bit, _)| mask & (1 << bit) != 0).map(|(bit, name)| (bit, *name))
}

/// A new object of the fields `mask` keeps; `field` is asked only for those.
fn build<'a>(mask: u16, names: &[&str], field: impl Fn(usize) -> Field<'a>) -> Value {
    let mut fields = Vec::with_capacity(names.len());
    fields.extend(kept(mask, names).map(|(bit, name)| (name.to_owned(), field(bit).into_value())));
    // From names in order, the map is built in one pass (`BTreeMap`'s bulk build).
    Value::Object(fields.into_iter().collect::<Map<String, Value>>())
}

/// Writes the fields `mask` keeps into `value` in place when it is an object of exactly
/// those names; returns false otherwise (`value` may then be partly written).
fn refill(value: &mut Value, mask: u16, names: &[&str], mut write: impl FnMut(usize, &mut Value)) -> bool {
    let Value::Object(object) = value else { return false };
    let mut kept = kept(mask, names);
    if object.len() != kept.clone().count() {
        return false;
    }
    // A map iterates in key order, and the names are sorted.
    for (key, slot) in object.iter_mut() {
        match kept.next() {
            Some((bit, name)) if key == name => write(bit, slot),
            _ => return false,
        }
    }
    true
}

fn person_field(person: &Person, bit: usize) -> Field<'_> {
    match bit {
        0 => Field::Str(person.city),
        1 => Field::Str(&person.credit_card),
        2 => Field::Int(person.date_time),
        3 => Field::Str(&person.email_address),
        4 => Field::Str(&person.extra),
        5 => Field::UInt(person.id),
        6 => Field::Str(&person.name),
        7 => Field::Str(person.state),
        _ => Field::Null,
    }
}

fn auction_field(auction: &Auction, bit: usize) -> Field<'_> {
    match bit {
        0 => Field::UInt(auction.category),
        1 => Field::Int(auction.date_time),
        2 => Field::Str(&auction.description),
        3 => Field::Int(auction.expires),
        4 => Field::Str(&auction.extra),
        5 => Field::UInt(auction.id),
        6 => Field::UInt(auction.initial_bid),
        7 => Field::Str(&auction.item_name),
        8 => Field::UInt(auction.reserve),
        9 => Field::UInt(auction.seller),
        _ => Field::Null,
    }
}

fn bid_field(bid: &Bid, bit: usize) -> Field<'_> {
    match bit {
        0 => Field::UInt(bid.auction),
        1 => Field::UInt(bid.bidder),
        2 => Field::Str(&bid.channel),
        3 => Field::Int(bid.date_time),
        4 => Field::Str(&bid.extra),
        5 => Field::UInt(bid.price),
        6 => Field::Str(&bid.url),
        _ => Field::Null,
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, Event, EventFields, Generator};
    use eddy_types::Projection;
    use serde_json::json;

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

    #[test]
    fn a_refilled_value_equals_a_new_one_whatever_it_held() {
        let generator = Generator::new(Config { seed: 7, base_time: 1_700_000_000_000, ..Config::default() });
        let mut event = Event::new();
        let mut bids = Projection::nothing();
        bids.add_path(&["event_type"]);
        bids.add_path(&["bid", "price"]);
        bids.add_path(&["bid", "extra"]);
        let projections = [EventFields::of(&bids), EventFields::ALL, EventFields::of(&Projection::nothing())];
        let foreign =
            [json!(null), json!({"bid": {"price": "x"}, "event_type": 2}), json!({"a": 1}), json!([1])];
        let mut recycled = serde_json::Value::Null;
        for number in 0..300 {
            generator.generate(number, &mut event);
            // The same fields most of the time, as a source refills them; now and then
            // other fields or a value of another shape.
            let fields = &projections[(number % 17 == 0) as usize + (number % 23 == 0) as usize];
            if number % 29 == 0 {
                recycled = foreign[(number / 29) as usize % foreign.len()].clone();
            }
            event.fill_value_of(fields, &mut recycled);
            assert_eq!(recycled, event.to_value_of(fields), "event {number}, {fields:?}");
        }
    }
}
