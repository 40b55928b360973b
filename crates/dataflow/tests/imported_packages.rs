//! `imports`, `dev.imports` and `uses:`: a dataflow using a map and a filter of a local
//! package validates to a plan, and each broken import gives one diagnostic at its place:
//! in the dataflow file, or in the package file for a problem inside the package.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use eddy_dataflow::{Diagnostic, Logic, PackagePaths, WasmSource, parse_with};

const PACKAGE: &str = "\
apiVersion: 0.5.0
meta: {name: text-utils, version: 0.1.0, namespace: acme}
types:
  word: {type: object, properties: {text: {type: string}}}
functions:
  shout:
    operator: map
    inputs: [{name: w, type: word}]
    output: {type: word}
    run: |
      fn shout(w: Word) -> Result<Word> {
          Ok(Word { text: w.text.to_uppercase() })
      }
  is-long:
    operator: filter
    inputs: [{name: w, type: word}]
    output: {type: bool}
";

const IS_LONG: &str = "fn is_long(w: Word) -> Result<bool> { Ok(w.text.len() > 3) }\n";

/// Line numbers on the right.
const DATAFLOW: &str = "\
apiVersion: 0.5.0
meta: {name: words}
imports:
  - pkg: acme/text-utils@0.1.0
    functions: [{name: shout}, {name: is-long}]
dev:
  imports:
    - pkg: acme/text-utils@0.1.0
      path: ./pkgs/text-utils
types:
  word: {type: object, properties: {text: {type: string}, lang: {type: string}}}
  plain: {type: object, properties: {text: {type: string}}}
topics:
  words: {schema: {value: {type: word}}}
  loud: {schema: {value: {type: plain}}}
services:
  shout:
    sources: [{type: topic, id: words}]
    transforms:
      - operator: filter
        uses: is-long
      - operator: map
        uses: shout
    sinks: [{type: topic, id: loud}]
";
//  3 imports       8 - pkg (dev)     20 - operator: filter
//  4 - pkg         9 path            21 uses: is-long
//  5 functions    10 types           22 - operator: map
//                                    23 uses: shout

/// A directory with the dataflow (`dataflow`) at `dataflow.yaml` and the package (`package`,
/// plus `src/is-long.rs`) at `pkgs/text-utils/`.
fn project(dataflow: &str, package: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let package_dir = dir.path().join("pkgs/text-utils");
    std::fs::create_dir_all(package_dir.join("src")).unwrap();
    std::fs::write(package_dir.join("package.yaml"), package).unwrap();
    std::fs::write(package_dir.join("src/is-long.rs"), IS_LONG).unwrap();
    std::fs::write(dir.path().join("dataflow.yaml"), dataflow).unwrap();
    dir
}

fn check(dir: &Path, source: &str) -> Result<eddy_dataflow::Plan, Vec<Diagnostic>> {
    let file = dir.join("dataflow.yaml").display().to_string();
    parse_with(source, &file, &PackagePaths::for_file(&file))
        .map(|(_, plan)| plan)
        .map_err(|diagnostics| diagnostics.into_vec())
}

/// Exactly one problem, in `file` (ending), on `line`, whose message contains `needle`.
fn one(found: Result<eddy_dataflow::Plan, Vec<Diagnostic>>, file: &str, line: usize, needle: &str) {
    let found = match found {
        Ok(_) => panic!("expected a problem about {needle}"),
        Err(found) => found,
    };
    assert_eq!(found.len(), 1, "{found:#?}");
    let problem = &found[0];
    assert!(problem.file.ends_with(file), "{problem}");
    assert_eq!(problem.line, line, "{problem}");
    assert!(problem.message.contains(needle), "{problem}");
}

#[test]
fn a_map_and_a_filter_of_a_local_package_validate_to_uses_steps() {
    let dir = project(DATAFLOW, PACKAGE);
    let plan = check(dir.path(), DATAFLOW).unwrap_or_else(|found| panic!("{found:#?}"));
    let logic: Vec<&Logic> = plan.services[0].chain.iter().map(|step| &step.logic).collect();
    assert_eq!(
        logic,
        [
            &Logic::Wasm(WasmSource::Uses("is-long".to_owned())),
            &Logic::Wasm(WasmSource::Uses("shout".to_owned()))
        ]
    );
}

#[test]
fn inline_code_lists_the_package_functions_with_their_files() {
    let dir = project(DATAFLOW, PACKAGE);
    let file = dir.path().join("dataflow.yaml").display().to_string();
    let (_, found) = eddy_dataflow::inline_code(DATAFLOW, &file).unwrap();
    let listed: Vec<(&str, &str)> = found
        .iter()
        .map(|code| (code.origin.as_str(), code.used.as_ref().unwrap().function.as_str()))
        .collect();
    assert_eq!(
        listed,
        [("services.shout.transforms[0]", "is-long"), ("services.shout.transforms[1]", "shout")]
    );
    // `is-long` is the whole of src/is-long.rs; `shout` is inline in package.yaml (from line 11).
    assert!(found[0].used.as_ref().unwrap().file.ends_with("src/is-long.rs"));
    assert_eq!(found[0].place(1, 4), (1, 4));
    assert_eq!(found[0].code, IS_LONG);
    assert!(found[1].used.as_ref().unwrap().file.ends_with("package.yaml"));
    assert_eq!(found[1].place(2, 5), (12, 11));
}

#[test]
fn a_package_in_a_search_directory_is_found_by_namespace_name_and_version() {
    let dir = project(DATAFLOW, PACKAGE);
    let installed = dir.path().join("installed/acme/text-utils/0.1.0");
    std::fs::create_dir_all(installed.parent().unwrap()).unwrap();
    std::fs::rename(dir.path().join("pkgs/text-utils"), &installed).unwrap();
    let without_dev = DATAFLOW
        .replace("dev:\n  imports:\n    - pkg: acme/text-utils@0.1.0\n      path: ./pkgs/text-utils\n", "");
    let file = dir.path().join("dataflow.yaml").display().to_string();
    let paths = PackagePaths::for_file(&file).with_search(dir.path().join("installed"));
    assert!(parse_with(&without_dev, &file, &paths).is_ok());
    // Without the search directory it is not found, and the message says where it looked.
    one(check(dir.path(), &without_dev), "dataflow.yaml", 4, "package `acme/text-utils@0.1.0` is not found");
}

#[test]
fn a_function_that_is_not_imported_is_refused_at_uses() {
    let dir = project(DATAFLOW, PACKAGE);
    let source = DATAFLOW.replace("uses: shout", "uses: shoot");
    one(
        check(dir.path(), &source),
        "dataflow.yaml",
        23,
        "function `shoot` is not imported (did you mean `shout`?)",
    );
}

#[test]
fn a_function_the_package_does_not_export_is_refused_at_its_name() {
    let dir = project(DATAFLOW, PACKAGE);
    let source = DATAFLOW.replace("{name: is-long}]", "{name: is-long}, {name: whisper}]");
    one(
        check(dir.path(), &source),
        "dataflow.yaml",
        5,
        "package `acme/text-utils@0.1.0` has no function `whisper`",
    );
}

#[test]
fn a_function_of_another_operator_is_refused() {
    let dir = project(DATAFLOW, PACKAGE);
    let source = DATAFLOW.replace(
        "      - operator: map\n        uses: shout",
        "      - operator: filter-map\n        uses: shout",
    );
    one(
        check(dir.path(), &source),
        "dataflow.yaml",
        23,
        "is a `map` function, but this step's operator is `filter-map`",
    );
}

#[test]
fn an_input_the_source_topic_does_not_fit_is_refused() {
    let dir = project(DATAFLOW, PACKAGE);
    let source = DATAFLOW
        .replace("words: {schema: {value: {type: word}}}", "words: {schema: {value: {type: string}}}");
    one(
        check(dir.path(), &source),
        "dataflow.yaml",
        21,
        "`is-long` takes a value that topic `words`'s values do not fit",
    );
}

#[test]
fn an_output_the_sink_topic_does_not_take_is_refused() {
    let dir = project(DATAFLOW, PACKAGE);
    let source =
        DATAFLOW.replace("loud: {schema: {value: {type: plain}}}", "loud: {schema: {value: {type: word}}}");
    one(check(dir.path(), &source), "dataflow.yaml", 23, "field `lang` is missing");
}

#[test]
fn a_dev_path_that_does_not_exist_is_refused_at_the_path() {
    let dir = project(DATAFLOW, PACKAGE);
    let source = DATAFLOW.replace("path: ./pkgs/text-utils", "path: ./pkgs/nowhere");
    one(check(dir.path(), &source), "dataflow.yaml", 9, "does not exist");
}

#[test]
fn a_directory_without_a_package_file_is_refused() {
    let dir = project(DATAFLOW, PACKAGE);
    std::fs::create_dir_all(dir.path().join("pkgs/empty")).unwrap();
    let source = DATAFLOW.replace("path: ./pkgs/text-utils", "path: ./pkgs/empty");
    one(check(dir.path(), &source), "dataflow.yaml", 9, "is not a package: cannot read");
}

#[test]
fn a_malformed_package_id_is_refused() {
    let dir = project(DATAFLOW, PACKAGE);
    let source = DATAFLOW.replace("  - pkg: acme/text-utils@0.1.0", "  - pkg: acme/text-utils");
    let found = check(dir.path(), &source).unwrap_err();
    assert!(
        found.iter().any(|problem| problem.line == 4 && problem.message.contains("has no `@<version>`")),
        "{found:#?}"
    );
}

#[test]
fn a_package_whose_meta_is_another_package_is_refused() {
    let dir = project(DATAFLOW, &PACKAGE.replace("version: 0.1.0", "version: 0.2.0"));
    one(check(dir.path(), DATAFLOW), "dataflow.yaml", 4, "declares package `acme/text-utils@0.2.0`");
}

#[test]
fn a_dev_import_of_a_package_not_imported_is_refused() {
    let dir = project(DATAFLOW, PACKAGE);
    let source = DATAFLOW.replace(
        "      path: ./pkgs/text-utils\n",
        "      path: ./pkgs/text-utils\n    - {pkg: acme/other@1.0.0, path: ./pkgs/text-utils}\n",
    );
    one(check(dir.path(), &source), "dataflow.yaml", 10, "package `acme/other@1.0.0` is not in `imports`");
}

#[test]
fn problems_inside_the_package_file_are_placed_there() {
    // An unknown operator, found while reading the package file.
    let dir = project(DATAFLOW, &PACKAGE.replace("operator: filter", "operator: filtre"));
    one(check(dir.path(), DATAFLOW), "package.yaml", 15, "filtre");
    // An unknown type of an input.
    let dir = project(
        DATAFLOW,
        &PACKAGE.replace(
            "inputs: [{name: w, type: word}]\n    output: {type: bool}",
            "inputs: [{name: w, type: wrd}]\n    output: {type: bool}",
        ),
    );
    one(check(dir.path(), DATAFLOW), "package.yaml", 16, "unknown type `wrd` (did you mean `word`?)");
    // A filter returning something else than bool.
    let dir = project(DATAFLOW, &PACKAGE.replace("output: {type: bool}", "output: {type: word}"));
    one(check(dir.path(), DATAFLOW), "package.yaml", 17, "a `filter` returns `bool`");
    // A function with neither `run:` nor a `src/` file.
    let dir = project(DATAFLOW, PACKAGE);
    std::fs::remove_file(dir.path().join("pkgs/text-utils/src/is-long.rs")).unwrap();
    one(check(dir.path(), DATAFLOW), "package.yaml", 14, "`is-long` has no code");
    // A key input, which is not supported.
    let dir = project(
        DATAFLOW,
        &PACKAGE.replace(
            "[{name: w, type: word}]\n    output: {type: word}",
            "[{name: w, type: word, kind: key}]\n    output: {type: word}",
        ),
    );
    one(check(dir.path(), DATAFLOW), "package.yaml", 8, "a `key` input is not supported");
    // Not YAML at all.
    let dir = project(DATAFLOW, "functions: [");
    let found = check(dir.path(), DATAFLOW).unwrap_err();
    assert!(found.iter().all(|problem| problem.file.ends_with("package.yaml")), "{found:#?}");
}

#[test]
fn uses_outside_transforms_is_refused() {
    let dir = project(DATAFLOW, PACKAGE);
    let source = DATAFLOW.replace(
        "    sinks: [{type: topic, id: loud}]",
        "    partition:\n      assign-key: {uses: shout}\n    sinks: [{type: topic, id: loud}]",
    );
    let found = check(dir.path(), &source).unwrap_err();
    assert!(
        found
            .iter()
            .any(|problem| problem.line == 25 && problem.message.contains("runs in `transforms` steps only")),
        "{found:#?}"
    );
}
