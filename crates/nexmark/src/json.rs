//! The JSON encoding of events: the shape of the Flink and RisingWave Nexmark tables.
//!
//! One object per event, all three kinds in one stream, the absent kinds `null`:
//!
//! ```text
//! {"event_type":0,"person":{"id":1000,"name":"Peter Shultz","emailAddress":"…","creditCard":"…",
//!   "city":"Boise","state":"OR","dateTime":1700000000000,"extra":"…"},"auction":null,"bid":null}
//! {"event_type":1,"person":null,"auction":{"id":1000,"itemName":"…","description":"…",
//!   "initialBid":123,"reserve":456,"dateTime":…,"expires":…,"seller":1000,"category":10,
//!   "extra":"…"},"bid":null}
//! {"event_type":2,"person":null,"auction":null,"bid":{"auction":1000,"bidder":1001,"price":789,
//!   "channel":"Google","url":"https://www.nexmark.com/…","dateTime":…,"extra":"…"}}
//! ```
//!
//! Field names are the reference's (camelCase); `dateTime` and `expires` are integers,
//! milliseconds since the Unix epoch (a query converts them where it needs a timestamp).
//! Written by hand into a caller's buffer: no allocation, no intermediate value, and no
//! escaping, which generated strings never need.

use crate::event::{Auction, Bid, Event, EventRef, Person};

impl Event {
    /// Appends the event's JSON encoding (no trailing newline) to `out`: the shape of the
    /// Flink and RisingWave Nexmark tables, `event_type` 0, 1 or 2 and the other two kinds
    /// `null`, field names in camelCase, times as integer milliseconds since the Unix epoch:
    ///
    /// ```text
    /// {"event_type":2,"person":null,"auction":null,"bid":{"auction":1000,"bidder":1001,
    ///   "price":789,"channel":"Google","url":"https://www.nexmark.com/…","dateTime":…,"extra":"…"}}
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Room for the whole event, so the many small writes below never grow the buffer.
        out.reserve(self.encoded_len_bound());
        match self.get() {
            EventRef::Person(person) => {
                out.extend_from_slice(b"{\"event_type\":0,\"person\":");
                write_person(person, out);
                out.extend_from_slice(b",\"auction\":null,\"bid\":null}");
            }
            EventRef::Auction(auction) => {
                out.extend_from_slice(b"{\"event_type\":1,\"person\":null,\"auction\":");
                write_auction(auction, out);
                out.extend_from_slice(b",\"bid\":null}");
            }
            EventRef::Bid(bid) => {
                out.extend_from_slice(b"{\"event_type\":2,\"person\":null,\"auction\":null,\"bid\":");
                write_bid(bid, out);
                out.push(b'}');
            }
        }
    }

    /// At least the length of the event's JSON encoding when no string needs escaping.
    fn encoded_len_bound(&self) -> usize {
        // Field names, punctuation and up to 20 digits per number.
        const FIXED: usize = 400;
        FIXED
            + match self.get() {
                EventRef::Person(p) => {
                    p.name.len()
                        + p.email_address.len()
                        + p.credit_card.len()
                        + p.city.len()
                        + p.state.len()
                        + p.extra.len()
                }
                EventRef::Auction(a) => a.item_name.len() + a.description.len() + a.extra.len(),
                EventRef::Bid(b) => b.channel.len() + b.url.len() + b.extra.len(),
            }
    }

    /// The event's JSON encoding; see [`write_json`](Self::write_json).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write_json(&mut out);
        out
    }
}

fn write_person(person: &Person, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"id\":");
    write_integer(person.id, out);
    out.extend_from_slice(b",\"name\":");
    write_string(&person.name, out);
    out.extend_from_slice(b",\"emailAddress\":");
    write_string(&person.email_address, out);
    out.extend_from_slice(b",\"creditCard\":");
    write_string(&person.credit_card, out);
    out.extend_from_slice(b",\"city\":");
    write_string(person.city, out);
    out.extend_from_slice(b",\"state\":");
    write_string(person.state, out);
    out.extend_from_slice(b",\"dateTime\":");
    write_integer(person.date_time, out);
    out.extend_from_slice(b",\"extra\":");
    write_string(&person.extra, out);
    out.push(b'}');
}

fn write_auction(auction: &Auction, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"id\":");
    write_integer(auction.id, out);
    out.extend_from_slice(b",\"itemName\":");
    write_string(&auction.item_name, out);
    out.extend_from_slice(b",\"description\":");
    write_string(&auction.description, out);
    out.extend_from_slice(b",\"initialBid\":");
    write_integer(auction.initial_bid, out);
    out.extend_from_slice(b",\"reserve\":");
    write_integer(auction.reserve, out);
    out.extend_from_slice(b",\"dateTime\":");
    write_integer(auction.date_time, out);
    out.extend_from_slice(b",\"expires\":");
    write_integer(auction.expires, out);
    out.extend_from_slice(b",\"seller\":");
    write_integer(auction.seller, out);
    out.extend_from_slice(b",\"category\":");
    write_integer(auction.category, out);
    out.extend_from_slice(b",\"extra\":");
    write_string(&auction.extra, out);
    out.push(b'}');
}

fn write_bid(bid: &Bid, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"auction\":");
    write_integer(bid.auction, out);
    out.extend_from_slice(b",\"bidder\":");
    write_integer(bid.bidder, out);
    out.extend_from_slice(b",\"price\":");
    write_integer(bid.price, out);
    out.extend_from_slice(b",\"channel\":");
    write_string(&bid.channel, out);
    out.extend_from_slice(b",\"url\":");
    write_string(&bid.url, out);
    out.extend_from_slice(b",\"dateTime\":");
    write_integer(bid.date_time, out);
    out.extend_from_slice(b",\"extra\":");
    write_string(&bid.extra, out);
    out.push(b'}');
}

fn write_integer(value: impl itoa::Integer, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Writes `value` as a JSON string, without escaping: only generated strings get here (an
/// [`Event`] is filled by the generator alone), and those are made of letters, digits,
/// spaces and `@._:/?=&-`, which JSON takes as they are.
fn write_string(value: &str, out: &mut Vec<u8>) {
    debug_assert!(
        !value.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\'),
        "{value:?} would need escaping"
    );
    out.push(b'"');
    out.extend_from_slice(value.as_bytes());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bid_encodes_every_reference_field() {
        let event = Event {
            number: 7,
            kind: crate::EventKind::Bid,
            bid: Bid {
                auction: 1001,
                bidder: 1002,
                price: 12345,
                channel: "Google".into(),
                url: "https://www.nexmark.com/a/b/c/item.htm?query=1".into(),
                date_time: 1_700_000_000_123,
                extra: "xyz".into(),
            },
            ..Event::default()
        };
        assert_eq!(
            String::from_utf8(event.to_json()).unwrap(),
            r#"{"event_type":2,"person":null,"auction":null,"bid":{"auction":1001,"bidder":1002,"price":12345,"channel":"Google","url":"https://www.nexmark.com/a/b/c/item.htm?query=1","dateTime":1700000000123,"extra":"xyz"}}"#
        );
    }
}
