//! Whatever the input, parsing returns a plan or diagnostics: it never panics, and every
//! diagnostic of a file that parsed as YAML points inside the file.

use eddy_dataflow::expr::{Bindings, Expr};
use eddy_dataflow::parse;
use proptest::prelude::*;

const FIXTURE: &str = include_str!("fixtures/sensors.yaml");

fn parse_checked(source: &str) {
    if let Err(diagnostics) = parse(source, "fuzz.yaml") {
        assert!(!diagnostics.is_empty());
        // YAML breaks lines at `\n`, `\r\n` and a lone `\r`.
        let lines = source.matches('\n').count() + source.matches('\r').count() + 2;
        for diagnostic in &diagnostics {
            assert!(diagnostic.line <= lines, "{diagnostic} is past the end of:\n{source}");
        }
    }
}

#[test]
fn every_truncation_of_the_fixture_parses_or_explains_itself() {
    for (end, _) in FIXTURE.char_indices() {
        parse_checked(&FIXTURE[..end]);
    }
}

#[test]
fn every_line_of_the_fixture_can_go_missing() {
    let lines: Vec<&str> = FIXTURE.lines().collect();
    for skipped in 0..lines.len() {
        let mut source: Vec<&str> = lines.clone();
        source.remove(skipped);
        parse_checked(&source.join("\n"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_checked(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_yaml_like_text_never_panics(text in "[a-z:{}\\[\\], \n\t&*!|>'\"#-]{0,200}") {
        parse_checked(&text);
    }

    #[test]
    fn a_mutated_fixture_never_panics(at in 0..FIXTURE.len(), replacement in "[ -~\n\t]{0,4}") {
        let at = (0..=at).rev().find(|i| FIXTURE.is_char_boundary(*i)).unwrap_or(0);
        let end = (at + 1..=FIXTURE.len()).find(|i| FIXTURE.is_char_boundary(*i)).unwrap_or(FIXTURE.len());
        parse_checked(&format!("{}{replacement}{}", &FIXTURE[..at], &FIXTURE[end..]));
    }

    #[test]
    fn random_expressions_compile_or_fail_cleanly(source in "[a-z0-9 .+*/%<>=!&|?:()\\[\\]{}'\",_-]{0,60}") {
        if let Ok(expr) = Expr::compile(&source) {
            let value = serde_json::json!({"a": 1, "b": [1.5, "x"], "c": {"d": null}});
            let _ = expr.eval(&Bindings::new(&value).with_state(&value));
            let _ = expr.free_variables();
        }
    }
}
