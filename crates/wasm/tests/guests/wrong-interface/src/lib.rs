//! Exports `map` with the wrong type: it takes and returns a string; and `filter-batch` with
//! a batch type Eddy no longer takes: a list of records in, a list of results out.

wit_bindgen::generate!({
    inline: "
        package test:wrong;
        world wrong {
            record %record { key: option<list<u8>>, value: list<u8>, timestamp: s64 }
            export %map: func(input: string) -> string;
            export filter-batch: func(input: list<%record>) -> list<result<bool, string>>;
        }
    ",
});

struct Component;

impl Guest for Component {
    fn map(input: String) -> String {
        input
    }

    fn filter_batch(input: Vec<Record>) -> Vec<Result<bool, String>> {
        input.iter().map(|_| Ok(true)).collect()
    }
}

export!(Component);
