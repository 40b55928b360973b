//! Built-in aggregates: which one fits where, what it needs (`of`, `k`, `by`), and whether
//! the state it keeps has the right type.

use super::Validator;
use super::steps::Scope;
use crate::diagnostic::Finding;
use crate::logic::{AggregatePlan, Logic};
use crate::model::{Aggregate, Flush, FlushPer, FunctionDef, Primitive};
use crate::plan::{StatePlan, StateType};
use crate::yaml::Path;

impl Validator<'_> {
    /// `update-state: {aggregate, of?}` at `path`, updating `state`.
    pub(super) fn update_aggregate(
        &mut self,
        update: &FunctionDef,
        kind: Aggregate,
        path: &Path,
        state: Option<&StatePlan>,
    ) -> Option<Logic> {
        let of = match (kind, &update.of) {
            (Aggregate::Count, None) => Some(None),
            (Aggregate::Count, Some(_)) => {
                self.report(
                    Finding::new(path.key("of"), "`count` counts records; it takes no `of`").at_key(),
                );
                None
            }
            (Aggregate::TopK, _) => {
                self.report(Finding::new(
                    path.key("aggregate"),
                    "`top-k` ranks the keys of a window; use it in `flush: {per: window, aggregate: top-k, k: 3, by: state}`",
                ));
                None
            }
            (_, None) => {
                self.report(
                    Finding::new(path.clone(), format!("`{}` needs `of`: what to aggregate", kind.name()))
                        .expected("e.g. `of: value.amount`")
                        .at_key(),
                );
                None
            }
            (_, Some(source)) => {
                self.cel(source, path.key("of"), Scope::Record).and_then(|logic| match logic {
                    Logic::Cel(expr) => Some(Some(expr)),
                    _ => None,
                })
            }
        };
        let fits = match state {
            None => true, // reported where the state is resolved
            Some(state) => self.aggregate_fits_state(kind, state, path),
        };
        let of = of?;
        fits.then_some(Logic::Aggregate(AggregatePlan { kind, of, by: None, k: 0, with_ties: false }))
    }

    fn aggregate_fits_state(&mut self, kind: Aggregate, state: &StatePlan, path: &Path) -> bool {
        let fits = match (&state.value, kind) {
            (StateType::Number(_), Aggregate::Count | Aggregate::Sum | Aggregate::Min | Aggregate::Max) => {
                true
            }
            (StateType::Row(columns), Aggregate::Avg) => {
                let column = |name: &str| columns.iter().find(|(column, _)| column == name).map(|(_, t)| *t);
                let number = |t: Option<Primitive>| {
                    t.is_some_and(|t| {
                        matches!(t, Primitive::F64 | Primitive::F32 | Primitive::U64 | Primitive::I64)
                    })
                };
                number(column("sum")) && number(column("count"))
            }
            _ => false,
        };
        if !fits {
            let expected = match kind {
                Aggregate::Avg => {
                    "a row `{type: arrow-row, properties: {sum: {type: f64}, count: {type: u64}}}`"
                }
                _ => "a number, e.g. `{type: u64}`",
            };
            self.report(
                Finding::new(
                    path.key("aggregate"),
                    format!("`{}` cannot keep its result in state `{}`", kind.name(), state.name),
                )
                .expected(expected),
            );
        }
        fits
    }

    /// `flush: {per: window, aggregate: top-k, k, by, with-ties?}` at `path`.
    pub(super) fn flush_aggregate(&mut self, flush: &Flush, kind: Aggregate, path: &Path) -> Option<Logic> {
        let mut ok = true;
        if kind != Aggregate::TopK {
            self.report(Finding::new(
                path.key("aggregate"),
                format!(
                    "`{}` aggregates records per key; use it in `partition.update-state`, and `flush` emits the state",
                    kind.name()
                ),
            ));
            return None;
        }
        if flush.per != FlushPer::Window {
            self.report(
                Finding::new(path.clone(), "`top-k` ranks the keys of a window; it needs `per: window`")
                    .at_key(),
            );
            ok = false;
        }
        let k = match flush.k {
            Some(k) if k > 0 => k as usize,
            Some(_) => {
                self.report(Finding::new(path.key("k"), "`k` must be at least 1"));
                ok = false;
                0
            }
            None => {
                self.report(
                    Finding::new(path.clone(), "`top-k` needs `k`: how many entries to emit")
                        .expected("e.g. `k: 3`")
                        .at_key(),
                );
                ok = false;
                0
            }
        };
        let by = match &flush.by {
            Some(source) => match self.cel(source, path.key("by"), Scope::FlushKey) {
                Some(Logic::Cel(expr)) => Some(expr),
                _ => None,
            },
            None => {
                self.report(
                    Finding::new(path.clone(), "`top-k` needs `by`: what to rank the window's keys by")
                        .expected("e.g. `by: state`")
                        .at_key(),
                );
                None
            }
        };
        let by = by?;
        ok.then_some(Logic::Aggregate(AggregatePlan {
            kind,
            of: None,
            by: Some(by),
            k,
            with_ties: flush.with_ties,
        }))
    }

    /// Reports `of`, `k` or `by` written without an `aggregate`.
    pub(super) fn stray_aggregate_fields(&mut self, fields: &[(&str, bool)], path: &Path) {
        for (field, given) in fields {
            if *given {
                self.report(
                    Finding::new(
                        path.key(field),
                        format!("`{field}` belongs to `aggregate`, which is not given"),
                    )
                    .at_key(),
                );
            }
        }
    }
}
