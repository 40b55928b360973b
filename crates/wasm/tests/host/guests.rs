//! The test components under `tests/guests/`, built once per test run for `wasm32-wasip2`
//! (by `eddy-test-guests`, which the engine's and the CLI's tests share).

use eddy_wasm::{Host, Options};

/// The bytes of the component built from `tests/guests/<name>`.
pub(crate) fn guest(name: &str) -> Vec<u8> {
    eddy_test_guests::component_bytes(name)
}

/// A host with small limits, so the tests of runaway guests are quick.
pub(crate) fn host() -> Host {
    Host::new(Options { fuel_per_call: 20_000_000, memory_limit: 16 << 20, ..Options::default() })
        .expect("host")
}
