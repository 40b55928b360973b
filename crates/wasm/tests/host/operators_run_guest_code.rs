//! Each operator kind, through a guest that implements it.

use eddy_wasm::{Batch, CallError, MemoryState, NoState, OperatorKind, Output, Record, Window};

use crate::guests::{guest, host};

#[test]
fn a_filter_keeps_numbers_above_ten_and_fails_what_is_not_a_number() {
    let component = host().load(&guest("filter")).expect("load");
    let mut pool = component.operator(OperatorKind::Filter).expect("filter").pool(NoState).expect("pool");
    assert_eq!(pool.call(Record::new("42", 0)), Ok(Output::Keep(true)));
    assert_eq!(pool.call(Record::new("3.5", 0)), Ok(Output::Keep(false)));
    let error = pool.call(Record::new("\"hot\"", 0)).expect_err("not a number");
    assert_eq!(error.to_string(), "the component returned an error: value is not a number: \"hot\"");
    assert!(!error.replaced_instance());
    assert_eq!(pool.call(Record::new("11", 0)), Ok(Output::Keep(true)));
}

#[test]
fn a_map_sees_the_value_and_timestamp() {
    let component = host().load(&guest("map")).expect("load");
    let map = component.operator(OperatorKind::Map).expect("map");
    assert!(!map.has_batch());
    let mut pool = map.pool(NoState).expect("pool");
    let output = pool.call(Record::new(r#"{"temp":21.5}"#, 1_700_000_000_123)).expect("map");
    assert_eq!(output, Output::Value(br#"{"value":{"temp":21.5},"at":1700000000123}"#.to_vec()));
}

#[test]
fn a_batch_call_returns_one_result_per_record_in_order() {
    let records: Vec<Record> = (0..100).map(|i| Record::new(i.to_string(), i)).collect();
    let expected: Vec<_> =
        (0..100).map(|i| Ok(Output::Value(format!(r#"{{"value":{i},"at":{i}}}"#).into_bytes()))).collect();
    let host = host();
    for name in ["map-batch", "map"] {
        let operator = host.load(&guest(name)).expect("load").operator(OperatorKind::Map).expect("map");
        assert_eq!(operator.has_batch(), name == "map-batch");
        let mut pool = operator.pool(NoState).expect("pool");
        let mut batch: Batch = records.iter().collect();
        assert_eq!(pool.call_batch(&mut batch), expected, "{name}");
        // The batch is left as it was, and serves again once cleared.
        assert_eq!(pool.call_batch(&mut batch), expected, "{name} again");
        batch.clear();
        batch.push(Some(b"k"), b"[1,2]", -3);
        assert_eq!(
            pool.call_batch(&mut batch),
            vec![Ok(Output::Value(br#"{"value":[1,2],"at":-3}"#.to_vec()))]
        );
        assert_eq!(
            pool.call(Record::new("7", 8)),
            Ok(Output::Value(br#"{"value":7,"at":8}"#.to_vec())),
            "{name}"
        );
        assert!(pool.call_batch(&mut Batch::new()).is_empty());
    }
}

#[test]
fn a_batch_export_gets_each_records_key_value_and_timestamp() {
    let host = host();
    let operator = host.load(&guest("echo-batch")).expect("load").operator(OperatorKind::Map).expect("map");
    let mut pool = operator.pool(NoState).expect("pool");
    let mut batch = Batch::new();
    batch.push(Some(b"key-0"), b"{\"a\":\"\xc3\xa9\"}", 1);
    batch.push(None, b"", 2);
    batch.push(Some(b""), b"[]", i64::MIN);
    assert_eq!(
        pool.call_batch(&mut batch),
        vec![
            Ok(Output::Value(b"{\"a\":\"\xc3\xa9\"}".to_vec())),
            Ok(Output::Value(Vec::new())),
            Ok(Output::Value(b"[]".to_vec())),
        ]
    );
    // With only a batch export, one record is a batch of one.
    assert_eq!(pool.call(Record::new("5", 0)), Ok(Output::Value(b"5".to_vec())));
}

#[test]
fn every_batch_world_returns_its_results_through_the_flat_layout() {
    let component = host().load(&guest("batch-kinds")).expect("load");
    let records = [
        Record::new("12", 100).with_key("a"),
        Record::new("3", 200).with_key("b"),
        Record::new("\"x\"", 300).with_key("a"),
        Record::new("2", 400),
    ];
    let mut batch: Batch = records.iter().collect();
    let mut run = |kind: OperatorKind| {
        let operator = component.operator(kind).expect("operator");
        assert!(operator.has_batch(), "{kind}");
        let mut pool = operator.pool(MemoryState::default()).expect("pool");
        let results = pool.call_batch(&mut batch);
        (results, pool)
    };
    let refused = || Err(CallError::Returned("not an integer: \"x\"".to_owned()));
    let value = |text: &str| text.as_bytes().to_vec();

    let (results, mut pool) = run(OperatorKind::Filter);
    assert_eq!(
        results,
        [Ok(Output::Keep(true)), Ok(Output::Keep(false)), refused(), Ok(Output::Keep(false))]
    );
    assert_eq!(pool.call(Record::new("11", 0)), Ok(Output::Keep(true)), "one record, batch export only");

    let (results, _) = run(OperatorKind::FilterMap);
    let kept = |text: &str| Ok(Output::MaybeValue(Some(value(text))));
    assert_eq!(results, [kept("24"), Ok(Output::MaybeValue(None)), refused(), kept("4")]);

    let (results, _) = run(OperatorKind::FlatMap);
    let values = |texts: &[&str]| Ok(Output::Values(texts.iter().map(|text| value(text)).collect()));
    assert_eq!(
        results,
        [values(&["12", "12", "12"]), values(&["3", "3", "3"]), refused(), values(&["2", "2"])]
    );

    let (results, _) = run(OperatorKind::AssignKey);
    let key = |text: &str| Ok(Output::Key(value(text)));
    assert_eq!(results, [key("12"), key("3"), refused(), key("2")]);

    let (results, _) = run(OperatorKind::AssignTimestamp);
    let time = |ms| Ok(Output::Timestamp(ms));
    assert_eq!(results, [time(112), time(203), refused(), time(402)]);

    let (results, pool) = run(OperatorKind::UpdateState);
    let no_key = Err(CallError::Returned("no key".to_owned()));
    assert_eq!(results, [Ok(Output::Updated), Ok(Output::Updated), refused(), no_key]);
    assert_eq!(pool.state().value("counts", b"a"), Some(serde_json::json!(12)));
    assert_eq!(pool.state().value("counts", b"b"), Some(serde_json::json!(3)));
}

#[test]
fn assign_key_returns_the_new_key() {
    let component = host().load(&guest("assign-key")).expect("load");
    let mut pool =
        component.operator(OperatorKind::AssignKey).expect("assign-key").pool(NoState).expect("pool");
    assert_eq!(
        pool.call(Record::new("\"sensor-7\"", 0).with_key("old")),
        Ok(Output::Key(b"sensor-7".to_vec()))
    );
    let error = pool.call(Record::new("12", 0)).expect_err("not a string");
    assert!(error.to_string().contains("cannot key by 12: not a JSON string"), "{error}");
}

#[test]
fn update_state_counts_per_key_through_the_state_imports() {
    let component = host().load(&guest("counter")).expect("load");
    let operator = component.operator(OperatorKind::UpdateState).expect("update-state");
    let mut pool = operator.pool(MemoryState::default()).expect("pool");
    for (key, value) in [("a", "1"), ("b", "2"), ("a", "3")] {
        assert_eq!(pool.call(Record::new(value, 0).with_key(key)), Ok(Output::Updated));
    }
    {
        let state = pool.state();
        assert_eq!(state.value("counts", b"a"), Some(serde_json::json!(2)));
        assert_eq!(state.value("counts", b"b"), Some(serde_json::json!(1)));
        assert_eq!(state.value("last", b"a"), Some(serde_json::json!(3)));
    }
    let error = pool.call(Record::new("1", 0)).expect_err("no key");
    assert_eq!(error.to_string(), "the component returned an error: the record has no key");

    // The runtime may change the state between calls; the component sees the change.
    pool.state().values.insert(("counts".to_owned(), b"a".to_vec()), b"40".to_vec());
    assert_eq!(pool.call(Record::new("5", 0).with_key("a")), Ok(Output::Updated));
    assert_eq!(pool.state().value("counts", b"a"), Some(serde_json::json!(41)));
}

#[test]
fn a_state_error_reaches_the_component_as_its_err() {
    let component = host().load(&guest("counter")).expect("load");
    let mut pool =
        component.operator(OperatorKind::UpdateState).expect("update-state").pool(NoState).expect("pool");
    let error = pool.call(Record::new("1", 0).with_key("a")).expect_err("no state");
    assert!(error.to_string().contains("state `counts` is not available to this operator"), "{error}");
}

#[test]
fn flush_runs_with_the_window_and_an_empty_window_scan() {
    let component = host().load(&guest("counter")).expect("load");
    let flush = component.operator(OperatorKind::Flush).expect("flush");
    let mut pool = flush.pool(MemoryState::default()).expect("pool");
    assert_eq!(pool.flush(Window { start: 0, end: 30_000 }), Ok(vec![br#"{"keys":0,"end":30000}"#.to_vec()]));
    let error = pool.call(Record::new("1", 0)).expect_err("records to a flush");
    assert_eq!(error.to_string(), "a flush operator cannot be run with `call`");
}
