//! The exactly-once test's `sum` and `big-ones` logic as one component: `filter` keeps
//! events with `v > 90`, `assign-key` keys them by `k`, `update-state` adds `v` to the key's
//! sum in state `sum-per-key`.

wit_bindgen::generate!({
    inline: "
        package test:eo-sum;
        world eo-sum {
            import eddy:dataflow/state@0.1.0;
            use eddy:dataflow/types@0.1.0.{%record};
            export filter: func(input: %record) -> result<bool, string>;
            export assign-key: func(input: %record) -> result<list<u8>, string>;
            export update-state: func(input: %record) -> result<_, string>;
        }
    ",
    path: "../../../wit",
    generate_all,
    world: "test:eo-sum/eo-sum",
});

use eddy::dataflow::state;

#[derive(serde::Deserialize)]
struct Event {
    k: String,
    v: u64,
}

fn event(input: &Record) -> Result<Event, String> {
    serde_json::from_slice(&input.value).map_err(|e| format!("not an event: {e}"))
}

struct Component;

impl Guest for Component {
    fn filter(input: Record) -> Result<bool, String> {
        Ok(event(&input)?.v > 90)
    }

    fn assign_key(input: Record) -> Result<Vec<u8>, String> {
        Ok(event(&input)?.k.into_bytes())
    }

    fn update_state(input: Record) -> Result<(), String> {
        let by = i64::try_from(event(&input)?.v).map_err(|e| e.to_string())?;
        let key = input.key.ok_or("the record has no key")?;
        state::increment("sum-per-key", &key, by)?;
        Ok(())
    }
}

export!(Component);
