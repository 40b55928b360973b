//! `eddy build`: compiles the inline Rust functions of a dataflow file (`run:` in a step,
//! as in Fluvio SDF) into WebAssembly components that Eddy's host (`eddy-wasm`) runs.
//!
//! ```yaml
//! types:
//!   reading: {type: object, properties: {sensor: {type: string}, temp: {type: f64}}}
//! services:
//!   hot:
//!     transforms:
//!       - operator: filter
//!         run: |
//!           fn hot(r: Reading) -> Result<bool> {
//!               Ok(r.temp > 30.0)
//!           }
//! ```
//!
//! Each snippet becomes one component exporting its step's operator world of
//! `eddy:dataflow` (filter, map, filter-map, flat-map, assign-key, assign-timestamp,
//! update-state, flush); the function takes the record's value decoded from JSON into a
//! type generated from `types:` (`reading` → `Reading`) and returns `Result<...>`
//! (`anyhow`'s: `?`, `bail!`, `Context` work). The shapes per operator are in
//! [`Operator`]; `update-state` reaches the service's states through one accessor per state
//! (`counts().increment(1)?`, `let mut a = acc(); a.sum += r.temp; a.update()?`).
//!
//! [`build`] generates one cargo workspace per dataflow in `<build-dir>/<dataflow-name>/`
//! (a crate of types and glue, and one cdylib crate per snippet, each snippet copied
//! verbatim at the end of its `src/lib.rs`), runs `cargo build --release --target
//! wasm32-wasip2 --message-format=json` (the target whose output is a component, which is
//! what the host loads; no `wasm-tools` step is needed), and copies the components to
//! `<build-dir>/<dataflow-name>/components/<hash>/`. `<hash>` is the SHA-256 of every
//! generated file and the target: when that directory is complete the build is up to date and
//! nothing runs, not even cargo. Compiler errors are placed in the dataflow file:
//!
//! ```text
//! dataflow.yaml:23:15: services.hot.transforms[0].run: error[E0425]: cannot find value `x` in this scope
//! ```
//!
//! The engine finds a step's component by the step's origin, the same string as the plan's
//! `origin` fields: [`Built::component`]`("services.hot.transforms[0]")`.

mod cargo;
mod error;
mod generate;
mod names;

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use error::{CodeError, Error};
pub use generate::Operator;

use crate::generate::{Package, StepCrate};

/// The toolchain that compiles the functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// The `cargo` command. Default: `$CARGO` if set, else `cargo` on the `PATH`.
    pub cargo: PathBuf,
    /// The `rustc` command, asked for its sysroot to check the target is installed.
    /// Default: `$RUSTC` if set, else the `rustc` beside `cargo` if any, else `rustc`.
    pub rustc: PathBuf,
    /// The target. Default: `wasm32-wasip2`.
    pub target: String,
}

/// The target the functions are compiled for: its output is a WebAssembly component.
pub const TARGET: &str = "wasm32-wasip2";

impl Default for Toolchain {
    fn default() -> Self {
        let cargo = std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from);
        let beside = cargo.parent().map(|dir| dir.join("rustc")).filter(|rustc| rustc.is_file());
        let rustc =
            std::env::var_os("RUSTC").map(PathBuf::from).or(beside).unwrap_or_else(|| PathBuf::from("rustc"));
        Toolchain { cargo, rustc, target: TARGET.to_owned() }
    }
}

/// Where and how to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The directory of generated workspaces, one per dataflow (`eddy` uses
    /// `<data-dir>/build`).
    pub build_dir: PathBuf,
    /// cargo's target directory, shared by the dataflows so dependencies compile once.
    /// Default: `<build_dir>/target`.
    pub target_dir: Option<PathBuf>,
    /// The toolchain.
    pub toolchain: Toolchain,
    /// Directories searched for imported packages (`<dir>/<namespace>/<name>/<version>/`)
    /// that `dev.imports` does not place (`eddy` uses `<data-dir>/packages`). Default: none.
    pub package_search: Vec<PathBuf>,
}

impl Options {
    /// Builds in `build_dir` with the default toolchain.
    pub fn new(build_dir: impl Into<PathBuf>) -> Self {
        Options {
            build_dir: build_dir.into(),
            target_dir: None,
            toolchain: Toolchain::default(),
            package_search: Vec::new(),
        }
    }
}

/// The components of a dataflow's `run:` steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The dataflow's name (`meta.name`).
    pub dataflow: String,
    /// Whether cargo ran: `false` when everything was up to date (or there is no `run:`).
    pub compiled: bool,
    /// The hash of the generated code; empty when there is no `run:`.
    pub hash: String,
    /// The generated workspace; empty when there is no `run:`.
    pub workspace: PathBuf,
    /// One component per `run:` step, in file order.
    pub components: Vec<BuiltComponent>,
}

/// The component of one `run:` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltComponent {
    /// Where the step is declared, as in the plan's `origin` fields
    /// (`services.hot.transforms[0]`, `services.hot.partition.assign-key`,
    /// `services.hot.window.flush`).
    pub origin: String,
    /// The service.
    pub service: String,
    /// The operator it exports (load it with `eddy_wasm::OperatorKind::from_name(operator.name())`).
    pub operator: Operator,
    /// The component file.
    pub path: PathBuf,
}

impl Built {
    /// The component of the step declared at `origin`.
    pub fn component(&self, origin: &str) -> Option<&BuiltComponent> {
        self.components.iter().find(|component| component.origin == origin)
    }
}

/// Whether the dataflow file's text has any `run:` step (a cheap check before [`build`]:
/// a file that cannot be read as a dataflow has none).
pub fn has_inline_code(source: &str) -> bool {
    eddy_dataflow::inline_code(source, "").is_ok_and(|(_, snippets)| !snippets.is_empty())
}

/// Builds the `run:` steps of the dataflow file at `path`; see [`build`].
///
/// # Errors
/// As [`build`], and the file cannot be read.
pub fn build_file(path: &Path, options: &Options) -> Result<Built, Error> {
    let source = fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
    build(&source, &path.display().to_string(), options)
}

/// Builds the `run:` steps of a dataflow file's text (`file_name` is used in errors), or
/// finds them up to date. A file without `run:` builds nothing and touches no directory.
///
/// # Errors
/// The file does not parse; a snippet has no function or sits where inline Rust cannot run;
/// the toolchain or its target is missing (saying what to install); compiler errors, each
/// placed in the dataflow file; cargo fails otherwise; the build directory cannot be written.
pub fn build(source: &str, file_name: &str, options: &Options) -> Result<Built, Error> {
    let mut packages = eddy_dataflow::PackagePaths::for_file(file_name);
    packages.search.extend(options.package_search.iter().cloned());
    let (dataflow, snippets) = eddy_dataflow::inline_code_with(source, file_name, &packages)?;
    let name = dataflow.meta.name.clone();
    if snippets.is_empty() {
        return Ok(Built {
            dataflow: name,
            compiled: false,
            hash: String::new(),
            workspace: PathBuf::new(),
            components: Vec::new(),
        });
    }
    // Absolute, since cargo runs in the workspace.
    let build_dir = std::path::absolute(&options.build_dir)
        .map_err(|source| Error::Write { path: options.build_dir.clone(), source })?;
    let workspace = build_dir.join(names::crate_name(&[&name]));
    let tag = workspace_tag(&workspace);
    let package = generate::package(&dataflow, &snippets, file_name, &tag).map_err(Error::Code)?;
    let compiler = cargo::rustc_version(&options.toolchain, &workspace);
    let hash = hash(&package, &options.toolchain.target, &compiler);
    let components_dir = workspace.join("components").join(&hash);
    let components: Vec<BuiltComponent> = package
        .steps
        .iter()
        .map(|step| BuiltComponent {
            origin: step.code.origin.clone(),
            service: step.code.service.clone(),
            operator: step.operator,
            path: components_dir.join(&step.file_name),
        })
        .collect();
    let mut built = Built { dataflow: name, compiled: false, hash, workspace, components };
    if built.components.iter().all(|component| component.path.is_file()) {
        return Ok(built);
    }
    cargo::check(&options.toolchain)?;
    write_sources(&built.workspace, &package)?;
    let target_dir = match &options.target_dir {
        Some(dir) => std::path::absolute(dir).map_err(|source| Error::Write { path: dir.clone(), source })?,
        None => build_dir.join("target"),
    };
    let outcome = cargo::build(&options.toolchain, &built.workspace, &target_dir)?;
    let code_errors: Vec<CodeError> = outcome
        .errors
        .iter()
        .filter_map(|error| place(error, &package.steps, &built.workspace, file_name))
        .collect();
    if !code_errors.is_empty() {
        return Err(Error::Code(code_errors));
    }
    if !outcome.success {
        let mut output: Vec<String> = outcome.errors.iter().map(|error| error.rendered.clone()).collect();
        output.push(outcome.stderr.trim().to_owned());
        return Err(Error::Cargo { dir: built.workspace, status: outcome.status, output: output.join("\n") });
    }
    install(&built, &package.steps, &outcome.artifacts)?;
    built.compiled = true;
    Ok(built)
}

/// The SHA-256 of the generated files, the target and the compiler's version (`rustc -V`,
/// so a toolchain upgrade rebuilds), in hex (16 digits are plenty to tell builds apart).
fn hash(package: &Package, target: &str, compiler: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [target, compiler] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    for (path, contents) in &package.files {
        let path = path.to_string_lossy();
        for part in [path.as_bytes(), contents.as_bytes()] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
    }
    hasher.finalize().iter().take(8).map(|byte| format!("{byte:02x}")).collect()
}

/// Eight hex digits of the SHA-256 of the workspace's path, which tell its crates apart from
/// those of other workspaces building in the same target directory.
fn workspace_tag(workspace: &Path) -> String {
    let digest = Sha256::digest(workspace.to_string_lossy().as_bytes());
    digest.iter().take(4).map(|byte| format!("{byte:02x}")).collect()
}

/// Writes the generated files that changed (so cargo sees the others as they were).
fn write_sources(workspace: &Path, package: &Package) -> Result<(), Error> {
    for (relative, contents) in &package.files {
        let path = workspace.join(relative);
        if fs::read_to_string(&path).is_ok_and(|old| old == *contents) {
            continue;
        }
        let write = |path: &Path| {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(path, contents)
        };
        write(&path).map_err(|source| Error::Write { path: path.clone(), source })?;
    }
    Ok(())
}

/// Copies the components into `components/<hash>/` (complete, or not at all) and removes
/// the components of earlier builds.
fn install(built: &Built, steps: &[StepCrate], artifacts: &[(PathBuf, PathBuf)]) -> Result<(), Error> {
    let components = built.workspace.join("components");
    let partial = components.join(format!("{}.partial", built.hash));
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Write { path, source }
    };
    if partial.exists() {
        fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    fs::create_dir_all(&partial).map_err(io(&partial))?;
    for step in steps {
        let source = built.workspace.join(&step.dir).join("src/lib.rs");
        let artifact = artifacts
            .iter()
            .find(|(crate_source, _)| same_file(crate_source, &source))
            .map(|(_, wasm)| wasm.clone())
            .ok_or_else(|| Error::Cargo {
                dir: built.workspace.clone(),
                status: "success".to_owned(),
                output: format!("cargo reported no component for {}", step.dir),
            })?;
        let to = partial.join(&step.file_name);
        fs::copy(&artifact, &to).map_err(io(&to))?;
    }
    let done = components.join(&built.hash);
    if done.exists() {
        fs::remove_dir_all(&done).map_err(io(&done))?;
    }
    fs::rename(&partial, &done).map_err(io(&done))?;
    for entry in fs::read_dir(&components).map_err(io(&components))?.flatten() {
        if entry.file_name() != built.hash.as_str() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// A compiler error in a step crate, placed in the dataflow file: inside the snippet at
/// the same place, or, in the generated glue around it (a function whose parameter or
/// result does not fit the operator), at the function's name.
fn place(error: &cargo::Diagnostic, steps: &[StepCrate], workspace: &Path, file: &str) -> Option<CodeError> {
    let step = steps
        .iter()
        .find(|step| same_file(&error.crate_source, &workspace.join(&step.dir).join("src/lib.rs")))?;
    let in_lib = error.file.ends_with("src/lib.rs");
    let (line, column) = if in_lib && error.line >= step.first_line {
        step.code.place(error.line - step.first_line + 1, error.column)
    } else {
        step.code.place(step.entry.0, step.entry.1)
    };
    Some(CodeError {
        file: generate::code_file(file, &step.code),
        field: generate::code_field(&step.code),
        line,
        column,
        origin: step.code.origin.clone(),
        code: error.code.clone(),
        message: error.message.clone(),
    })
}
