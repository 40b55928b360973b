//! A `map` that imports an interface Eddy does not provide.

wit_bindgen::generate!({
    inline: "
        package test:foreign;
        interface clock {
            now: func() -> s64;
        }
        world foreign {
            import clock;
            include eddy:dataflow/%map@0.1.0;
        }
    ",
    path: "../../../wit",
    generate_all,
    world: "test:foreign/foreign",
});

struct Component;

impl Guest for Component {
    fn map(input: Record) -> Result<Vec<u8>, String> {
        Ok(format!("{}", test::foreign::clock::now() + input.timestamp).into_bytes())
    }
}

export!(Component);
