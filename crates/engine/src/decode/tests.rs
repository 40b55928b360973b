use std::collections::BTreeMap;

use eddy_dataflow::model::Converter;
use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::flow;

fn reading() -> TypeDef {
    serde_json::from_value(json!({
        "type": "object",
        "properties": {"sensor": {"type": "string"}, "temp": {"type": "f64"}, "ts": {"type": "i64"}}
    }))
    .unwrap()
}

fn reads(paths: &[&[&str]]) -> Projection {
    let mut read = Projection::nothing();
    for path in paths {
        read.add_path(path);
    }
    read
}

#[test]
fn only_the_fields_read_are_built() {
    let decoder = Decoder::new(&reading(), &reads(&[&["temp"]])).unwrap();
    let bytes = br#"{"sensor":"s-1","temp":31.5,"ts":17,"extra":[1,{"x":"y"}]}"#;
    assert_eq!(decoder.decode(bytes), Some(json!({"temp": 31.5})));
    let decoder = Decoder::new(&reading(), &reads(&[&["sensor"], &["extra"]])).unwrap();
    assert_eq!(decoder.decode(bytes), Some(json!({"sensor": "s-1", "extra": [1, {"x": "y"}]})));
}

#[test]
fn an_earlier_value_is_written_over_in_place() {
    let optional: TypeDef = serde_json::from_value(json!({
        "type": "object",
        "properties": {"sensor": {"type": "string"}, "temp": {"type": "f64"}}
    }))
    .unwrap();
    let decoder = Decoder::new(&optional, &reads(&[&["sensor"], &["note"]])).unwrap();
    let first = decoder.decode(br#"{"sensor":"s-1","temp":1.5,"note":"warm"}"#).unwrap();
    let buffer = first["sensor"].as_str().unwrap().as_ptr();
    let second = decoder.decode_into(br#"{"sensor":"s-2","temp":2.5}"#, first).unwrap();
    assert_eq!(second, json!({"sensor": "s-2"}), "a field the record lacks is gone");
    assert_eq!(second["sensor"].as_str().unwrap().as_ptr(), buffer, "the string's buffer is kept");
    let refused = decoder.decode_into(br#"{"sensor":7,"temp":2.5}"#, second);
    assert_eq!(refused, None, "what the walk refuses is still left to the exact decoding");
}

#[test]
fn a_value_read_whole_needs_no_decoder() {
    assert!(Decoder::new(&reading(), &Projection::Whole).is_none());
    let unresolved = TypeDef::Named("reading".into());
    assert!(Decoder::new(&unresolved, &reads(&[&["temp"]])).is_none());
}

#[test]
fn what_the_exact_decoding_refuses_or_must_explain_is_left_to_it() {
    let decoder = Decoder::new(&reading(), &reads(&[&["temp"]])).unwrap();
    for bytes in [
        &br#"{"sensor":"s-1","temp":31.5,"ts":"late"}"#[..],
        br#"{"sensor":7,"temp":31.5,"ts":1}"#,
        br#"{"temp":31.5,"ts":1}"#,
        br#"{"sensor":"s","temp":"hot","ts":1}"#,
        br#"{"sensor":"s","temp":1.0,"ts":1.5}"#,
        br#"["sensor","temp"]"#,
        br#"{"sensor":"s","temp":1.0,"ts":1"#,
        br#"{"sensor":"s","temp":1.0,"ts":1} x"#,
        b"",
        br#"{"sensor":"s","temp":1.0,"temp":2.0,"ts":1}"#,
    ] {
        assert_eq!(decoder.decode(bytes), None, "{}", String::from_utf8_lossy(bytes));
    }
    // A field given twice: the exact decoding keeps the last.
    let twice = br#"{"sensor":"s","temp":"hot","temp":2.0,"ts":1}"#;
    assert_eq!(flow::decode(twice, Converter::Json, &reading()).unwrap()["temp"], json!(2.0));
}

fn field_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "b", "c", "d"]).prop_map(str::to_owned)
}

fn type_def() -> impl Strategy<Value = TypeDef> {
    let leaf = prop::sample::select(Primitive::ALL.to_vec()).prop_map(TypeDef::Primitive);
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|items| TypeDef::List(Box::new(items))),
            prop::collection::btree_map(field_name(), inner, 0..4).prop_map(TypeDef::Object),
        ]
    })
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-300i64..300).prop_map(Value::from),
        (-1e40f64..1e40).prop_map(Value::from),
        "[a-z\"\\\\é\n\u{1}\u{7f}\u{1F600}/]{0,6}".prop_map(Value::String),
    ]
}

/// A value of type `ty` most of the time; now and then one of another shape, a field
/// missing or one too many.
fn value_of(ty: &TypeDef) -> BoxedStrategy<Value> {
    let fitting = match ty {
        TypeDef::Primitive(Primitive::String) => "[a-z\\\\]{0,5}".prop_map(Value::String).boxed(),
        TypeDef::Primitive(Primitive::Bool) => any::<bool>().prop_map(Value::Bool).boxed(),
        TypeDef::Primitive(Primitive::Bytes) => prop_oneof![
            "[a-z]{0,5}".prop_map(Value::String),
            prop::collection::vec(0u64..300, 0..3).prop_map(|b| json!(b)),
        ]
        .boxed(),
        TypeDef::Primitive(_) => scalar().boxed(),
        TypeDef::List(items) => prop::collection::vec(value_of(items), 0..3).prop_map(Value::Array).boxed(),
        TypeDef::Object(properties) => {
            let fields: Vec<(Just<String>, BoxedStrategy<Value>)> =
                properties.iter().map(|(name, def)| (Just(name.clone()), value_of(def))).collect();
            let extra = prop::option::of((field_name(), scalar()));
            let drop = prop::option::weighted(0.1, 0..properties.len().max(1));
            (fields, extra, drop)
                .prop_map(|(fields, extra, drop)| {
                    let mut object: serde_json::Map<String, Value> = fields.into_iter().collect();
                    if let Some((name, value)) = extra {
                        object.entry(name).or_insert(value);
                    }
                    if let Some(at) = drop {
                        let name = object.keys().nth(at).cloned();
                        name.map(|name| object.remove(&name));
                    }
                    Value::Object(object)
                })
                .boxed()
        }
        TypeDef::Named(_) => scalar().boxed(),
    };
    prop_oneof![8 => fitting, 1 => scalar()].boxed()
}

fn projection() -> impl Strategy<Value = Projection> {
    let name = prop::sample::select(vec!["a", "b", "c", "d", "e"]);
    prop::collection::vec(prop::collection::vec(name, 0..3), 0..4).prop_map(|paths| {
        let mut read = Projection::nothing();
        for path in paths {
            read.add_path(&path);
        }
        read
    })
}

fn case() -> impl Strategy<Value = (TypeDef, Value, Projection)> {
    type_def().prop_flat_map(|ty| {
        let value = value_of(&ty);
        (Just(ty), value, projection())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever the walk accepts, the exact decoding accepts, and the steps see the same
    /// parts; whatever the exact decoding accepts (with no field twice), the walk does.
    #[test]
    fn the_walk_keeps_what_the_projection_keeps_of_the_exact_decoding((ty, value, read) in case()) {
        let bytes = serde_json::to_vec(&value).unwrap();
        let exact = flow::decode(&bytes, Converter::Json, &ty);
        let Some(decoder) = Decoder::new(&ty, &read) else {
            prop_assert!(read.is_whole());
            return Ok(());
        };
        match (decoder.decode(&bytes), &exact) {
            (Some(walked), Ok(whole)) => prop_assert_eq!(read.apply(&walked), read.apply(whole)),
            (Some(walked), Err(reason)) => prop_assert!(false, "walk accepted {walked} the exact decoding refused: {reason}"),
            (None, Ok(whole)) => prop_assert!(false, "walk refused {whole} of type {ty:?}"),
            (None, Err(_)) => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Decoding into the value of an earlier record (of the same type, or of any other
    /// shape) gives what decoding afresh gives, or leaves it to the exact decoding as it does.
    #[test]
    fn a_value_written_into_an_earlier_one_is_the_value_decoded_afresh(
        (ty, value, read) in case(),
        earlier in any::<u64>(),
        other in type_def().prop_flat_map(|ty| value_of(&ty)),
    ) {
        let Some(decoder) = Decoder::new(&ty, &read) else { return Ok(()) };
        let bytes = serde_json::to_vec(&value).unwrap();
        let fresh = decoder.decode(&bytes);
        // An earlier record of the same type, decoded: its map, names and strings.
        let earlier_value = value_of(&ty)
            .new_tree(&mut proptest::test_runner::TestRunner::new_with_rng(
                ProptestConfig::default(),
                proptest::test_runner::TestRng::from_seed(
                    proptest::test_runner::RngAlgorithm::ChaCha,
                    &[earlier.to_le_bytes(), [0; 8], [0; 8], [0; 8]].concat(),
                ),
            ))
            .unwrap()
            .current();
        let spare = decoder.decode(&serde_json::to_vec(&earlier_value).unwrap()).unwrap_or(Value::Null);
        let into_earlier = decoder.decode_into(&bytes, spare);
        let into_other = decoder.decode_into(&bytes, other);
        prop_assert_eq!(&into_earlier, &fresh);
        prop_assert_eq!(&into_other, &fresh);
    }
}

#[test]
fn a_typed_object_is_built_exactly_as_projected() {
    let ty = TypeDef::Object(BTreeMap::from([
        ("a".to_owned(), reading()),
        ("b".to_owned(), TypeDef::List(Box::new(TypeDef::Primitive(Primitive::U32)))),
    ]));
    let decoder = Decoder::new(&ty, &reads(&[&["a", "temp"], &["b"], &["z"]])).unwrap();
    let value = json!({"a": {"sensor": "s", "temp": 2.5, "ts": 3, "x": 1}, "b": [1, 2], "z": null});
    let bytes = serde_json::to_vec(&value).unwrap();
    assert_eq!(decoder.decode(&bytes), Some(json!({"a": {"temp": 2.5}, "b": [1, 2], "z": null})));
    let bad = serde_json::to_vec(&json!({"a": {"sensor": "s", "temp": 2.5, "ts": 3}, "b": [1, -2]})).unwrap();
    assert_eq!(decoder.decode(&bad), None);
}

/// Reads field `a` of `text` whole with both decodings: `Some` when the walk accepts it,
/// after checking it read what the exact decoding reads.
fn read_both(text: &str) -> Option<Value> {
    let ty = TypeDef::Object(BTreeMap::new());
    let read = reads(&[&["a"]]);
    let walked = Decoder::new(&ty, &read).unwrap().decode(text.as_bytes());
    let exact = flow::decode(text.as_bytes(), Converter::Json, &ty).map(|whole| read.apply(&whole));
    if let Some(walked) = &walked {
        assert_eq!(Ok(walked), exact.as_ref(), "{text}");
        assert_eq!(walked.to_string(), exact.as_ref().unwrap().to_string(), "{text}");
    }
    walked.and_then(|object| object.get("a").cloned())
}

#[test]
fn numbers_strings_and_spaces_are_read_as_serde_json_reads_them() {
    for (text, read) in [
        (" {\n\t\"a\" : 12 ,\r\"b\":[ ] } \n", json!(12)),
        (r#"{"a":-9223372036854775808}"#, json!(i64::MIN)),
        (r#"{"a":18446744073709551615}"#, json!(u64::MAX)),
        (r#"{"a":0.1}"#, json!(0.1)),
        (r#"{"a":-0.0}"#, json!(-0.0)),
        (r#"{"a":1E5}"#, json!(100000.0)),
        (r#"{"a":2.5e-3}"#, json!(0.0025)),
        (r#"{"a":1e-400}"#, json!(0.0)),
        (r#"{"a":9007199254740993.0}"#, json!(9007199254740992.0)),
        (r#"{"a":0.30000000000000004441}"#, json!(0.30000000000000004)),
        (r#"{"a":"tab\there \"q\" \\ \/ \u00e9\u20ac"}"#, json!("tab\there \"q\" \\ / é€")),
        (r#"{"a":"ünïcødé 😀"}"#, json!("ünïcødé 😀")),
        (r#"{"a":{"x":1,"x":2}}"#, json!({"x": 2})),
        (r#"{"a":[true,false,null,{}]}"#, json!([true, false, null, {}])),
    ] {
        assert_eq!(read_both(text), Some(read), "{text}");
    }
    // Left to the exact decoding, which reads or refuses them.
    for text in [
        r#"{"a":-0}"#,
        r#"{"a":18446744073709551616}"#,
        r#"{"a":-9223372036854775809}"#,
        r#"{"a":1e400}"#,
        r#"{"a":"\ud83d\ude00"}"#,
        r#"{"a":"\u+123"}"#,
        r#"{"a":"\x"}"#,
        "{\"a\":\"line\nbreak\"}",
        r#"{"\u0061":1}"#,
        r#"{"a":01}"#,
        r#"{"a":1.}"#,
        r#"{"a":.5}"#,
        r#"{"a":1e}"#,
        r#"{"a":tru}"#,
        r#"{"a":[1,]}"#,
        r#"{"a":1,}"#,
        r#"{"a" 1}"#,
        &format!(r#"{{"a":{}{}}}"#, "[".repeat(101), "]".repeat(101)),
    ] {
        assert_eq!(read_both(text), None, "{text}");
    }
}
