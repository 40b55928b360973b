//! Exports `map` with the wrong type: it takes and returns a string.

wit_bindgen::generate!({
    inline: "
        package test:wrong;
        world wrong {
            export %map: func(input: string) -> string;
        }
    ",
});

struct Component;

impl Guest for Component {
    fn map(input: String) -> String {
        input
    }
}

export!(Component);
