//! A trap, an endless loop or unbounded allocation fails that record with an error saying
//! what happened; the pool replaces the instance and the next record runs normally.

use std::time::{Duration, Instant};

use eddy_wasm::{Batch, CallError, NoState, OperatorKind, Output, Record};

use crate::guests::{guest, host};

/// Runs the misbehaving record (`1`) between two good ones; returns its error.
fn misbehave(name: &str) -> CallError {
    let component = host().load(&guest(name)).expect("load");
    let mut pool = component.operator(OperatorKind::Map).expect("map").pool(NoState).expect("pool");
    assert_eq!(pool.call(Record::new("2", 0)), Ok(Output::Value(b"2".to_vec())), "{name} before");
    let started = Instant::now();
    let error = pool.call(Record::new("1", 0)).expect_err("misbehaves");
    assert!(started.elapsed() < Duration::from_secs(20), "{name} took {:?}", started.elapsed());
    assert!(error.replaced_instance(), "{name}: {error}");
    assert_eq!(pool.call(Record::new("3", 0)), Ok(Output::Value(b"3".to_vec())), "{name} after");
    // A batch with the bad record fails as a whole and leaves the pool usable.
    let results = pool.call_batch(&mut [Record::new("4", 0), Record::new("1", 0)].iter().collect());
    assert_eq!(
        results[0],
        Ok(Output::Value(b"4".to_vec())),
        "{name}: records run one by one without a batch export"
    );
    assert_eq!(results[1].as_ref().expect_err("misbehaves again"), &error, "{name}");
    assert_eq!(pool.call(Record::new("5", 0)), Ok(Output::Value(b"5".to_vec())), "{name} at the end");
    error
}

#[test]
fn a_panicking_component_fails_the_record_as_a_trap() {
    // Rust's panic handler reaches for WASI (environment, stderr) to print the message.
    let error = misbehave("trap");
    let CallError::UnprovidedImport { import } = &error else {
        panic!("not an unprovided import: {error:?}")
    };
    assert!(import.starts_with("wasi:cli/"), "{import}");
    assert!(error.to_string().contains("a Rust component does this when it panics"), "{error}");
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let error = misbehave("spin");
    assert_eq!(error, CallError::OutOfFuel { fuel: 20_000_000 });
    assert!(error.to_string().contains("ran out of fuel (20000000 units; an endless loop?)"), "{error}");
}

#[test]
fn unbounded_allocation_hits_the_memory_limit() {
    let error = misbehave("hog");
    let CallError::MemoryLimit { wanted, limit } = error else { panic!("not the memory limit: {error:?}") };
    assert_eq!(limit, 16 << 20);
    assert!(wanted > limit, "{wanted}");
    assert!(error.to_string().contains("over its limit of 16777216 bytes"), "{error}");
}

#[test]
fn an_abort_is_a_trap_that_names_the_instruction() {
    let component = host().load(&guest("trap")).expect("load");
    let mut pool = component.operator(OperatorKind::Map).expect("map").pool(NoState).expect("pool");
    let error = pool.call(Record::new("0", 0)).expect_err("traps");
    assert_eq!(
        error,
        CallError::Trapped(
            "wasm trap: wasm `unreachable` instruction executed (the component panicked or aborted)"
                .to_owned()
        )
    );
    assert_eq!(pool.call(Record::new("2", 0)), Ok(Output::Value(b"2".to_vec())));
}

/// A pool of `echo-batch`, which breaks the batch layout on request.
fn echo_batch() -> eddy_wasm::Pool<NoState> {
    let component = host().load(&guest("echo-batch")).expect("load");
    component.operator(OperatorKind::Map).expect("map").pool(NoState).expect("pool")
}

fn batch_of(values: &[&str]) -> Batch {
    values.iter().map(|value| Record::new(*value, 0)).collect()
}

#[test]
fn a_batch_result_outside_the_returned_bytes_fails_only_its_record() {
    let mut pool = echo_batch();
    let results = pool.call_batch(&mut batch_of(&["1", r#""outside""#, r#""err-outside""#, "2"]));
    assert_eq!(results[0], Ok(Output::Value(b"1".to_vec())));
    let reason = |result: &Result<Output, CallError>| result.as_ref().expect_err("malformed").to_string();
    assert_eq!(
        reason(&results[1]),
        "the component's batch call returned a malformed result for record 1 of the batch: its value, \
         bytes 23..25 of the output, lies outside the 24 bytes returned"
    );
    assert_eq!(
        reason(&results[2]),
        "the component's batch call returned a malformed result for record 2 of the batch: its error \
         message, bytes 24..25 of the output, lies outside the 24 bytes returned"
    );
    assert_eq!(results[3], Ok(Output::Value(b"2".to_vec())));
    assert!(!results[1].as_ref().expect_err("malformed").replaced_instance());
    // Alone, through `call`, the record fails the same way.
    let error = pool.call(Record::new(r#""outside""#, 0)).expect_err("malformed");
    assert!(matches!(error, CallError::MalformedResult { index: 0, .. }), "{error:?}");
    assert_eq!(pool.call_batch(&mut batch_of(&["3"])), vec![Ok(Output::Value(b"3".to_vec()))]);
}

#[test]
fn a_batch_with_another_number_of_results_fails_every_record() {
    let mut pool = echo_batch();
    for (first, got) in [(r#""short""#, 2), (r#""long""#, 4)] {
        let results = pool.call_batch(&mut batch_of(&[first, "1", "2"]));
        assert_eq!(results, vec![Err(CallError::BatchLength { expected: 3, got }); 3], "{first}");
        assert_eq!(
            results[0].as_ref().expect_err("length").to_string(),
            format!("the component's batch call returned {got} results for 3 records")
        );
    }
    let error = pool.call(Record::new(r#""short""#, 0)).expect_err("no result");
    assert_eq!(error, CallError::BatchLength { expected: 1, got: 0 });
    assert_eq!(pool.call(Record::new("4", 0)), Ok(Output::Value(b"4".to_vec())));
}
