//! The cargo workspace generated for a dataflow's `run:` snippets.
//!
//! ```text
//! <build-dir>/<dataflow>/
//!   Cargo.toml                 the workspace: every crate below, one release profile
//!   wit/dataflow.wit           eddy_wasm::WIT
//!   types/src/lib.rs           crate `<dataflow>-types`: Result, bail!, Context, ..., the JSON
//!                              glue (templates/runtime.rs) and a serde struct per `types:` entry
//!   steps/<n>-<origin>/        crate `<dataflow>-<n>`, a cdylib: one component per snippet,
//!     src/lib.rs               exporting its operator's world; the snippet is copied verbatim
//!                              at the end of the file, so a compiler error's line maps back
//! ```
//!
//! A snippet is Rust items; the first top-level `fn` is the one the operator calls, with the
//! record's value decoded from JSON into its parameter type, as in SDF:
//! `fn hot(r: Reading) -> Result<bool> { Ok(r.temp > 30.0) }`. What each operator's function
//! takes and returns is in [`Operator`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use eddy_dataflow::model::{Dataflow, Operator as StepOperator, StateValue, TypeDef};
use eddy_dataflow::{InlineCode, InlineSite, model::Primitive};

use crate::error::CodeError;
use crate::names::{crate_name, field_name, type_name};

/// The fixed part of the types crate.
const RUNTIME: &str = include_str!("../templates/runtime.rs");

/// The version of `wit-bindgen` the components are built with (the one Eddy's host is tested
/// with).
const WIT_BINDGEN: &str = "0.61";

/// The WebAssembly operator a snippet is compiled to: its WIT world, and the shape of the
/// function it calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `fn(T) -> Result<bool>`.
    Filter,
    /// `fn(T) -> Result<R>`, `R: Serialize`.
    Map,
    /// `fn(T) -> Result<Option<R>>`; `None` drops the record.
    FilterMap,
    /// `fn(T) -> Result<I>`, `I: IntoIterator` of `Serialize` items, one record each.
    FlatMap,
    /// `fn(T) -> Result<K>`; a string key is its UTF-8, a number or boolean its JSON text.
    AssignKey,
    /// `fn(T) -> Result<i64>` or `fn(T, event_time: i64) -> Result<i64>`, milliseconds.
    AssignTimestamp,
    /// `fn(T) -> Result<()>`, changing the record key's state through one accessor per
    /// state of the service (`counts()`, `acc()`).
    UpdateState,
    /// `fn() -> Result<R>`: one record for the sinks per call.
    Flush,
}

impl Operator {
    /// The operator's name in the dataflow file, which is its world and export name in
    /// `eddy:dataflow` and `eddy_wasm::OperatorKind::from_name`'s argument.
    pub fn name(self) -> &'static str {
        match self {
            Operator::Filter => "filter",
            Operator::Map => "map",
            Operator::FilterMap => "filter-map",
            Operator::FlatMap => "flat-map",
            Operator::AssignKey => "assign-key",
            Operator::AssignTimestamp => "assign-timestamp",
            Operator::UpdateState => "update-state",
            Operator::Flush => "flush",
        }
    }

    fn of(site: InlineSite) -> Result<Operator, String> {
        Ok(match site {
            InlineSite::Transform(StepOperator::Filter) => Operator::Filter,
            InlineSite::Transform(StepOperator::Map) => Operator::Map,
            InlineSite::Transform(StepOperator::FilterMap) => Operator::FilterMap,
            InlineSite::Transform(StepOperator::FlatMap) => Operator::FlatMap,
            InlineSite::Transform(other) => {
                return Err(format!(
                    "`{}` is only allowed as `partition.{}`, not in `transforms`",
                    other.name(),
                    other.name()
                ));
            }
            InlineSite::AssignKey => Operator::AssignKey,
            InlineSite::UpdateState => Operator::UpdateState,
            InlineSite::AssignTimestamp => Operator::AssignTimestamp,
            InlineSite::Flush(_) => Operator::Flush,
            InlineSite::Merge => return Err("`merge` cannot run inline Rust yet; use `cel:`".to_owned()),
        })
    }

    /// The export and the call of the glue, inside `impl bindings::Guest`.
    fn export(self, function: &str) -> String {
        let call = |glue: &str| format!("dataflow::glue::{glue}(&input.value, crate::{function})");
        let (signature, body) = match self {
            Operator::Filter => ("filter(input: bindings::Record) -> Outcome<bool>", call("filter")),
            Operator::Map => ("map(input: bindings::Record) -> Outcome<Vec<u8>>", call("map")),
            Operator::FilterMap => {
                ("filter_map(input: bindings::Record) -> Outcome<Option<Vec<u8>>>", call("filter_map"))
            }
            Operator::FlatMap => {
                ("flat_map(input: bindings::Record) -> Outcome<Vec<Vec<u8>>>", call("flat_map"))
            }
            Operator::AssignKey => {
                ("assign_key(input: bindings::Record) -> Outcome<Vec<u8>>", call("assign_key"))
            }
            Operator::AssignTimestamp => (
                "assign_timestamp(input: bindings::Record) -> Outcome<i64>",
                format!("dataflow::glue::assign_timestamp(&input.value, input.timestamp, crate::{function})"),
            ),
            Operator::UpdateState => (
                "update_state(input: bindings::Record) -> Outcome<()>",
                format!(
                    "let key = input.key.ok_or_else(|| \"the record has no key; update-state needs the key \
                     given by partition.assign-key\".to_owned())?;\n        \
                     __eddy_state::set_key(key);\n        {}",
                    call("update_state")
                ),
            ),
            Operator::Flush => (
                "flush(_window: bindings::Window) -> Outcome<Vec<Vec<u8>>>",
                format!("dataflow::glue::flush(crate::{function})"),
            ),
        };
        format!("    fn {signature} {{\n        {body}\n    }}\n")
    }

    fn world(self) -> &'static str {
        match self {
            Operator::Map => "%map",
            other => other.name(),
        }
    }
}

/// One snippet's crate.
#[derive(Debug, Clone)]
pub(crate) struct StepCrate {
    /// The snippet.
    pub(crate) code: InlineCode,
    /// Its operator.
    pub(crate) operator: Operator,
    /// Its directory, relative to the workspace.
    pub(crate) dir: String,
    /// The component's file name, in the components directory.
    pub(crate) file_name: String,
    /// The line of `src/lib.rs` holding the snippet's first line.
    pub(crate) first_line: usize,
    /// Where the called function's name is in the snippet (1-based line and column).
    pub(crate) entry: (usize, usize),
}

/// The generated workspace: its files and crates.
#[derive(Debug, Clone)]
pub(crate) struct Package {
    /// Each file's path relative to the workspace, and its contents.
    pub(crate) files: BTreeMap<PathBuf, String>,
    /// One crate per snippet, in file order.
    pub(crate) steps: Vec<StepCrate>,
}

/// Generates the workspace for `snippets` of `dataflow`, read from `file`.
///
/// `workspace_tag` goes into the crate names: cargo fingerprints a workspace's crates by
/// their path relative to the workspace, so two workspaces sharing a target directory need
/// different crate names, or one's build is taken for the other's.
pub(crate) fn package(
    dataflow: &Dataflow,
    snippets: &[InlineCode],
    file: &str,
    workspace_tag: &str,
) -> Result<Package, Vec<CodeError>> {
    let base = crate_name(&[&dataflow.meta.name, workspace_tag]);
    let mut errors = Vec::new();
    let types = match types_of(&dataflow.types, false) {
        Ok(types) => types,
        Err(message) => {
            errors.push(CodeError::whole_file(file, "types", message));
            String::new()
        }
    };
    let mut files = BTreeMap::new();
    let mut steps = Vec::new();
    for (index, code) in snippets.iter().enumerate() {
        let problem = |message: String| {
            let (line, column) = code.start;
            CodeError {
                file: code_file(file, code),
                line,
                column,
                origin: code.origin.clone(),
                field: code_field(code),
                code: None,
                message,
            }
        };
        let operator = match Operator::of(code.site) {
            Ok(operator) => operator,
            Err(message) => {
                errors.push(problem(message));
                continue;
            }
        };
        let Some((function, entry)) = entry_function(&code.code) else {
            errors.push(problem(
                "no function found: write `fn name(value: Type) -> Result<...> { ... }`".to_owned(),
            ));
            continue;
        };
        let states = if operator == Operator::UpdateState {
            state_accessors(dataflow, &code.service)
        } else {
            String::new()
        };
        let package = format!("{base}-{index}");
        let dir = format!("steps/{index}-{}", crate_name(&[&code.origin]));
        let own_types = match &code.used {
            None => String::new(),
            Some(used) => match types_of(&used.types, true) {
                Ok(types) => types,
                Err(message) => {
                    errors.push(problem(format!("package `{}`: {message}", used.package)));
                    continue;
                }
            },
        };
        let head = step_source(file, code, operator, &function, &format!("{states}{own_types}"));
        let first_line = head.lines().count() + 1;
        files.insert(PathBuf::from(&dir).join("src/lib.rs"), format!("{head}{}\n", code.code));
        files.insert(PathBuf::from(&dir).join("Cargo.toml"), step_manifest(&package, &base));
        steps.push(StepCrate {
            code: code.clone(),
            operator,
            file_name: format!("{index}-{}.wasm", crate_name(&[&code.origin])),
            dir,
            first_line,
            entry,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    files.insert(PathBuf::from("types/src/lib.rs"), format!("{RUNTIME}{types}"));
    files.insert(PathBuf::from("types/Cargo.toml"), types_manifest(&base));
    files.insert(PathBuf::from("wit/dataflow.wit"), eddy_wasm::WIT.to_owned());
    files.insert(PathBuf::from("Cargo.toml"), workspace_manifest(&steps));
    Ok(Package { files, steps })
}

fn workspace_manifest(steps: &[StepCrate]) -> String {
    let members: Vec<String> = std::iter::once("types".to_owned())
        .chain(steps.iter().map(|step| step.dir.clone()))
        .map(|m| format!("\"{m}\""))
        .collect();
    format!(
        "# Generated by `eddy build`; edit the dataflow file instead.\n\
         [workspace]\nresolver = \"3\"\nmembers = [{}]\n\n\
         [workspace.dependencies]\n\
         wit-bindgen = {{ version = \"{WIT_BINDGEN}\", default-features = false, features = [\"macros\", \"realloc\", \"std\"] }}\n\
         anyhow = {{ version = \"1\", default-features = false }}\n\
         serde = {{ version = \"1\", features = [\"derive\"] }}\n\
         serde_json = \"1\"\n\n\
         [profile.release]\n\
         debug = false\nstrip = true\npanic = \"abort\"\ncodegen-units = 16\nincremental = false\n",
        members.join(", ")
    )
}

fn types_manifest(base: &str) -> String {
    format!(
        "[package]\nname = \"{base}-types\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\nanyhow.workspace = true\nserde.workspace = true\nserde_json.workspace = true\n"
    )
}

fn step_manifest(package: &str, base: &str) -> String {
    format!(
        "[package]\nname = \"{package}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n\
         [dependencies]\ndataflow = {{ package = \"{base}-types\", path = \"../../types\" }}\nwit-bindgen.workspace = true\n"
    )
}

/// The file a snippet's code is in: the dataflow file, or the package's file for `uses:`.
pub(crate) fn code_file(file: &str, code: &InlineCode) -> String {
    code.used.as_ref().map_or_else(|| file.to_owned(), |used| used.file.display().to_string())
}

/// What a problem in a snippet is reported on: `services.hot.transforms[0].run`, or for a
/// package function `functions.shout.run (package acme/text@0.1.0, used by services.hot.transforms[0])`.
pub(crate) fn code_field(code: &InlineCode) -> String {
    match &code.used {
        None => format!("{}.run", code.origin),
        Some(used) => {
            let field = if used.field.is_empty() {
                format!("function `{}`", used.function)
            } else {
                used.field.clone()
            };
            format!("{field} (package {}, used by {})", used.package, code.origin)
        }
    }
}

/// `src/lib.rs` of a step crate, up to (not including) the snippet; `states` holds the
/// state accessors, or a package's types.
fn step_source(file: &str, code: &InlineCode, operator: Operator, function: &str, states: &str) -> String {
    let what = match &code.used {
        None => format!("`{}` ({}) of {file}", code.origin, operator.name()),
        Some(used) => format!(
            "function `{}` ({}) of package {}, used by `{}` of {file}",
            used.function,
            operator.name(),
            used.package,
            code.origin
        ),
    };
    format!(
        "//! {what}, generated by `eddy build`; edit the dataflow file or the package instead.\n\
         #![allow(dead_code, unused_imports, non_snake_case, non_camel_case_types, clippy::all)]\n\
         \n\
         mod bindings {{\n    \
             wit_bindgen::generate!({{\n        \
                 world: \"{world}\",\n        \
                 path: \"../../wit\",\n        \
                 pub_export_macro: true,\n        \
                 default_bindings_module: \"bindings\",\n    \
             }});\n\
         }}\n\
         \n\
         use dataflow::*;\n\
         \n\
         type Outcome<T> = ::core::result::Result<T, ::std::string::String>;\n\
         \n\
         struct Component;\n\
         \n\
         impl bindings::Guest for Component {{\n{export}}}\n\
         \n\
         bindings::export!(Component);\n\
         {states}\n\
         // The code of `{field}`, from the next line to the end.\n",
        field = code_field(code),
        world = operator.world(),
        export = operator.export(function),
    )
}

/// The accessors of the service's states for `update-state`: `name()` gives the record
/// key's state: for a number, a handle with `get`, `set`, `increment` and `delete`; for a
/// row, the row's columns as fields, saved with `update()` or removed with `delete()`.
fn state_accessors(dataflow: &Dataflow, service: &str) -> String {
    let Some(states) = dataflow.services.get(service).map(|service| &service.states) else {
        return String::new();
    };
    let mut handles = String::new();
    let mut accessors = String::new();
    for (index, (name, state)) in states.iter().enumerate() {
        let Some(function) = field_name(name) else { continue };
        let handle = format!("State{index}");
        let quoted = format!("{name:?}");
        match &state.properties.value {
            StateValue::Number(number) => {
                let rust = primitive(*number);
                handles.push_str(&format!(
                    "\n    /// The record key's value in state `{name}`.\n    \
                     pub struct {handle} {{ key: Vec<u8> }}\n\n    \
                     impl {handle} {{\n        \
                         pub(crate) fn load() -> Self {{ Self {{ key: key() }} }}\n        \
                         pub fn get(&self) -> Result<{rust}> {{ glue::state_value({quoted}, host::get_value({quoted}, &self.key).map_err(Error::msg)?) }}\n        \
                         pub fn set(&self, value: {rust}) -> Result<()> {{ host::set_value({quoted}, &self.key, &serde_json::to_vec(&value)?).map_err(Error::msg) }}\n        \
                         pub fn increment(&self, by: i64) -> Result<i64> {{ host::increment({quoted}, &self.key, by).map_err(Error::msg) }}\n        \
                         pub fn delete(&self) -> Result<()> {{ host::delete_value({quoted}, &self.key).map_err(Error::msg) }}\n    \
                     }}\n"
                ));
            }
            StateValue::Row(columns) => {
                let mut fields = String::new();
                for (column, def) in columns {
                    let Some(field) = field_name(column) else { continue };
                    let rust = match def {
                        TypeDef::Primitive(primitive_type) => primitive(*primitive_type).to_owned(),
                        other => format!("dataflow::{}", type_name(&other.to_string()).unwrap_or_default()),
                    };
                    fields.push_str(&format!(
                        "        #[serde(rename = {column:?})]\n        pub {field}: {rust},\n"
                    ));
                }
                handles.push_str(&format!(
                    "\n    /// The record key's row in state `{name}`.\n    \
                     #[derive(Debug, Clone, Default, Serialize, Deserialize)]\n    \
                     #[serde(crate = \"dataflow::serde\", default)]\n    \
                     pub struct {handle} {{\n{fields}        \
                         #[serde(skip)]\n        key: Vec<u8>,\n        \
                         #[serde(skip)]\n        error: Option<String>,\n    \
                     }}\n\n    \
                     impl {handle} {{\n        \
                         pub(crate) fn load() -> Self {{\n            \
                             let key = key();\n            \
                             let row = host::get_row({quoted}, &key).map_err(Error::msg).and_then(|row| glue::state_value::<Self>({quoted}, row));\n            \
                             match row {{\n                \
                                 Ok(row) => Self {{ key, ..row }},\n                \
                                 Err(error) => Self {{ key, error: Some(format!(\"{{error:#}}\")), ..Self::default() }},\n            \
                             }}\n        \
                         }}\n        \
                         pub fn update(&self) -> Result<()> {{\n            \
                             if let Some(error) = &self.error {{ bail!(\"cannot read state `{name}`: {{error}}\") }}\n            \
                             host::set_row({quoted}, &self.key, &serde_json::to_vec(self)?).map_err(Error::msg)\n        \
                         }}\n        \
                         pub fn delete(&self) -> Result<()> {{ host::delete_row({quoted}, &self.key).map_err(Error::msg) }}\n    \
                     }}\n"
                ));
            }
        }
        accessors.push_str(&format!(
            "\n/// The record key's state `{name}`.\nfn {function}() -> __eddy_state::{handle} {{ __eddy_state::{handle}::load() }}\n"
        ));
    }
    format!(
        "\n/// The service's states, for the key of the record being processed.\nmod __eddy_state {{\n    \
             use std::cell::RefCell;\n\n    \
             use dataflow::{{Deserialize, Result, Serialize, anyhow::Error, bail, glue, serde_json}};\n\n    \
             use super::bindings::eddy::dataflow::state as host;\n\n    \
             thread_local! {{ static KEY: RefCell<Vec<u8>> = const {{ RefCell::new(Vec::new()) }}; }}\n\n    \
             pub(crate) fn set_key(key: Vec<u8>) {{ KEY.with(|current| *current.borrow_mut() = key) }}\n\n    \
             fn key() -> Vec<u8> {{ KEY.with(|current| current.borrow().clone()) }}\n\
         {handles}}}\n{accessors}"
    )
}

fn primitive(primitive: Primitive) -> &'static str {
    match primitive {
        Primitive::String => "String",
        Primitive::Bool => "bool",
        Primitive::I32 => "i32",
        Primitive::I64 => "i64",
        Primitive::U32 => "u32",
        Primitive::U64 => "u64",
        Primitive::F32 => "f32",
        Primitive::F64 => "f64",
        Primitive::Bytes => "Bytes",
    }
}

/// Names the generated code uses, which a type of the file cannot take.
const RESERVED: [&str; 12] = [
    "Result",
    "Context",
    "Bytes",
    "Serialize",
    "Deserialize",
    "Vec",
    "String",
    "Option",
    "Box",
    "Error",
    "Outcome",
    "Component",
];

/// The Rust types of a `types:` section: the dataflow's (in the types crate), or a
/// package's (`in_step`: inside the step crate, reaching serde through the types crate).
fn types_of(declared: &BTreeMap<String, TypeDef>, in_step: bool) -> Result<String, String> {
    let mut names = BTreeMap::new();
    for name in declared.keys() {
        let rust = type_name(name)
            .ok_or_else(|| format!("type `{name}` has no letters or digits to name a Rust type by"))?;
        if RESERVED.contains(&rust.as_str()) {
            return Err(format!(
                "type `{name}` would be the Rust type `{rust}`, a name the generated code uses; rename it"
            ));
        }
        if let Some(other) = names.insert(rust.clone(), name) {
            return Err(format!(
                "types `{other}` and `{name}` would both be the Rust type `{rust}`; rename one"
            ));
        }
    }
    let mut generator = Types { out: String::new(), taken: names.keys().cloned().collect(), in_step };
    for (name, def) in declared {
        let rust = type_name(name).unwrap_or_default();
        match def {
            TypeDef::Object(properties) => generator.object(&rust, properties)?,
            other => {
                let target = generator.rust(other, &rust)?;
                generator
                    .out
                    .push_str(&format!("\n/// `{name}` of the `types`.\npub type {rust} = {target};\n"));
            }
        }
    }
    Ok(generator.out)
}

/// Writes structs for objects, naming nested ones after their field.
struct Types {
    out: String,
    taken: BTreeSet<String>,
    /// Whether the structs are written in a step crate (serde is `dataflow::serde` there).
    in_step: bool,
}

impl Types {
    fn rust(&mut self, def: &TypeDef, hint: &str) -> Result<String, String> {
        Ok(match def {
            TypeDef::Primitive(primitive_type) => primitive(*primitive_type).to_owned(),
            TypeDef::Named(name) => {
                type_name(name).ok_or_else(|| format!("type `{name}` cannot name a Rust type"))?
            }
            TypeDef::List(items) => format!("Vec<{}>", self.rust(items, &format!("{hint}Item"))?),
            TypeDef::Object(properties) => {
                let mut name = hint.to_owned();
                while !self.taken.insert(name.clone()) {
                    name.push('_');
                }
                self.object(&name, properties)?;
                name
            }
        })
    }

    fn object(&mut self, rust: &str, properties: &BTreeMap<String, TypeDef>) -> Result<(), String> {
        let mut fields = String::new();
        let mut seen = BTreeSet::new();
        for (name, def) in properties {
            let field = field_name(name)
                .ok_or_else(|| format!("field `{name}` of `{rust}` cannot name a Rust field"))?;
            if !seen.insert(field.clone()) {
                return Err(format!("two fields of `{rust}` would both be the Rust field `{field}`"));
            }
            let nested = format!("{rust}{}", type_name(name).unwrap_or_default());
            let target = self.rust(def, &nested)?;
            if field.trim_start_matches("r#") != name {
                fields.push_str(&format!("    #[serde(rename = {name:?})]\n"));
            }
            fields.push_str(&format!("    pub {field}: {target},\n"));
        }
        let serde_crate = if self.in_step { "#[serde(crate = \"dataflow::serde\")]\n" } else { "" };
        self.out.push_str(&format!(
            "\n#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]\n{serde_crate}pub struct {rust} {{\n{fields}}}\n"
        ));
        Ok(())
    }
}

/// The first top-level `fn` of `code`: its name, and the name's line and column (1-based).
/// Comments and string literals are skipped.
pub(crate) fn entry_function(code: &str) -> Option<(String, (usize, usize))> {
    let chars: Vec<char> = code.chars().collect();
    let (mut index, mut depth) = (0usize, 0usize);
    let place = |index: usize| {
        let before = &chars[..index];
        let line = before.iter().filter(|c| **c == '\n').count() + 1;
        let column = index - before.iter().rposition(|c| *c == '\n').map_or(0, |newline| newline + 1) + 1;
        (line, column)
    };
    while index < chars.len() {
        let rest = &chars[index..];
        match rest {
            ['/', '/', ..] => index += rest.iter().position(|c| *c == '\n').unwrap_or(rest.len()),
            ['/', '*', ..] => {
                index += 2 + rest
                    .windows(2)
                    .skip(2)
                    .position(|w| w == ['*', '/'])
                    .map_or(rest.len(), |end| end + 2)
            }
            ['"', ..] => {
                index += 1;
                while index < chars.len() && chars[index] != '"' {
                    index += if chars[index] == '\\' { 2 } else { 1 };
                }
                index += 1;
            }
            ['{', ..] => {
                depth += 1;
                index += 1;
            }
            ['}', ..] => {
                depth = depth.saturating_sub(1);
                index += 1;
            }
            ['f', 'n', next, ..]
                if depth == 0
                    && next.is_whitespace()
                    && (index == 0 || !(chars[index - 1].is_alphanumeric() || chars[index - 1] == '_')) =>
            {
                let start = index + 2 + rest[2..].iter().take_while(|c| c.is_whitespace()).count();
                let name: String =
                    chars[start..].iter().take_while(|c| c.is_alphanumeric() || **c == '_').collect();
                if name.is_empty() {
                    return None;
                }
                return Some((name, place(start)));
            }
            _ => index += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_is_the_first_top_level_fn() {
        assert_eq!(
            entry_function("fn k(r: R) -> Result<String> { Ok(r.s) }"),
            Some(("k".to_owned(), (1, 4)))
        );
        let code = "// fn not_this()\n/* fn nor_this */ const S: &str = \"fn no\";\npub fn\n  here(x: u32) { fn inner() {} }";
        assert_eq!(entry_function(code), Some(("here".to_owned(), (4, 3))));
        assert_eq!(entry_function("let x = 1;"), None);
        assert_eq!(entry_function("fn (x)"), None);
        assert_eq!(entry_function("\"unterminated"), None);
        assert_eq!(entry_function("/* unterminated"), None);
    }
}
