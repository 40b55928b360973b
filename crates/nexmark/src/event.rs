//! The three kinds of Nexmark events, with the reference field layouts, and [`Event`]: a
//! reusable holder of one generated event.
//!
//! Times are milliseconds since the Unix epoch; prices are in cents.

/// Which kind of event: the numbers are the `event_type` of the JSON encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A new person (who may sell and bid).
    #[default]
    Person = 0,
    /// A new auction.
    Auction = 1,
    /// A bid on an auction.
    Bid = 2,
}

/// A person joining the auction site.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Person {
    /// Dense from [`FIRST_PERSON_ID`](crate::FIRST_PERSON_ID), in creation order.
    pub id: u64,
    /// First and last name, from the reference lists.
    pub name: String,
    /// `<3-6 letters>@<3-4 letters>.com`.
    pub email_address: String,
    /// Four groups of four digits.
    pub credit_card: String,
    /// One of ten US cities.
    pub city: &'static str,
    /// One of six US states (two capital letters).
    pub state: &'static str,
    /// Event time.
    pub date_time: i64,
    /// Padding to the configured average size.
    pub extra: String,
}

/// An item put up for auction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Auction {
    /// Dense from [`FIRST_AUCTION_ID`](crate::FIRST_AUCTION_ID), in creation order.
    pub id: u64,
    /// Up to 19 letters and spaces.
    pub item_name: String,
    /// Up to 99 letters and spaces.
    pub description: String,
    /// Starting price.
    pub initial_bid: u64,
    /// Lowest price the seller accepts; at least `initial_bid`.
    pub reserve: u64,
    /// Event time.
    pub date_time: i64,
    /// When the auction closes; after `date_time`.
    pub expires: i64,
    /// The person selling.
    pub seller: u64,
    /// One of [`NUM_CATEGORIES`](crate::NUM_CATEGORIES) from
    /// [`FIRST_CATEGORY_ID`](crate::FIRST_CATEGORY_ID).
    pub category: u64,
    /// Padding to the configured average size.
    pub extra: String,
}

/// A bid on an auction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bid {
    /// The auction bid on.
    pub auction: u64,
    /// The person bidding.
    pub bidder: u64,
    /// The price offered.
    pub price: u64,
    /// Where the bid came from: a hot channel (`Google`, `Facebook`, `Baidu`, `Apple`) or
    /// `channel-<n>`.
    pub channel: String,
    /// The page the bid was made on.
    pub url: String,
    /// Event time.
    pub date_time: i64,
    /// Padding to the configured average size.
    pub extra: String,
}

/// One event, borrowed from an [`Event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventRef<'a> {
    /// A new person.
    Person(&'a Person),
    /// A new auction.
    Auction(&'a Auction),
    /// A bid.
    Bid(&'a Bid),
}

/// A generated event. [`Generator::generate`](crate::Generator::generate) refills it in
/// place: one holder per kind keeps its strings' capacity, so a generator loop that reuses
/// one `Event` allocates nothing once warm.
#[derive(Clone, Debug, Default)]
pub struct Event {
    pub(crate) number: u64,
    pub(crate) kind: EventKind,
    pub(crate) person: Person,
    pub(crate) auction: Auction,
    pub(crate) bid: Bid,
}

impl Event {
    /// An empty holder (it reads as a default person until filled).
    pub fn new() -> Self {
        Event::default()
    }

    /// The event's number: its position in the stream, from 0.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Which kind of event this is.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// The event time (the `dateTime` field), in ms since the Unix epoch.
    pub fn date_time(&self) -> i64 {
        match self.kind {
            EventKind::Person => self.person.date_time,
            EventKind::Auction => self.auction.date_time,
            EventKind::Bid => self.bid.date_time,
        }
    }

    /// The event.
    pub fn get(&self) -> EventRef<'_> {
        match self.kind {
            EventKind::Person => EventRef::Person(&self.person),
            EventKind::Auction => EventRef::Auction(&self.auction),
            EventKind::Bid => EventRef::Bid(&self.bid),
        }
    }

    /// The person, if this is a person event.
    pub fn person(&self) -> Option<&Person> {
        (self.kind == EventKind::Person).then_some(&self.person)
    }

    /// The auction, if this is an auction event.
    pub fn auction(&self) -> Option<&Auction> {
        (self.kind == EventKind::Auction).then_some(&self.auction)
    }

    /// The bid, if this is a bid event.
    pub fn bid(&self) -> Option<&Bid> {
        (self.kind == EventKind::Bid).then_some(&self.bid)
    }
}

impl PartialEq for Event {
    /// Events are equal when their numbers and contents are (whatever the holders of the
    /// other kinds kept).
    fn eq(&self, other: &Self) -> bool {
        self.number == other.number && self.get() == other.get()
    }
}

impl Eq for Event {}
