//! A component that does not fit the operator is refused at load, saying what is missing.

use eddy_wasm::{Error, OperatorKind};

use crate::guests::{guest, host};

#[test]
fn a_missing_export_names_both_forms_and_what_the_component_has() {
    let component = host().load(&guest("filter")).expect("load");
    let error = component.operator(OperatorKind::Map).expect_err("no map");
    assert!(matches!(error, Error::MissingExport { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the component does not export `map` nor `map-batch`: a map operator needs one of them \
         (see world `map` in eddy:dataflow); it exports: filter"
    );
    let error = component.operator_named(OperatorKind::Filter, "keep-hot").expect_err("other name");
    assert!(error.to_string().contains("does not export `keep-hot` nor `keep-hot-batch`"), "{error}");
}

#[test]
fn an_export_of_the_wrong_type_is_refused_with_the_expected_signature() {
    let component = host().load(&guest("wrong-interface")).expect("a valid component");
    let error = component.operator(OperatorKind::Map).expect_err("wrong type");
    assert!(matches!(error, Error::WrongSignature { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(
            "the component's export `map` has the wrong type: expected `func(input: record) -> result<list<u8>, string>`"
        ),
        "{message}"
    );
    // A batch export taking a list of records, rather than a flat batch, is refused too.
    let error = component.operator(OperatorKind::Filter).expect_err("wrong batch type");
    assert!(matches!(error, Error::WrongSignature { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(
            "the component's export `filter-batch` has the wrong type: expected `func(input: record-batch) -> filter-output`"
        ),
        "{message}"
    );
}

#[test]
fn an_import_the_host_does_not_provide_is_refused_by_name() {
    let error = host().load(&guest("foreign-import")).expect_err("unknown import");
    assert!(matches!(error, Error::UnknownImport { .. }), "{error:?}");
    assert!(error.to_string().starts_with("the component imports `test:foreign/clock`"), "{error}");
}

#[test]
fn a_core_module_or_garbage_is_not_a_component() {
    let error = host().load(b"\0asm\x01\0\0\0").expect_err("core module");
    assert!(error.to_string().contains("a core WebAssembly module, not a component"), "{error}");
    let error = host().load(b"definitely not wasm").expect_err("garbage");
    assert!(matches!(error, Error::Invalid(_)), "{error:?}");
}
