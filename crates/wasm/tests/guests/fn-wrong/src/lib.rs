//! Exports `states` and `invoke` with the wrong types: `invoke` takes and returns a string.

wit_bindgen::generate!({
    inline: "
        package test:wrong-function;
        world wrong {
            export states: func() -> list<string>;
            export invoke: func(input: string) -> string;
        }
    ",
});

struct Component;

impl Guest for Component {
    fn states() -> Vec<String> {
        Vec::new()
    }

    fn invoke(input: String) -> String {
        input
    }
}

export!(Component);
