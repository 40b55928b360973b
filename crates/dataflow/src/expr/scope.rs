//! Free variables of a CEL expression: the names it reads from its bindings.
//!
//! Validation uses them to catch `valeu.temp > 30.0` when the file is loaded rather than on
//! the first record. Comprehensions (`all`, `exists`, `map`, `filter`...) bind their own
//! variables, which are not free; CEL's type names (`int`, `string`...) are not variables.

use cel::Program;
use cel::common::ast::{EntryExpr, Expr as Ast, IdedExpr};

/// A variable an expression reads without binding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeVariable {
    /// Its name.
    pub name: String,
    /// 1-based line of its first use inside the expression.
    pub line: usize,
    /// 1-based column of its first use inside the expression.
    pub column: usize,
}

/// Identifiers that name CEL types rather than variables.
const TYPE_NAMES: &[&str] =
    &["bool", "bytes", "double", "dyn", "int", "list", "map", "null_type", "string", "type", "uint"];

/// Whether `name` names one of CEL's types rather than a variable.
pub(super) fn is_type_name(name: &str) -> bool {
    TYPE_NAMES.contains(&name)
}

pub(super) fn free_variables(program: &Program, source: &str) -> Vec<FreeVariable> {
    let mut walk = Walk { program, source, bound: Vec::new(), found: Vec::new() };
    walk.expr(program.expression());
    walk.found
}

struct Walk<'a> {
    program: &'a Program,
    source: &'a str,
    bound: Vec<&'a str>,
    found: Vec<FreeVariable>,
}

impl<'a> Walk<'a> {
    fn expr(&mut self, expr: &'a IdedExpr) {
        match &expr.expr {
            Ast::Unspecified | Ast::Literal(_) => {}
            Ast::Ident(name) => self.ident(name, expr.id),
            Ast::Select(select) => self.expr(&select.operand),
            Ast::Call(call) => {
                if let Some(target) = &call.target {
                    self.expr(target);
                }
                for arg in &call.args {
                    self.expr(arg);
                }
            }
            Ast::List(list) => {
                for element in &list.elements {
                    self.expr(element);
                }
            }
            Ast::Map(map) => self.entries(&map.entries),
            Ast::Struct(structure) => self.entries(&structure.entries),
            Ast::Comprehension(comprehension) => {
                self.expr(&comprehension.iter_range);
                self.expr(&comprehension.accu_init);
                let depth = self.bound.len();
                self.bound.push(&comprehension.accu_var);
                self.expr(&comprehension.result);
                self.bound.push(&comprehension.iter_var);
                if let Some(second) = &comprehension.iter_var2 {
                    self.bound.push(second);
                }
                self.expr(&comprehension.loop_cond);
                self.expr(&comprehension.loop_step);
                self.bound.truncate(depth);
            }
        }
    }

    fn entries(&mut self, entries: &'a [cel::common::ast::IdedEntryExpr]) {
        for entry in entries {
            match &entry.expr {
                EntryExpr::MapEntry(entry) => {
                    self.expr(&entry.key);
                    self.expr(&entry.value);
                }
                EntryExpr::StructField(field) => self.expr(&field.value),
            }
        }
    }

    fn ident(&mut self, name: &str, id: u64) {
        if self.bound.contains(&name)
            || TYPE_NAMES.contains(&name)
            || self.found.iter().any(|found| found.name == name)
        {
            return;
        }
        let offset = self.program.source_info().offset_for(id).map_or(0, |(start, _)| start as usize);
        let (line, column) = line_column(self.source, offset);
        self.found.push(FreeVariable { name: name.to_owned(), line, column });
    }
}

/// How deep the expression tree goes (a leaf is 1 deep). Iterative: the tree may be deeper
/// than the limit it is checked against.
pub(super) fn depth(root: &IdedExpr) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(root, 1usize)];
    while let Some((expr, depth)) = pending.pop() {
        deepest = deepest.max(depth);
        pending.extend(children(expr).into_iter().map(|child| (child, depth + 1)));
    }
    deepest
}

fn children(expr: &IdedExpr) -> Vec<&IdedExpr> {
    match &expr.expr {
        Ast::Unspecified | Ast::Literal(_) | Ast::Ident(_) => Vec::new(),
        Ast::Select(select) => vec![&select.operand],
        Ast::Call(call) => call.target.iter().map(|target| &**target).chain(&call.args).collect(),
        Ast::List(list) => list.elements.iter().collect(),
        Ast::Map(map) => entry_children(&map.entries),
        Ast::Struct(structure) => entry_children(&structure.entries),
        Ast::Comprehension(c) => vec![&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result],
    }
}

fn entry_children(entries: &[cel::common::ast::IdedEntryExpr]) -> Vec<&IdedExpr> {
    entries
        .iter()
        .flat_map(|entry| match &entry.expr {
            EntryExpr::MapEntry(entry) => vec![&entry.key, &entry.value],
            EntryExpr::StructField(field) => vec![&field.value],
        })
        .collect()
}

/// 1-based line and column of the character at `offset` (in characters) in `source`.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    for c in source.chars().take(offset) {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

#[cfg(test)]
mod tests {
    use crate::expr::Expr;

    fn free(source: &str) -> Vec<(String, usize, usize)> {
        Expr::compile(source)
            .unwrap()
            .free_variables()
            .into_iter()
            .map(|variable| (variable.name, variable.line, variable.column))
            .collect()
    }

    #[test]
    fn free_variables_are_found_with_their_place() {
        assert_eq!(free("value.temp > 30.0"), [("value".to_owned(), 1, 1)]);
        assert_eq!(
            free("valeu.temp > 30.0 && key == 'a'"),
            [("valeu".to_owned(), 1, 1), ("key".to_owned(), 1, 22)]
        );
        assert_eq!(free("1 +\n  state"), [("state".to_owned(), 2, 3)]);
        assert_eq!(free("{'a': value}"), [("value".to_owned(), 1, 7)]);
    }

    #[test]
    fn comprehension_variables_and_type_names_are_not_free() {
        assert_eq!(free("value.items.all(x, x > 0)"), [("value".to_owned(), 1, 1)]);
        assert_eq!(
            free("value.items.map(x, x * 2).exists(y, y > k)"),
            [("value".to_owned(), 1, 1), ("k".to_owned(), 1, 41)]
        );
        assert_eq!(free("type(value) == int && has(value.a)"), [("value".to_owned(), 1, 6)]);
    }
}
