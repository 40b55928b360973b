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
        self.to_projected_value(&Projection::Whole)
    }

    /// The parts of [`to_value`](Self::to_value) that `read` keeps, built without the rest.
    pub fn to_projected_value(&self, read: &Projection) -> Value {
        let mut object = Fields::new(read);
        // In the order of the names, which builds the map without searching it.
        object.put("auction", || match self.get() {
            EventRef::Auction(auction) => auction_value(auction, read.field("auction")),
            _ => Value::Null,
        });
        object.put("bid", || match self.get() {
            EventRef::Bid(bid) => bid_value(bid, read.field("bid")),
            _ => Value::Null,
        });
        object.put("event_type", || {
            Value::from(match self.get() {
                EventRef::Person(_) => 0,
                EventRef::Auction(_) => 1,
                EventRef::Bid(_) => 2,
            })
        });
        object.put("person", || match self.get() {
            EventRef::Person(person) => person_value(person, read.field("person")),
            _ => Value::Null,
        });
        object.into_value()
    }
}

/// An object under construction from the fields a projection keeps, put in name order.
struct Fields<'a> {
    read: Option<&'a Projection>,
    fields: Vec<(String, Value)>,
}

impl<'a> Fields<'a> {
    fn new(read: impl Into<Option<&'a Projection>>) -> Self {
        Fields { read: read.into(), fields: Vec::with_capacity(10) }
    }

    /// Adds field `name` when it is kept: `value` is only built then.
    fn put(&mut self, name: &str, value: impl FnOnce() -> Value) {
        if self.read.is_some_and(|read| read.field(name).is_some()) {
            self.fields.push((name.to_owned(), value()));
        }
    }

    fn into_value(self) -> Value {
        // From names in order, the map is built in one pass (`BTreeMap`'s bulk build).
        Value::Object(self.fields.into_iter().collect::<Map<String, Value>>())
    }
}

fn person_value(person: &Person, read: Option<&Projection>) -> Value {
    let mut object = Fields::new(read);
    object.put("city", || Value::from(person.city));
    object.put("creditCard", || Value::from(person.credit_card.as_str()));
    object.put("dateTime", || Value::from(person.date_time));
    object.put("emailAddress", || Value::from(person.email_address.as_str()));
    object.put("extra", || Value::from(person.extra.as_str()));
    object.put("id", || Value::from(person.id));
    object.put("name", || Value::from(person.name.as_str()));
    object.put("state", || Value::from(person.state));
    object.into_value()
}

fn auction_value(auction: &Auction, read: Option<&Projection>) -> Value {
    let mut object = Fields::new(read);
    object.put("category", || Value::from(auction.category));
    object.put("dateTime", || Value::from(auction.date_time));
    object.put("description", || Value::from(auction.description.as_str()));
    object.put("expires", || Value::from(auction.expires));
    object.put("extra", || Value::from(auction.extra.as_str()));
    object.put("id", || Value::from(auction.id));
    object.put("initialBid", || Value::from(auction.initial_bid));
    object.put("itemName", || Value::from(auction.item_name.as_str()));
    object.put("reserve", || Value::from(auction.reserve));
    object.put("seller", || Value::from(auction.seller));
    object.into_value()
}

fn bid_value(bid: &Bid, read: Option<&Projection>) -> Value {
    let mut object = Fields::new(read);
    object.put("auction", || Value::from(bid.auction));
    object.put("bidder", || Value::from(bid.bidder));
    object.put("channel", || Value::from(bid.channel.as_str()));
    object.put("dateTime", || Value::from(bid.date_time));
    object.put("extra", || Value::from(bid.extra.as_str()));
    object.put("price", || Value::from(bid.price));
    object.put("url", || Value::from(bid.url.as_str()));
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
