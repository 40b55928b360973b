//! Every CEL expression of the files Eddy ships (the Nexmark queries, the examples, the
//! window golden cases) runs on the compiled fast path, not the interpreter, but those with
//! comprehensions.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use eddy_dataflow::expr::Expr;
use eddy_dataflow::{Logic, OperatorPlan, Plan, load};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The dataflow files under `dir` (one level of subdirectories).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path));
        } else if path.extension().is_some_and(|extension| extension == "yaml")
            // A package file declares functions, not a dataflow.
            && path.file_name().is_none_or(|name| name != "package.yaml")
        {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn logic<'a>(logic: &'a Logic, found: &mut Vec<&'a Expr>) {
    match logic {
        Logic::Cel(expr) => found.push(expr),
        Logic::Aggregate(aggregate) => found.extend(aggregate.of.iter().chain(&aggregate.by)),
        _ => {}
    }
}

fn chain<'a>(operators: &'a [OperatorPlan], found: &mut Vec<&'a Expr>) {
    for operator in operators {
        logic(&operator.logic, found);
    }
}

fn expressions(plan: &Plan) -> Vec<&Expr> {
    let mut found = Vec::new();
    for service in &plan.services {
        chain(&service.chain, &mut found);
        for source in &service.sources {
            chain(&source.chain, &mut found);
        }
        for sink in &service.sinks {
            chain(&sink.chain, &mut found);
        }
        if let Some(partition) = &service.partition {
            logic(&partition.key, &mut found);
            chain(&partition.chain, &mut found);
            if let Some(update) = &partition.update_state {
                logic(&update.logic, &mut found);
            }
        }
        if let Some(join) = &service.join {
            for side in [&join.left, &join.right] {
                logic(&side.key, &mut found);
                if let Some(when) = &side.when {
                    logic(when, &mut found);
                }
            }
            logic(&join.emit, &mut found);
        }
        if let Some(window) = &service.window {
            for step in [&window.timestamp, &window.merge].into_iter().flatten() {
                logic(step, &mut found);
            }
            if let Some(flush) = &window.flush {
                logic(&flush.logic, &mut found);
            }
        }
    }
    found
}

#[test]
fn every_shipped_expression_is_compiled() {
    let mut checked = 0;
    for dir in ["benches/nexmark", "examples", "crates/engine/tests/windows"] {
        for file in files(&repo().join(dir)) {
            let plan = load(&file).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
            for expr in expressions(&plan) {
                // Comprehensions (`entries.map(e, e.key)` in a per-window flush, once per
                // window) are outside the subset.
                let comprehension = [".map(", ".filter(", ".all(", ".exists("]
                    .iter()
                    .any(|macro_call| expr.source().contains(macro_call));
                assert_eq!(
                    expr.is_compiled(),
                    !comprehension,
                    "{}: `{expr}` runs in the interpreter",
                    file.display()
                );
                assert!(!expr.interpreted().is_compiled());
                checked += 1;
            }
        }
    }
    assert!(checked > 60, "only {checked} expressions found");
}
