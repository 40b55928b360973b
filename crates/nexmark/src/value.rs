//! The JSON encoding of events as a [`serde_json::Value`], built field by field: the value
//! parsing [`Event::write_json`]'s bytes gives, without writing and parsing them. A dataflow
//! source that hands events to operators as JSON values uses it.

use serde_json::{Map, Value};

use crate::event::{Auction, Bid, Event, EventRef, Person};

impl Event {
    /// The event as the JSON value `serde_json::from_slice(&event.to_json())` gives: an
    /// object with `event_type` and the three kinds, the absent ones `null` (see
    /// [`write_json`](Self::write_json)). Allocates only the value itself.
    pub fn to_value(&self) -> Value {
        let (event_type, person, auction, bid) = match self.get() {
            EventRef::Person(person) => (0, person_value(person), Value::Null, Value::Null),
            EventRef::Auction(auction) => (1, Value::Null, auction_value(auction), Value::Null),
            EventRef::Bid(bid) => (2, Value::Null, Value::Null, bid_value(bid)),
        };
        let mut object = Map::new();
        object.insert("event_type".to_owned(), Value::from(event_type));
        object.insert("person".to_owned(), person);
        object.insert("auction".to_owned(), auction);
        object.insert("bid".to_owned(), bid);
        Value::Object(object)
    }
}

fn person_value(person: &Person) -> Value {
    let mut object = Map::new();
    object.insert("id".to_owned(), Value::from(person.id));
    object.insert("name".to_owned(), Value::from(person.name.as_str()));
    object.insert("emailAddress".to_owned(), Value::from(person.email_address.as_str()));
    object.insert("creditCard".to_owned(), Value::from(person.credit_card.as_str()));
    object.insert("city".to_owned(), Value::from(person.city));
    object.insert("state".to_owned(), Value::from(person.state));
    object.insert("dateTime".to_owned(), Value::from(person.date_time));
    object.insert("extra".to_owned(), Value::from(person.extra.as_str()));
    Value::Object(object)
}

fn auction_value(auction: &Auction) -> Value {
    let mut object = Map::new();
    object.insert("id".to_owned(), Value::from(auction.id));
    object.insert("itemName".to_owned(), Value::from(auction.item_name.as_str()));
    object.insert("description".to_owned(), Value::from(auction.description.as_str()));
    object.insert("initialBid".to_owned(), Value::from(auction.initial_bid));
    object.insert("reserve".to_owned(), Value::from(auction.reserve));
    object.insert("dateTime".to_owned(), Value::from(auction.date_time));
    object.insert("expires".to_owned(), Value::from(auction.expires));
    object.insert("seller".to_owned(), Value::from(auction.seller));
    object.insert("category".to_owned(), Value::from(auction.category));
    object.insert("extra".to_owned(), Value::from(auction.extra.as_str()));
    Value::Object(object)
}

fn bid_value(bid: &Bid) -> Value {
    let mut object = Map::new();
    object.insert("auction".to_owned(), Value::from(bid.auction));
    object.insert("bidder".to_owned(), Value::from(bid.bidder));
    object.insert("price".to_owned(), Value::from(bid.price));
    object.insert("channel".to_owned(), Value::from(bid.channel.as_str()));
    object.insert("url".to_owned(), Value::from(bid.url.as_str()));
    object.insert("dateTime".to_owned(), Value::from(bid.date_time));
    object.insert("extra".to_owned(), Value::from(bid.extra.as_str()));
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use crate::{Config, Event, Generator};

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
}
