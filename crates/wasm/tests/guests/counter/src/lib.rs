//! `update-state` and `flush` in one component: counts records per key in state `counts`
//! and remembers each key's last value in state `last`; the flush reports how many keys
//! the window scan returned.

wit_bindgen::generate!({
    inline: "
        package test:counter;
        world counter {
            include eddy:dataflow/update-state@0.1.0;
            include eddy:dataflow/flush@0.1.0;
        }
    ",
    path: "../../../wit",
    generate_all,
    world: "test:counter/counter",
});

use eddy::dataflow::state;

struct Component;

impl Guest for Component {
    fn update_state(input: Record) -> Result<(), String> {
        let key = input.key.ok_or("the record has no key")?;
        state::increment("counts", &key, 1)?;
        state::set_value("last", &key, &input.value)?;
        Ok(())
    }

    fn flush(window: Window) -> Result<Vec<Vec<u8>>, String> {
        let entries = state::scan_window("counts")?;
        Ok(vec![format!("{{\"keys\":{},\"end\":{}}}", entries.len(), window.end).into_bytes()])
    }
}

export!(Component);
