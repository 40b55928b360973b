//! Random expressions of the fast path's subset and random JSON to run them on, shared by
//! the tests that check the fast path against the interpreter and the direct encoding
//! against `serde_json`.

use proptest::prelude::*;
use serde_json::{Value, json};

/// Leaves: literals of every type with their edge values, and the bindings' fields.
fn leaf() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "0",
        "1",
        "-1",
        "7",
        "9223372036854775807",
        "-9223372036854775807",
        "0u",
        "3u",
        "18446744073709551615u",
        "0.0",
        "1.0",
        "-2.5",
        "0.1",
        "1e308",
        "9007199254740993.0",
        "''",
        "'a'",
        "'10'",
        "'-3'",
        "'1.5'",
        "'é'",
        "'say \"hi\"\\n'",
        "true",
        "false",
        "null",
        "value",
        "value.a",
        "value.b",
        "value.c",
        "value.s",
        "value.l",
        "value.n",
        "value.n.x",
        "value.n.y",
        "value['a']",
        "value.l[0]",
        "value.l[1]",
        "key",
        "timestamp",
        "state",
        "state.a",
        "left.a",
        "has(value.a)",
        "has(value.n.x)",
        "has(state.a)",
        "[]",
        "{}",
    ])
    .prop_map(str::to_owned)
}

pub(in crate::expr) fn expression() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 24, 3, |inner| {
        let unary = prop::sample::select(vec!["!", "-", "int", "double", "string", "size", ".size", "paren"]);
        let binary = prop::sample::select(vec![
            "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "&&", "||", "in", "[]",
        ]);
        prop_oneof![
            (unary, inner.clone()).prop_map(|(op, x)| match op {
                "!" | "-" => format!("{op}({x})"),
                ".size" => format!("({x}).size()"),
                "paren" => format!("({x}).a"),
                function => format!("{function}({x})"),
            }),
            (binary, inner.clone(), inner.clone()).prop_map(|(op, a, b)| match op {
                "[]" => format!("({a})[{b}]"),
                _ => format!("({a}) {op} ({b})"),
            }),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| format!("({c}) ? ({a}) : ({b})")),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|items| format!("[{}]", items.join(", "))),
            (inner.clone(), inner).prop_map(|(a, b)| format!("{{'a': {a}, 'x': {b}}}")),
        ]
    })
}

fn scalar() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(-1),
        json!(7),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(9_007_199_254_740_993_u64),
        json!(0.0),
        json!(1.0),
        json!(-2.5),
        json!(1e308),
        json!(""),
        json!("a"),
        json!("10"),
        json!("1.5"),
        json!("é"),
        json!("say \"hi\"\n\\ \u{1}\u{7f}\u{2028}"),
    ])
}

pub(in crate::expr) fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(vec!["a", "x", "y"]), inner, 0..3)
                .prop_map(|map| Value::Object(map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

pub(in crate::expr) fn record() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c", "s", "l", "n"]), json_value(), 0..6)
        .prop_map(|map| Value::Object(map.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
}
