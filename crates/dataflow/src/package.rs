//! Packages of functions a dataflow imports (`imports`, `dev.imports`, `uses:`), as in SDF.
//!
//! A package is a directory holding [`PACKAGE_FILE`]:
//!
//! ```yaml
//! apiVersion: 0.5.0
//! meta: {name: text-utils, version: 0.1.0, namespace: acme}
//! types:
//!   word: {type: object, properties: {text: {type: string}}}
//! functions:
//!   shout:
//!     operator: map
//!     inputs: [{name: w, type: word}]
//!     output: {type: word}
//!     run: |
//!       fn shout(w: Word) -> Result<Word> { Ok(Word { text: w.text.to_uppercase() }) }
//!   is-long:
//!     operator: filter
//!     inputs: [{name: w, type: word}]
//!     output: {type: bool}
//! ```
//!
//! A function's Rust is its `run:`, or, without one, the file `src/<function>.rs` of the
//! package directory (`src/is-long.rs`). It is written exactly like a step's inline `run:`
//! and `eddy build` compiles it the same way, with the package's own `types` (and the
//! runtime: `Result`, `bail!`, ...) in scope.
//!
//! Where a package is found ([`PackagePaths`]): the `path` of its `dev.imports` entry,
//! relative to the dataflow file, when there is one; else `<dir>/<namespace>/<name>/<version>/`
//! for the first search directory `<dir>` that has it (`eddy` searches
//! `<data-dir>/packages`).

use std::collections::BTreeMap;
use std::path::{Path as FilePath, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Finding};
use crate::model::{Dataflow, ImportedName, Meta, Operator, PackageId, TypeDef};
use crate::suggest::closest;
use crate::yaml::Path;
use crate::yaml::node::{self, Node};
use crate::yaml::recover::Recovery;

/// The name of the file that makes a directory a package.
pub const PACKAGE_FILE: &str = "package.yaml";

/// Where packages are looked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackagePaths {
    /// The directory `dev.imports` paths are relative to: the dataflow file's.
    pub base_dir: PathBuf,
    /// Directories holding `<namespace>/<name>/<version>/` package directories, searched in
    /// order for imports without a `dev.imports` path.
    pub search: Vec<PathBuf>,
}

impl PackagePaths {
    /// Paths for the dataflow file `file`: `dev.imports` relative to its directory, no
    /// search directories.
    pub fn for_file(file: &str) -> Self {
        let base_dir = FilePath::new(file).parent().map(FilePath::to_path_buf).unwrap_or_default();
        PackagePaths { base_dir, search: Vec::new() }
    }

    /// The same, searching `dir` too.
    pub fn with_search(mut self, dir: impl Into<PathBuf>) -> Self {
        self.search.push(dir.into());
        self
    }
}

/// A package file, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PackageFile {
    /// The file format version (`apiVersion`), e.g. `0.5.0`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// `name`, `version` and `namespace`: the package is `<namespace>/<name>@<version>`.
    pub meta: Meta,
    /// Types the functions take and return. Default: none.
    #[serde(default)]
    pub types: BTreeMap<String, TypeDef>,
    /// The functions, by name.
    #[serde(default)]
    pub functions: BTreeMap<String, PackageFunctionDef>,
}

/// One function of a package file, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PackageFunctionDef {
    /// The operator it implements: `filter`, `map`, `filter-map` or `flat-map`.
    pub operator: Operator,
    /// States it reads or writes (SDF); refused in this version. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<ImportedName>,
    /// Its parameters: exactly one, the record's value.
    #[serde(default)]
    pub inputs: Vec<FunctionInput>,
    /// What it returns; `filter` returns `bool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<FunctionOutput>,
    /// Its Rust; without it, `src/<function>.rs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

/// A parameter of a package function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FunctionInput {
    /// Its name.
    pub name: String,
    /// Its type: a primitive or a type of the package.
    #[serde(rename = "type")]
    pub type_name: String,
    /// `key` for the record's key (SDF); refused in this version. Default: the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<InputKind>,
}

/// What a parameter receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    /// The record's key.
    Key,
    /// The record's value.
    Value,
}

/// What a package function returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FunctionOutput {
    /// Its type (for `filter-map`, the type of the value kept; for `flat-map` with `list`,
    /// of each element).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Whether it is a list of them (`flat-map`). Default: `false`.
    #[serde(default)]
    pub list: bool,
}

/// A package found and read, with its functions checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// `<namespace>/<name>@<version>`.
    pub id: PackageId,
    /// Its package file.
    pub file: PathBuf,
    /// Its types, as written (names unresolved).
    pub types: BTreeMap<String, TypeDef>,
    /// Its functions, by name.
    pub functions: BTreeMap<String, PackageFunction>,
}

/// A package function, checked: its types resolved and its code read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFunction {
    /// Its operator.
    pub operator: Operator,
    /// The type of the value it takes, resolved.
    pub input: TypeDef,
    /// What it returns (each element for a `flat-map`), resolved; `bool` for a filter.
    pub output: TypeDef,
    /// Its Rust.
    pub code: String,
    /// The file the code is in: the package file or `src/<function>.rs`.
    pub code_file: PathBuf,
    /// The field holding the code in the package file (`functions.shout.run`); empty for
    /// a `src/` file.
    pub field: String,
    /// Where the code starts in `code_file` (1-based line and column).
    pub start: (usize, usize),
    /// For each character of `code`, its place in `code_file`; empty when unknown.
    pub(crate) chars: Vec<(usize, usize)>,
}

impl PackageFunction {
    /// The place in [`PackageFunction::code_file`] of `line`:`column` (1-based, characters)
    /// of the code, or [`PackageFunction::start`] when it cannot be told.
    pub fn place(&self, line: usize, column: usize) -> (usize, usize) {
        crate::inline::char_index(&self.code, line, column)
            .and_then(|index| self.chars.get(index).copied())
            .unwrap_or(self.start)
    }
}

/// The packages of a dataflow: one slot per `imports` entry (`None` when it could not be
/// used, its problems reported).
#[derive(Debug, Clone, Default)]
pub(crate) struct Packages {
    pub(crate) imports: Vec<Option<Package>>,
}

/// What a `uses:` name stands for.
pub(crate) enum Lookup<'a> {
    /// A function of a package.
    Found(&'a Package, &'a PackageFunction),
    /// Imported from a package with problems, already reported.
    Broken,
    /// Not imported; the imported names are given.
    Missing(Vec<&'a str>),
    /// Imported from more than one package.
    Ambiguous(Vec<String>),
}

impl Packages {
    /// Finds, reads and checks the packages `dataflow` imports. Problems in the dataflow's
    /// `imports` are findings; problems inside a package file are diagnostics of that file.
    pub(crate) fn load(
        dataflow: &Dataflow,
        paths: &PackagePaths,
    ) -> (Packages, Vec<Finding>, Vec<Diagnostic>) {
        let mut findings = Vec::new();
        let mut diagnostics = Vec::new();
        let mut imports = Vec::new();
        let imports_path = Path::root().key("imports");
        let dev_path = Path::root().key("dev").key("imports");
        let mut seen: BTreeMap<PackageId, usize> = BTreeMap::new();
        let mut ids = Vec::new();
        for (index, import) in dataflow.imports.iter().enumerate() {
            let at = imports_path.index(index);
            for (field, items) in [("types", &import.types), ("states", &import.states)] {
                if !items.is_empty() {
                    findings.push(
                        Finding::new(
                            at.key(field),
                            format!(
                                "importing {field} from a package is not supported; declare them in the \
                                 dataflow's `{}` (a package's functions use the package's own types)",
                                if field == "types" { "types" } else { "services.<name>.states" }
                            ),
                        )
                        .at_key(),
                    );
                }
            }
            let id = match PackageId::parse(&import.pkg) {
                Ok(id) => id,
                Err(message) => {
                    findings.push(Finding::new(at.key("pkg"), message));
                    imports.push(None);
                    ids.push(None);
                    continue;
                }
            };
            ids.push(Some(id.clone()));
            if let Some(first) = seen.insert(id.clone(), index) {
                findings.push(Finding::new(
                    at.key("pkg"),
                    format!(
                        "package `{id}` is already imported (imports[{first}]); list its functions there"
                    ),
                ));
                imports.push(None);
                continue;
            }
            let dir = match dataflow.dev.imports.iter().position(|dev| dev.pkg == import.pkg) {
                Some(dev) => {
                    // Without `.` components, for shorter paths in messages.
                    let dir: PathBuf =
                        paths.base_dir.join(&dataflow.dev.imports[dev].path).components().collect();
                    if !dir.is_dir() {
                        findings.push(Finding::new(
                            dev_path.index(dev).key("path"),
                            format!("the package directory {} does not exist", dir.display()),
                        ));
                        imports.push(None);
                        continue;
                    }
                    Some((dir, dev_path.index(dev).key("path")))
                }
                None => paths
                    .search
                    .iter()
                    .map(|search| search.join(&id.namespace).join(&id.name).join(&id.version))
                    .find(|dir| dir.is_dir())
                    .map(|dir| (dir, at.key("pkg"))),
            };
            let Some((dir, dir_path)) = dir else {
                let looked: Vec<String> = paths
                    .search
                    .iter()
                    .map(|search| {
                        search.join(&id.namespace).join(&id.name).join(&id.version).display().to_string()
                    })
                    .collect();
                let looked =
                    if looked.is_empty() { "no search directory".to_owned() } else { looked.join(", ") };
                findings.push(Finding::new(
                    at.key("pkg"),
                    format!(
                        "package `{id}` is not found (looked in {looked}); give its directory in `dev.imports` \
                         (`- {{pkg: {id}, path: <dir>}}`)"
                    ),
                ));
                imports.push(None);
                continue;
            };
            let file = dir.join(PACKAGE_FILE);
            let source = match std::fs::read_to_string(&file) {
                Ok(source) => source,
                Err(error) => {
                    findings.push(Finding::new(
                        dir_path,
                        format!(
                            "{} is not a package: cannot read {}: {error}",
                            dir.display(),
                            file.display()
                        ),
                    ));
                    imports.push(None);
                    continue;
                }
            };
            let (package, problems) = read_package(&source, &file, &dir);
            diagnostics.extend(problems);
            let Some(package) = package else {
                imports.push(None);
                continue;
            };
            if package.id != id {
                findings.push(Finding::new(
                    at.key("pkg"),
                    format!("{} declares package `{}`, not `{id}`", file.display(), package.id),
                ));
                imports.push(None);
                continue;
            }
            for (item, function) in import.functions.iter().enumerate() {
                if package.functions.contains_key(&function.name) {
                    continue;
                }
                let names = package.functions.keys().map(String::as_str);
                let hint = closest(&function.name, names.clone())
                    .map(|near| format!(" (did you mean `{near}`?)"))
                    .unwrap_or_default();
                let exported: Vec<&str> = names.collect();
                let exported = if exported.is_empty() { "none".to_owned() } else { exported.join(", ") };
                findings.push(Finding::new(
                    at.key("functions").index(item).key("name"),
                    format!(
                        "package `{id}` has no function `{}`{hint} (it exports: {exported})",
                        function.name
                    ),
                ));
            }
            imports.push(Some(package));
        }
        for (index, dev) in dataflow.dev.imports.iter().enumerate() {
            if !dataflow.imports.iter().any(|import| import.pkg == dev.pkg) {
                findings.push(Finding::new(
                    dev_path.index(index).key("pkg"),
                    format!(
                        "package `{}` is not in `imports`; import it there with the functions used",
                        dev.pkg
                    ),
                ));
            }
        }
        (Packages { imports }, findings, diagnostics)
    }

    /// What `uses: <name>` refers to.
    pub(crate) fn lookup<'a>(&'a self, dataflow: &'a Dataflow, name: &str) -> Lookup<'a> {
        let mut found = Vec::new();
        let mut broken = false;
        for (import, package) in dataflow.imports.iter().zip(&self.imports) {
            if !import.functions.iter().any(|function| function.name == name) {
                continue;
            }
            match package.as_ref().and_then(|package| Some((package, package.functions.get(name)?))) {
                Some(hit) => found.push(hit),
                None => broken = true,
            }
        }
        match found.as_slice() {
            [(package, function)] if !broken => Lookup::Found(package, function),
            [] if broken => Lookup::Broken,
            [] => Lookup::Missing(
                dataflow
                    .imports
                    .iter()
                    .flat_map(|import| import.functions.iter().map(|function| function.name.as_str()))
                    .collect(),
            ),
            _ => Lookup::Ambiguous(
                dataflow
                    .imports
                    .iter()
                    .filter(|import| import.functions.iter().any(|function| function.name == name))
                    .map(|import| import.pkg.clone())
                    .collect(),
            ),
        }
    }
}

/// Reads and checks a package file (`file`, in `dir`): the package, or `None` with the
/// problems, each placed in the package file (or in a `src/` file it names).
fn read_package(source: &str, file: &FilePath, dir: &FilePath) -> (Option<Package>, Vec<Diagnostic>) {
    let file_name = file.display().to_string();
    let (tree, problems) = node::parse(source);
    let mut findings: Vec<Finding> = problems
        .into_iter()
        .map(|problem| {
            Finding::new(problem.path, problem.message).at(crate::diagnostic::At::Pos(problem.pos))
        })
        .collect();
    let render = |findings: Vec<Finding>, tree: Option<&Node>| -> Vec<Diagnostic> {
        findings.into_iter().map(|finding| finding.into_diagnostic(&file_name, tree)).collect()
    };
    let Some(tree) = tree else { return (None, render(findings, None)) };
    let mut recovery = Recovery::default();
    let parsed = recovery.run::<PackageFile>(&tree, &Path::root());
    findings.extend(recovery.findings);
    let Some(parsed) = parsed.filter(|_| findings.is_empty()) else {
        return (None, render(findings, Some(&tree)));
    };
    let meta = &parsed.meta;
    let id = PackageId::parse(&format!(
        "{}/{}@{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name,
        meta.version.as_deref().unwrap_or_default()
    ));
    let id = match id {
        Ok(id) => Some(id),
        Err(message) => {
            findings.push(Finding::new(
                Path::root().key("meta"),
                format!("`meta` needs `namespace`, `name` and `version` that make a package id: {message}"),
            ));
            None
        }
    };
    let mut types = BTreeMap::new();
    for name in parsed.types.keys() {
        match TypeDef::Named(name.clone()).resolve(&parsed.types) {
            Ok(resolved) => {
                types.insert(name.clone(), resolved);
            }
            Err(reason) => findings.push(Finding::new(Path::root().key("types").key(name), reason)),
        }
    }
    let lines: Vec<Vec<char>> = source.split('\n').map(|line| line.chars().collect()).collect();
    let mut functions = BTreeMap::new();
    for (name, def) in &parsed.functions {
        let at = Path::root().key("functions").key(name);
        if let Some(function) =
            check_function(name, def, &at, &types, &parsed.types, &tree, &lines, file, dir, &mut findings)
        {
            functions.insert(name.clone(), function);
        }
    }
    match id {
        Some(id) if findings.is_empty() => {
            (Some(Package { id, file: file.to_owned(), types: parsed.types, functions }), Vec::new())
        }
        _ => (None, render(findings, Some(&tree))),
    }
}

/// Checks one function of a package file; `None` when something is wrong (reported).
#[allow(clippy::too_many_arguments)]
fn check_function(
    name: &str,
    def: &PackageFunctionDef,
    at: &Path,
    resolved: &BTreeMap<String, TypeDef>,
    declared: &BTreeMap<String, TypeDef>,
    tree: &Node,
    lines: &[Vec<char>],
    file: &FilePath,
    dir: &FilePath,
    findings: &mut Vec<Finding>,
) -> Option<PackageFunction> {
    let before = findings.len();
    let type_of = |type_name: &str, path: Path, findings: &mut Vec<Finding>| -> Option<TypeDef> {
        match TypeDef::from_name(type_name) {
            TypeDef::Named(named) => match resolved.get(&named) {
                Some(def) => Some(def.clone()),
                None => {
                    if !declared.contains_key(&named) {
                        let names: Vec<&str> = declared.keys().map(String::as_str).collect();
                        let hint = closest(&named, names.iter().copied())
                            .map(|near| format!(" (did you mean `{near}`?)"))
                            .unwrap_or_default();
                        findings.push(Finding::new(
                            path,
                            format!(
                                "unknown type `{named}`{hint}; use a primitive or a type of the package's `types` \
                                 (declared: {})",
                                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
                            ),
                        ));
                    }
                    None
                }
            },
            primitive => Some(primitive),
        }
    };
    if !matches!(def.operator, Operator::Filter | Operator::Map | Operator::FilterMap | Operator::FlatMap) {
        findings.push(Finding::new(
            at.key("operator"),
            format!(
                "a package function can be a `filter`, `map`, `filter-map` or `flat-map` step, not `{}`",
                def.operator.name()
            ),
        ));
    }
    if !def.states.is_empty() {
        findings.push(
            Finding::new(at.key("states"), "package functions with states are not supported; use a `partition` with `update-state` in the dataflow")
                .at_key(),
        );
    }
    let mut input = None;
    match def.inputs.as_slice() {
        [only] => {
            if only.kind == Some(InputKind::Key) {
                findings.push(Finding::new(
                    at.key("inputs").index(0).key("kind"),
                    "a `key` input is not supported; a package function takes the record's value",
                ));
            } else {
                input = type_of(&only.type_name, at.key("inputs").index(0).key("type"), findings);
            }
        }
        _ => findings.push(
            Finding::new(
                at.key("inputs"),
                format!(
                    "a package function takes exactly one input, the record's value; `{name}` has {}",
                    def.inputs.len()
                ),
            )
            .expected("`inputs: [{name: value, type: <type>}]`")
            .at_key(),
        ),
    }
    let output = match (&def.output, def.operator) {
        (None, Operator::Filter) => Some(TypeDef::Primitive(crate::model::Primitive::Bool)),
        (None, _) => {
            findings.push(
                Finding::new(
                    at.clone(),
                    format!("`{name}` has no `output`; say what it returns: `output: {{type: <type>}}`"),
                )
                .at_key(),
            );
            None
        }
        (Some(output), operator) => {
            let list_path = at.key("output").key("list");
            match (operator, output.list) {
                (Operator::FlatMap, false) => findings.push(Finding::new(
                    at.key("output"),
                    "a `flat-map` returns a list: add `list: true` to its `output`",
                )),
                (Operator::FlatMap, true) => {}
                (_, true) => findings.push(Finding::new(list_path, "only a `flat-map` returns a list")),
                _ => {}
            }
            let found = type_of(&output.type_name, at.key("output").key("type"), findings);
            if operator == Operator::Filter
                && found
                    .as_ref()
                    .is_some_and(|found| *found != TypeDef::Primitive(crate::model::Primitive::Bool))
            {
                findings.push(Finding::new(
                    at.key("output").key("type"),
                    format!("a `filter` returns `bool`, not `{}`", output.type_name),
                ));
            }
            found
        }
    };
    let code = match &def.run {
        Some(code) => {
            let node = tree.find(&at.key("run"));
            let start = node.map_or((0, 0), |node| (node.pos.line, node.pos.column));
            let chars = node.map(|node| crate::inline::places(node, code, lines)).unwrap_or_default();
            Some((code.clone(), file.to_owned(), at.key("run").to_string(), start, chars))
        }
        None => {
            let path = dir.join("src").join(format!("{name}.rs"));
            match std::fs::read_to_string(&path) {
                Ok(code) => {
                    let chars = identity_places(&code);
                    Some((code, path, String::new(), (1, 1), chars))
                }
                Err(error) => {
                    findings.push(
                        Finding::new(
                            at.clone(),
                            format!("`{name}` has no code: add `run:` or write {} ({error})", path.display()),
                        )
                        .at_key(),
                    );
                    None
                }
            }
        }
    };
    if findings.len() > before {
        return None;
    }
    let (code, code_file, field, start, chars) = code?;
    Some(PackageFunction {
        operator: def.operator,
        input: input?,
        output: output?,
        code,
        code_file,
        field,
        start,
        chars,
    })
}

/// The place of each character of a whole file's text: line and column, 1-based.
fn identity_places(code: &str) -> Vec<(usize, usize)> {
    let mut places = Vec::new();
    for (line, text) in code.split('\n').enumerate() {
        for column in 0..=text.chars().count() {
            places.push((line + 1, column + 1));
        }
    }
    places.truncate(code.chars().count());
    places
}

/// Whether values of type `from` can be read as type `into` (both resolved): the same
/// primitive or a wider number, objects whose every field of `into` is in `from` and fits,
/// lists whose items fit. `Err` says where they differ.
pub(crate) fn fits(from: &TypeDef, into: &TypeDef) -> Result<(), String> {
    use crate::model::Primitive::*;
    match (from, into) {
        (TypeDef::Primitive(a), TypeDef::Primitive(b)) => {
            let wider = matches!(
                (a, b),
                (I32, I64) | (U32, U64) | (U32, I64) | (I32 | I64 | U32 | U64 | F32, F64) | (String, Bytes)
            );
            if a == b || wider { Ok(()) } else { Err(format!("{a} is not {b}")) }
        }
        (TypeDef::Object(have), TypeDef::Object(want)) => {
            for (field, want) in want {
                let Some(have) = have.get(field) else { return Err(format!("field `{field}` is missing")) };
                fits(have, want).map_err(|reason| format!("field `{field}`: {reason}"))?;
            }
            Ok(())
        }
        (TypeDef::List(have), TypeDef::List(want)) => {
            fits(have, want).map_err(|reason| format!("items: {reason}"))
        }
        (from, into) => Err(format!("{} is not {}", shape(from), shape(into))),
    }
}

fn shape(def: &TypeDef) -> String {
    match def {
        TypeDef::Primitive(primitive) => primitive.to_string(),
        TypeDef::Object(_) => "an object".to_owned(),
        TypeDef::List(_) => "a list".to_owned(),
        TypeDef::Named(name) => format!("`{name}`"),
    }
}
