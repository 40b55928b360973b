//! The host against real components: the Rust guests under `tests/guests/`, compiled to
//! `wasm32-wasip2`, and the C guests under `tests/guests-c/`, compiled by clang and linked
//! into components, both by the test run itself.

mod guests;
mod guests_c;

mod cached_components_load_without_compiling;
mod components_written_in_c;
mod loading_refuses_the_wrong_interface;
mod misbehaving_components_fail_only_their_record;
mod operators_run_guest_code;
mod stateful_functions_run_guest_code;
