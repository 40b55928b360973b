//! Operator steps (`{operator: filter, cel: ...}`) and the logic they run.
//!
//! A step's logic is exactly one of:
//!
//! | field | what it is |
//! |---|---|
//! | `cel` | a CEL expression, evaluated in process |
//! | `run` | inline Rust, compiled to WebAssembly by `eddy build` (as in SDF) |
//! | `uses` | a function from an imported package (as in SDF) |
//! | `component` | the path of a prebuilt WebAssembly component |
//!
//! `run` and `uses` are compiled to components by `eddy build` (`eddy-build`); `uses` must name
//! a function of an `imports` entry ([`crate::package`]).

use serde::{Deserialize, Serialize};

use super::Aggregate;

/// What a step does with each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operator {
    /// Keeps records for which the logic returns `true`.
    Filter,
    /// Replaces the value with the logic's result.
    Map,
    /// Replaces the value with the result, dropping records whose result is `null`.
    FilterMap,
    /// Replaces the record with one record per element of the resulting list.
    FlatMap,
    /// Sets the record's key (only as `partition.assign-key`).
    AssignKey,
    /// Updates the key's state (only as `partition.update-state`).
    UpdateState,
}

impl Operator {
    /// Every operator, in the order the docs list them.
    pub const ALL: [Operator; 6] = [
        Operator::Filter,
        Operator::Map,
        Operator::FilterMap,
        Operator::FlatMap,
        Operator::AssignKey,
        Operator::UpdateState,
    ];

    /// The name used in dataflow files.
    pub fn name(self) -> &'static str {
        match self {
            Operator::Filter => "filter",
            Operator::Map => "map",
            Operator::FilterMap => "filter-map",
            Operator::FlatMap => "flat-map",
            Operator::AssignKey => "assign-key",
            Operator::UpdateState => "update-state",
        }
    }
}

/// One step of a `transforms` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Step {
    /// What the step does.
    pub operator: Operator,
    /// A CEL expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cel: Option<String>,
    /// Inline Rust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// An imported function's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<String>,
    /// A WebAssembly component's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
}

/// The logic of a partition stage (`assign-key`, `update-state`): a step without `operator`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FunctionDef {
    /// A built-in aggregate (`update-state` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<Aggregate>,
    /// What the aggregate sums, compares or averages: a CEL expression over the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
    /// A CEL expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cel: Option<String>,
    /// Inline Rust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// An imported function's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<String>,
    /// A WebAssembly component's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
}

/// One way of giving a step its logic, borrowed from the step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code<'a> {
    /// `cel: <expression>`.
    Cel(&'a str),
    /// `run: <inline Rust>`.
    Run(&'a str),
    /// `uses: <function>`.
    Uses(&'a str),
    /// `component: <path.wasm>`.
    Component(&'a str),
    /// `aggregate: <built-in>`.
    Aggregate(Aggregate),
}

impl Code<'_> {
    /// The field it is written in.
    pub fn field(&self) -> &'static str {
        match self {
            Code::Cel(_) => "cel",
            Code::Run(_) => "run",
            Code::Uses(_) => "uses",
            Code::Component(_) => "component",
            Code::Aggregate(_) => "aggregate",
        }
    }
}

pub(crate) fn codes<'a>(
    cel: &'a Option<String>,
    run: &'a Option<String>,
    uses: &'a Option<String>,
    component: &'a Option<String>,
    aggregate: Option<Aggregate>,
) -> Vec<Code<'a>> {
    [
        aggregate.map(Code::Aggregate),
        cel.as_deref().map(Code::Cel),
        run.as_deref().map(Code::Run),
        uses.as_deref().map(Code::Uses),
        component.as_deref().map(Code::Component),
    ]
    .into_iter()
    .flatten()
    .collect()
}

impl Step {
    /// A step running a CEL expression.
    pub fn cel(operator: Operator, expression: &str) -> Step {
        Step { operator, cel: Some(expression.to_owned()), run: None, uses: None, component: None }
    }

    /// Every logic field that is set; a valid step has exactly one.
    pub fn codes(&self) -> Vec<Code<'_>> {
        codes(&self.cel, &self.run, &self.uses, &self.component, None)
    }
}

impl FunctionDef {
    /// A function running a CEL expression.
    pub fn cel(expression: &str) -> FunctionDef {
        FunctionDef { cel: Some(expression.to_owned()), ..FunctionDef::default() }
    }

    /// Every logic field that is set; a valid function has exactly one.
    pub fn codes(&self) -> Vec<Code<'_>> {
        codes(&self.cel, &self.run, &self.uses, &self.component, self.aggregate)
    }
}
