//! The host against real components: the guests under `tests/guests/`, compiled to
//! `wasm32-wasip2` by the test run itself.

mod guests;

mod cached_components_load_without_compiling;
mod loading_refuses_the_wrong_interface;
mod misbehaving_components_fail_only_their_record;
mod operators_run_guest_code;
