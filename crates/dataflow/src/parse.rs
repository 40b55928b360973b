//! The entry points: [`parse`] a dataflow file's text, [`load`] it from disk, or validate a
//! dataflow built in code with [`Plan::new`].
//!
//! ```text
//! text ─ yaml::node ─→ tree ─ yaml::recover ─→ Dataflow ─ validate ─→ Plan
//!          │ syntax         │ unknown fields,           │ references, CEL,
//!          ▼ errors         ▼ wrong types               ▼ graph
//!                      Diagnostics (all of them, in file order)
//! ```
//!
//! When the document's root cannot be deserialized (no `apiVersion`, a broken `meta`), each
//! section is salvaged on its own, so the rest of the file is still validated.

use std::path::Path as FilePath;

use serde::de::DeserializeOwned;

use crate::diagnostic::{At, Diagnostic, Diagnostics, Finding};
use crate::model::{Dataflow, Meta};
use crate::package::{PackagePaths, Packages};
use crate::plan::Plan;
use crate::validate::validate;
use crate::yaml::node::{self, Kind};
use crate::yaml::recover::Recovery;
use crate::yaml::{Node, Path};

/// Parses and validates a dataflow file's text; `file_name` is used in diagnostics, and its
/// directory is where `dev.imports` paths start ([`PackagePaths::for_file`]).
///
/// # Errors
/// [`Diagnostics`] listing every problem found, in file order.
pub fn parse(source: &str, file_name: &str) -> Result<(Dataflow, Plan), Diagnostics> {
    parse_with(source, file_name, &PackagePaths::for_file(file_name))
}

/// Like [`parse`], finding imported packages with `packages`. Problems inside a package file
/// follow the dataflow file's, placed in the package file.
///
/// # Errors
/// [`Diagnostics`] listing every problem found.
pub fn parse_with(
    source: &str,
    file_name: &str,
    packages: &PackagePaths,
) -> Result<(Dataflow, Plan), Diagnostics> {
    let (tree, problems) = node::parse(source);
    let mut findings: Vec<Finding> = problems
        .into_iter()
        .map(|problem| Finding::new(problem.path, problem.message).at(At::Pos(problem.pos)))
        .collect();
    let Some(tree) = tree else {
        return Err(diagnostics(findings, file_name, None));
    };
    let mut recovery = Recovery::default();
    let dataflow = recovery.run::<Dataflow>(&tree, &Path::root()).or_else(|| salvage(&tree, &mut recovery));
    let Some(dataflow) = dataflow else {
        findings.extend(recovery.findings);
        return Err(diagnostics(findings, file_name, Some(&tree)));
    };
    let (loaded, import_findings, package_diagnostics) = Packages::load(&dataflow, packages);
    let (plan, semantic) = validate(&dataflow, &recovery.broken, &loaded);
    findings.extend(recovery.findings);
    findings.extend(import_findings);
    findings.extend(semantic);
    match plan {
        Some(plan) if findings.is_empty() && package_diagnostics.is_empty() => Ok((dataflow, plan)),
        _ => Err(Diagnostics::with_others(
            findings.into_iter().map(|finding| finding.into_diagnostic(file_name, Some(&tree))).collect(),
            package_diagnostics,
        )),
    }
}

/// Reads, parses and validates the dataflow file at `path`.
///
/// # Errors
/// [`Diagnostics`] listing every problem found, or the one saying why the file could not be
/// read.
pub fn load(path: &FilePath) -> Result<Plan, Diagnostics> {
    load_with(path, &PackagePaths::for_file(&path.display().to_string()))
}

/// Like [`load`], finding imported packages with `packages`.
///
/// # Errors
/// As [`load`].
pub fn load_with(path: &FilePath, packages: &PackagePaths) -> Result<Plan, Diagnostics> {
    let file_name = path.display().to_string();
    let source = std::fs::read_to_string(path).map_err(|error| {
        Diagnostics::new(vec![Diagnostic {
            file: file_name.clone(),
            line: 0,
            column: 0,
            field_path: String::new(),
            message: format!("cannot read the dataflow file: {error}"),
            expected: None,
        }])
    })?;
    let (_, mut plan) = parse_with(&source, &file_name, packages)?;
    if let Some(dir) = path.parent() {
        plan.resolve_component_paths(dir);
    }
    Ok(plan)
}

impl Plan {
    /// Validates a dataflow built in code (no file, so diagnostics have no line).
    ///
    /// # Errors
    /// [`Diagnostics`] listing every problem found.
    pub fn new(dataflow: &Dataflow) -> Result<Plan, Diagnostics> {
        let (plan, findings) = validate(dataflow, &[], &Packages::default());
        match plan {
            Some(plan) if findings.is_empty() => Ok(plan),
            _ => Err(diagnostics(findings, "", None)),
        }
    }
}

/// Deserializes each section of a mapping root on its own, when the root as a whole fails;
/// what cannot be read is marked broken so validation leaves it alone.
fn salvage(tree: &Node, recovery: &mut Recovery) -> Option<Dataflow> {
    if !matches!(tree.kind, Kind::Map(_)) {
        return None;
    }
    fn section<T: DeserializeOwned>(tree: &Node, recovery: &mut Recovery, name: &str) -> Option<T> {
        let path = Path::root().key(name);
        let value = recovery.run(tree.find(&path)?, &path);
        if value.is_none() {
            recovery.broken.push(path);
        }
        value
    }
    let api_version = section(tree, recovery, "apiVersion");
    let meta = section(tree, recovery, "meta");
    for (name, present) in [("apiVersion", api_version.is_some()), ("meta", meta.is_some())] {
        if !present {
            recovery.broken.push(Path::root().key(name));
        }
    }
    Some(Dataflow {
        api_version: api_version.unwrap_or_default(),
        meta: meta.unwrap_or_else(|| Meta { name: String::new(), version: None, namespace: None }),
        imports: section(tree, recovery, "imports").unwrap_or_default(),
        dev: section(tree, recovery, "dev").unwrap_or_default(),
        config: section(tree, recovery, "config").unwrap_or_default(),
        types: section(tree, recovery, "types").unwrap_or_default(),
        topics: section(tree, recovery, "topics").unwrap_or_default(),
        services: section(tree, recovery, "services").unwrap_or_default(),
        functions: section(tree, recovery, "functions").unwrap_or_default(),
    })
}

fn diagnostics(findings: Vec<Finding>, file_name: &str, tree: Option<&Node>) -> Diagnostics {
    Diagnostics::new(findings.into_iter().map(|finding| finding.into_diagnostic(file_name, tree)).collect())
}
