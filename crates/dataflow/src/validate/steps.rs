//! Steps and their logic: operators in their place, exactly one kind of logic, CEL that
//! compiles and reads only the variables it is given.

use super::Validator;
use crate::diagnostic::{At, Finding};
use crate::expr::{ENTRIES, Expr, KEY, OTHER, STATE, TIMESTAMP, VALUE, WINDOW};
use crate::logic::{Logic, WasmSource};
use crate::model::{Code, Operator, Step};
use crate::plan::{EmitPlan, OperatorKind, OperatorPlan};
use crate::suggest::closest;
use crate::yaml::Path;

/// Which variables an expression may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// `value`, `key`, `timestamp`.
    Record,
    /// Those and `state` (in `update-state`).
    State,
    /// `key`, `state` and `window` (a per-key `flush`).
    FlushKey,
    /// `window` and `entries` (a per-window `flush`).
    FlushWindow,
    /// `state` and `other` (a session window's `merge`).
    Merge,
    /// `key` and the sides' names (a join's `emit`).
    Emit,
    /// `key`, `window` and the sides' names (a windowed join's `emit`).
    WindowedEmit,
    /// The record's, `state` and `previous` (a partition's `emit`).
    StateEmit,
}

impl Scope {
    fn variables(self) -> &'static [&'static str] {
        match self {
            Scope::Record => &[VALUE, KEY, TIMESTAMP],
            Scope::State => &[VALUE, KEY, TIMESTAMP, STATE],
            Scope::FlushKey => &[KEY, STATE, WINDOW],
            Scope::FlushWindow => &[WINDOW, ENTRIES],
            Scope::Merge => &[STATE, OTHER],
            Scope::Emit => &[KEY],
            Scope::WindowedEmit => &[KEY, WINDOW],
            Scope::StateEmit => &[VALUE, KEY, TIMESTAMP, STATE, EmitPlan::PREVIOUS],
        }
    }
}

impl Validator<'_> {
    /// Checks a `transforms` list at `path`.
    pub(super) fn chain(&mut self, steps: &[Step], path: &Path) -> Option<Vec<OperatorPlan>> {
        let mut plans = Vec::new();
        let mut ok = true;
        for (index, step) in steps.iter().enumerate() {
            match self.step(step, path.index(index)) {
                Some(plan) => plans.push(plan),
                None => ok = false,
            }
        }
        ok.then_some(plans)
    }

    fn step(&mut self, step: &Step, path: Path) -> Option<OperatorPlan> {
        let kind = match step.operator {
            Operator::Filter => Some(OperatorKind::Filter),
            Operator::Map => Some(OperatorKind::Map),
            Operator::FilterMap => Some(OperatorKind::FilterMap),
            Operator::FlatMap => Some(OperatorKind::FlatMap),
            Operator::AssignKey | Operator::UpdateState => {
                let name = step.operator.name();
                self.report(Finding::new(
                    path.key("operator"),
                    format!(
                        "`{name}` is only allowed as `partition.{name}`, not in `transforms`; \
                         move it into the service's `partition:` block"
                    ),
                ));
                None
            }
        };
        let codes = step.codes();
        let logic = match (codes.as_slice(), kind) {
            ([Code::Uses(name)], Some(_)) => self.uses(name, step.operator, &path),
            _ => self.logic(&codes, &path, Scope::Record),
        };
        Some(OperatorPlan { kind: kind?, logic: logic?, origin: path.to_string() })
    }

    /// Checks the logic of a step or partition function at `path`.
    pub(super) fn logic(&mut self, codes: &[Code<'_>], path: &Path, scope: Scope) -> Option<Logic> {
        match codes {
            [] => {
                self.report(
                    Finding::new(path.clone(), "no logic given; add `cel: <expression>`")
                        .expected("one of `cel`, `run`, `uses` or `component`"),
                );
                None
            }
            [first, second, ..] => {
                self.report(
                    Finding::new(
                        path.key(second.field()),
                        format!(
                            "`{}` and `{}` are both given; a step runs exactly one of `cel`, `run`, `uses` or `component`",
                            first.field(),
                            second.field()
                        ),
                    )
                    .at_key(),
                );
                None
            }
            [Code::Cel(source)] => self.cel(source, path.key("cel"), scope),
            [Code::Aggregate(_)] => {
                self.report(Finding::new(
                    path.key("aggregate"),
                    "`aggregate` is only allowed in `partition.update-state` and a window's `flush`",
                ));
                None
            }
            [_] if scope == Scope::Merge => {
                self.report(
                    Finding::new(path.clone(), "`merge` runs CEL only (no WebAssembly world has a merge)")
                        .expected("`cel: <expression>` combining `state` and `other`"),
                );
                None
            }
            [Code::Component(file)] if file.trim().is_empty() => {
                self.report(
                    Finding::new(path.key("component"), "the component path is empty")
                        .expected("the path of a WebAssembly component, e.g. `./filter.wasm`"),
                );
                None
            }
            [Code::Component(file)] => Some(Logic::Wasm(WasmSource::Component(file.trim().to_owned()))),
            [Code::Run(code)] => Some(Logic::Wasm(WasmSource::Inline(code.to_string()))),
            [Code::Uses(_)] => {
                self.report(
                    Finding::new(
                        path.key("uses"),
                        "`uses:` (a function from an imported package) runs in `transforms` steps only; \
                         here use `run:` inline Rust, `component:` or `cel:`",
                    )
                    .at_key(),
                );
                None
            }
        }
    }

    pub(super) fn cel(&mut self, source: &str, path: Path, scope: Scope) -> Option<Logic> {
        self.cel_with(source, path, scope, &[])
    }

    /// Like [`Validator::cel`], with `names` bound as well.
    pub(super) fn cel_with(
        &mut self,
        source: &str,
        path: Path,
        scope: Scope,
        names: &[&str],
    ) -> Option<Logic> {
        let expr = match Expr::compile(source) {
            Ok(expr) => expr,
            Err(error) => {
                self.report(
                    Finding::new(path, format!("CEL {error}"))
                        .at(At::Inside { line: error.line, column: error.column }),
                );
                return None;
            }
        };
        let allowed: Vec<&str> = scope.variables().iter().chain(names).copied().collect();
        let mut ok = true;
        for variable in expr.free_variables() {
            if allowed.contains(&variable.name.as_str()) {
                continue;
            }
            ok = false;
            let message = if variable.name == STATE {
                "`state` is only bound in `partition.update-state`, `partition.emit`, a per-key `flush` and `merge`"
                    .to_owned()
            } else {
                let hint = closest(&variable.name, allowed.iter().copied())
                    .map(|near| format!(" (did you mean `{near}`?)"))
                    .unwrap_or_default();
                let available: Vec<String> = allowed.iter().map(|name| format!("`{name}`")).collect();
                format!("unknown variable `{}`{hint}; available: {}", variable.name, available.join(", "))
            };
            self.report(
                Finding::new(path.clone(), message)
                    .at(At::Inside { line: variable.line, column: variable.column }),
            );
        }
        ok.then_some(Logic::Cel(expr))
    }
}
