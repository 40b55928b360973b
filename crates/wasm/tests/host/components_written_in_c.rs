//! Components written in C (`tests/guests-c/`, bindings from `wit-bindgen c`, linked by
//! `wasm-component-ld`) run as operators like Rust ones: the contract is the WIT, not the
//! language.

use eddy_wasm::{Batch, CallError, NoState, OperatorKind, Output, Record};

use crate::guests::host;
use crate::guests_c::c_guest;

fn value(json: &str) -> Result<Output, CallError> {
    Ok(Output::Value(json.as_bytes().to_vec()))
}

fn returned(message: &str) -> Result<Output, CallError> {
    Err(CallError::Returned(message.to_owned()))
}

#[test]
fn a_c_map_upper_cases_json_strings_and_keeps_escapes() {
    let component = host().load(&c_guest("upper")).expect("load");
    assert_eq!(component.exports(), ["map"]);
    let map = component.operator(OperatorKind::Map).expect("map");
    assert!(!map.has_batch());
    let mut pool = map.pool(NoState).expect("pool");
    let cases = [
        (r#""hello, world""#, r#""HELLO, WORLD""#),
        (r#""""#, r#""""#),
        (r#" "sensor-7" "#, r#" "SENSOR-7" "#),
        (r#""caf\u00e9 \n \"quoted\" \\ end""#, r#""CAF\u00e9 \n \"QUOTED\" \\ END""#),
        ("\"straße ok\"", "\"STRAßE OK\""),
    ];
    for (input, expected) in cases {
        let record = Record::new(input, 1_700_000_000_000).with_key("k");
        assert_eq!(pool.call(record), value(expected), "{input}");
    }
}

#[test]
fn a_c_map_fails_a_value_that_is_not_a_json_string_and_keeps_its_instance() {
    let component = host().load(&c_guest("upper")).expect("load");
    let mut pool = component.operator(OperatorKind::Map).expect("map").pool(NoState).expect("pool");
    let cases = [
        ("42", "the value is not a JSON string"),
        ("", "the value is not a JSON string"),
        (r#"{"name":"ada"}"#, "the value is not a JSON string"),
        (r#""no end"#, "the JSON string has no closing quote"),
        (r#""a" "b""#, "the value has more after its JSON string"),
        (r#""bad \x escape""#, "the JSON string has an unknown escape"),
        (r#""bad \u12zz""#, "the JSON string has a bad \\u escape"),
        (r#""ends \u12""#, "the JSON string ends inside an escape"),
        (r#""ends \"#, "the JSON string ends inside an escape"),
        ("\"tab\tinside\"", "the JSON string contains an unescaped control character"),
    ];
    for (input, message) in cases {
        let error = pool.call(Record::new(input, 0)).expect_err(input);
        assert_eq!(Err(error.clone()), returned(message), "{input}");
        assert!(!error.replaced_instance(), "{input}");
        assert_eq!(error.to_string(), format!("the component returned an error: {message}"));
    }
    // Records one by one through the batch call: a broken one fails alone.
    let mut batch: Batch =
        [Record::new(r#""a""#, 0), Record::new("7", 0), Record::new(r#""b""#, 0)].into_iter().collect();
    let results = pool.call_batch(&mut batch);
    assert_eq!(results, [value(r#""A""#), returned("the value is not a JSON string"), value(r#""B""#)]);
}

#[test]
fn a_c_filter_keeps_numbers_above_ten_and_fails_what_is_not_a_number() {
    let component = host().load(&c_guest("above_ten")).expect("load");
    assert_eq!(component.exports(), ["filter"]);
    let mut pool = component.operator(OperatorKind::Filter).expect("filter").pool(NoState).expect("pool");
    for (input, keep) in [
        ("42", true),
        ("10", false),
        ("10.5", true),
        ("1e2", true),
        ("-11", false),
        (" 11 ", true),
        ("0", false),
    ] {
        assert_eq!(pool.call(Record::new(input, 0)), Ok(Output::Keep(keep)), "{input}");
    }
    for input in ["\"hot\"", "0x20", "inf", "012", "1.", "", "11 12"] {
        assert_eq!(pool.call(Record::new(input, 0)), returned("the value is not a JSON number"), "{input}");
    }
    assert_eq!(pool.call(Record::new("11", 0)), Ok(Output::Keep(true)));
}

#[test]
fn a_c_component_that_prints_or_aborts_fails_only_that_record() {
    let component = host().load(&c_guest("misbehave")).expect("load");
    let mut pool = component.operator(OperatorKind::Map).expect("map").pool(NoState).expect("pool");
    assert_eq!(pool.call(Record::new("0", 0)), value("0"));

    // printf reaches WASI through the adapter wasm-component-ld linked in.
    let error = pool.call(Record::new("1", 0)).expect_err("prints");
    let CallError::UnprovidedImport { import } = &error else {
        panic!("not an unprovided import: {error:?}")
    };
    assert!(import.starts_with("wasi:"), "{import}");
    assert!(error.replaced_instance());
    assert_eq!(pool.call(Record::new("3", 0)), value("3"));

    // abort() is an `unreachable` instruction.
    assert_eq!(
        pool.call(Record::new("2", 0)),
        Err(CallError::Trapped(
            "wasm trap: wasm `unreachable` instruction executed (the component panicked or aborted)"
                .to_owned()
        ))
    );
    assert_eq!(pool.call(Record::new("[4]", 0)), value("[4]"));
}
