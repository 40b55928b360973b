//! The seam between an operator and the code it runs.
//!
//! The plan says *what* runs as a [`Logic`]; the engine calls it through the [`Function`]
//! trait, which CEL expressions implement here. WebAssembly components run in `eddy-wasm`:
//! the plan carries their source ([`Logic::Wasm`]) and the engine instantiates them, one
//! instance per worker thread.

use std::fmt;

use serde_json::Value;

use crate::expr::{Bindings, EvalError, Expr};

/// User code that turns a record's bindings into a JSON value.
///
/// Contract: `call` never panics on bad input; a record the code cannot handle is an `Err`,
/// which sends that record to the dead-letter topic. Implementations are shared between
/// worker threads.
pub trait Function: fmt::Debug + Send + Sync {
    /// Runs the code on one record.
    ///
    /// # Errors
    /// Why the record could not be processed.
    fn call(&self, bindings: &Bindings<'_>) -> Result<Value, EvalError>;
}

impl Function for Expr {
    fn call(&self, bindings: &Bindings<'_>) -> Result<Value, EvalError> {
        self.eval(bindings)
    }
}

/// The code an operator runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Logic {
    /// A compiled CEL expression.
    Cel(Expr),
    /// WebAssembly, instantiated by the engine. Inline code and package functions must be
    /// built into components (`eddy build`) before the engine runs them.
    Wasm(WasmSource),
    /// A built-in aggregate, run natively by the engine.
    Aggregate(AggregatePlan),
}

/// A built-in aggregate with its expressions compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatePlan {
    /// Which one.
    pub kind: crate::model::Aggregate,
    /// What `sum`, `min`, `max` and `avg` aggregate, over the record.
    pub of: Option<Expr>,
    /// What `top-k` ranks by, over `key`, `state` and `window`.
    pub by: Option<Expr>,
    /// How many entries `top-k` emits.
    pub k: usize,
    /// Whether `top-k` also emits the entries that tie with the `k`-th.
    pub with_ties: bool,
}

/// Where a WebAssembly operator's code comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WasmSource {
    /// `run:` inline Rust, to compile.
    Inline(String),
    /// `uses:` a function of an imported package.
    Uses(String),
    /// `component:` a prebuilt component's path.
    Component(String),
}

impl Logic {
    /// The code as a [`Function`], when it runs in this crate (CEL); `None` for WebAssembly,
    /// which the engine instantiates.
    pub fn function(&self) -> Option<&dyn Function> {
        match self {
            Logic::Cel(expr) => Some(expr),
            Logic::Wasm(_) | Logic::Aggregate(_) => None,
        }
    }

    /// The CEL expression, if it is one.
    pub fn as_cel(&self) -> Option<&Expr> {
        match self {
            Logic::Cel(expr) => Some(expr),
            Logic::Wasm(_) | Logic::Aggregate(_) => None,
        }
    }
}
