//! The exactly-once test's windowed count as one component: the event time is the event's
//! `id` in ms, the key its `k`; `update-state` counts records per key and window in state
//! `count-per-window`, and `flush` emits `{"k", "start", "count"}` for each key the window
//! scan returns.

wit_bindgen::generate!({
    inline: "
        package test:eo-window;
        world eo-window {
            import eddy:dataflow/state@0.1.0;
            use eddy:dataflow/types@0.1.0.{%record, window};
            export assign-timestamp: func(input: %record) -> result<s64, string>;
            export assign-key: func(input: %record) -> result<list<u8>, string>;
            export update-state: func(input: %record) -> result<_, string>;
            export flush: func(window: window) -> result<list<list<u8>>, string>;
        }
    ",
    path: "../../../wit",
    generate_all,
    world: "test:eo-window/eo-window",
});

use eddy::dataflow::state;

#[derive(serde::Deserialize)]
struct Event {
    id: i64,
    k: String,
}

fn event(input: &Record) -> Result<Event, String> {
    serde_json::from_slice(&input.value).map_err(|e| format!("not an event: {e}"))
}

struct Component;

impl Guest for Component {
    fn assign_timestamp(input: Record) -> Result<i64, String> {
        Ok(event(&input)?.id)
    }

    fn assign_key(input: Record) -> Result<Vec<u8>, String> {
        Ok(event(&input)?.k.into_bytes())
    }

    fn update_state(input: Record) -> Result<(), String> {
        let key = input.key.ok_or("the record has no key")?;
        state::increment("count-per-window", &key, 1)?;
        Ok(())
    }

    fn flush(window: Window) -> Result<Vec<Vec<u8>>, String> {
        let mut out = Vec::new();
        for entry in state::scan_window("count-per-window")? {
            let key = String::from_utf8(entry.key).map_err(|e| e.to_string())?;
            let count: u64 = serde_json::from_slice(&entry.value).map_err(|e| e.to_string())?;
            let json = serde_json::json!({"k": key, "start": window.start, "count": count});
            out.push(json.to_string().into_bytes());
        }
        Ok(out)
    }
}

export!(Component);
