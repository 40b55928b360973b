//! A service's `join`: two sides with distinct names that CEL can read, sources the service
//! has, a join key each, and an `emit` that reads only the sides, `key` and (windowed)
//! `window`. `when` and `key` may be WebAssembly (the `filter` and `assign-key` worlds);
//! `emit` is CEL only.

use super::Validator;
use super::steps::Scope;
use crate::diagnostic::Finding;
use crate::expr::{ENTRIES, KEY, OTHER, STATE, TIMESTAMP, VALUE, WINDOW};
use crate::logic::Logic;
use crate::model::{Code, Join, JoinSide, Service};
use crate::plan::{JoinPlan, JoinSidePlan};
use crate::suggest::closest;
use crate::yaml::Path;

/// Names the engine binds itself: a side cannot take them.
const BOUND: [&str; 7] = [VALUE, KEY, TIMESTAMP, STATE, WINDOW, ENTRIES, OTHER];

/// CEL's reserved words, which cannot be variable names.
const RESERVED: [&str; 21] = [
    "as",
    "break",
    "const",
    "continue",
    "else",
    "false",
    "for",
    "function",
    "if",
    "import",
    "in",
    "let",
    "loop",
    "namespace",
    "null",
    "package",
    "return",
    "true",
    "var",
    "void",
    "while",
];

impl Validator<'_> {
    /// Checks `join` at `path`; `windowed` when the service has a window.
    pub(super) fn join(
        &mut self,
        join: &Join,
        path: &Path,
        service: &Service,
        windowed: bool,
    ) -> Option<JoinPlan> {
        let left = self.join_side(&join.left, &path.key("left"), service);
        let right = self.join_side(&join.right, &path.key("right"), service);
        let mut ok = true;
        if !join.left.name.is_empty() && join.left.name == join.right.name {
            self.report(Finding::new(
                path.key("right").key("name"),
                format!(
                    "both sides are called `{}`; `emit` tells them apart by name, so give them different names",
                    join.right.name
                ),
            ));
            ok = false;
        }
        let emit_path = path.key("emit");
        let emit = match &join.emit {
            None => {
                self.report(
                    Finding::new(
                        path.clone(),
                        format!(
                            "the join has no `emit`, so it never outputs anything; add e.g. \
                             `emit: {{cel: \"{{'{}': {}, '{}': {}}}\"}}`",
                            join.left.name, join.left.name, join.right.name, join.right.name
                        ),
                    )
                    .at_key(),
                );
                None
            }
            Some(emit) => {
                let scope = if windowed { Scope::WindowedEmit } else { Scope::Emit };
                let names = [join.left.name.as_str(), join.right.name.as_str()];
                self.emit(&emit.codes(), &emit_path, scope, &names)
            }
        };
        let plan = JoinPlan { left: left?, right: right?, emit: emit?, emit_origin: emit_path.to_string() };
        ok.then_some(plan)
    }

    fn join_side(&mut self, side: &JoinSide, path: &Path, service: &Service) -> Option<JoinSidePlan> {
        let name_ok = self.side_name(&side.name, &path.key("name"));
        let source = match &side.source {
            None => Some(None),
            Some(id) => match service.sources.iter().position(|source| &source.id == id) {
                Some(index) => Some(Some(index)),
                None => {
                    let ids = service.sources.iter().map(|source| source.id.as_str());
                    let hint = closest(id, ids.clone())
                        .map(|near| format!(" (did you mean `{near}`?)"))
                        .unwrap_or_default();
                    let ids: Vec<&str> = ids.collect();
                    self.report(
                        Finding::new(
                            path.key("source"),
                            format!(
                                "`{id}` is not a source of this service{hint}; its sources: {}",
                                ids.join(", ")
                            ),
                        )
                        .expected("the id of one of the service's sources"),
                    );
                    None
                }
            },
        };
        let when_path = path.key("when");
        let when = match &side.when {
            None => Some(None),
            Some(when) => self.logic(&when.codes(), &when_path, Scope::Record).map(Some),
        };
        let key_path = path.key("key");
        let key = match &side.key {
            None => {
                self.report(
                    Finding::new(
                        path.clone(),
                        format!(
                            "join side `{}` has no `key`; add the join key, e.g. `key: {{cel: value.id}}`",
                            side.name
                        ),
                    )
                    .at_key(),
                );
                None
            }
            Some(key) => self.logic(&key.codes(), &key_path, Scope::Record),
        };
        let plan = JoinSidePlan {
            name: side.name.clone(),
            source: source?,
            when: when?,
            when_origin: when_path.to_string(),
            key: key?,
            key_origin: key_path.to_string(),
            keep: side.keep,
        };
        name_ok.then_some(plan)
    }

    /// A side's name must be a CEL identifier the engine does not bind already.
    fn side_name(&mut self, name: &str, path: &Path) -> bool {
        let identifier = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let problem = if !identifier {
            format!(
                "`{name}` cannot be a side's name: `emit` reads it as a variable, so it must be letters, \
                 digits and `_`, not starting with a digit"
            )
        } else if BOUND.contains(&name) {
            format!(
                "`{name}` cannot be a side's name: it is a name the engine binds itself ({})",
                BOUND.join(", ")
            )
        } else if RESERVED.contains(&name) {
            format!("`{name}` cannot be a side's name: it is a reserved word of CEL")
        } else {
            return true;
        };
        self.report(Finding::new(path.clone(), problem).expected("a name such as `person` or `auction`"));
        false
    }

    /// `emit`: CEL only, reading the scope's variables and `names`.
    pub(super) fn emit(
        &mut self,
        codes: &[Code<'_>],
        path: &Path,
        scope: Scope,
        names: &[&str],
    ) -> Option<Logic> {
        match codes {
            [Code::Cel(source)] => self.cel_with(source, path.key("cel"), scope, names),
            [Code::Run(_) | Code::Uses(_) | Code::Component(_)] => {
                let message = if scope == Scope::StateEmit {
                    "`emit` runs CEL only in this build (no WebAssembly world takes a state before and after); \
                     `update-state` may be a component"
                } else {
                    "a join's `emit` runs CEL only in this build (no WebAssembly world takes two values); \
                     `when` and `key` may be components"
                };
                self.report(Finding::new(path.clone(), message).expected("`cel: <expression>`"));
                None
            }
            _ => self.logic(codes, path, scope),
        }
    }
}
