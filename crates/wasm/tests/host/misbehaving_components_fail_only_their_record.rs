//! A trap, an endless loop or unbounded allocation fails that record with an error saying
//! what happened; the pool replaces the instance and the next record runs normally.

use std::time::{Duration, Instant};

use eddy_wasm::{CallError, NoState, OperatorKind, Output, Record};

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
    let results = pool.call_batch(vec![Record::new("4", 0), Record::new("1", 0)]);
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
