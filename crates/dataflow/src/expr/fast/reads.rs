//! Which parts of the `value` binding a compiled expression reads, as a [`Projection`].
//!
//! A chain of field selections from `value` (`value.bid.price`, `value['bid']`) reads the
//! value at that path, whole; `has(value.a.b)` reads `a.b`; `value` used any other way (as
//! an operand, indexed by something computed) reads all of it. Evaluated on a value with
//! only those parts, the expression selects the same fields, meets the same absences and
//! fails the same way as on the whole value.

use eddy_types::Projection;

use super::{Binding, Literal, Node};

/// Adds what `node` reads of `value` to `read`.
pub(in crate::expr) fn value_reads(node: &Node, read: &mut Projection) {
    if let Some(path) = value_path(node) {
        read.add_path(&path);
        return;
    }
    match node {
        Node::Literal(_) | Node::Binding(_) => {}
        Node::Has(operand, field) => match value_path(operand) {
            Some(mut path) => {
                path.push(field);
                read.add_path(&path);
            }
            None => value_reads(operand, read),
        },
        Node::Select(operand, _)
        | Node::Not(operand)
        | Node::Negate(operand)
        | Node::Function(_, operand) => {
            value_reads(operand, read);
        }
        Node::Index(left, right)
        | Node::And(left, right)
        | Node::Or(left, right)
        | Node::Binary(_, left, right) => {
            value_reads(left, read);
            value_reads(right, read);
        }
        Node::Conditional(condition, then, otherwise) => {
            value_reads(condition, read);
            value_reads(then, read);
            value_reads(otherwise, read);
        }
        Node::List(items) => items.iter().for_each(|item| value_reads(item, read)),
        Node::Map(entries) => entries.iter().for_each(|(_, item)| value_reads(item, read)),
    }
}

/// The field path `node` selects from `value`, if it is such a selection (the empty path
/// for `value` itself).
fn value_path(node: &Node) -> Option<Vec<&str>> {
    match node {
        Node::Binding(Binding::Value) => Some(Vec::new()),
        Node::Select(operand, field) => {
            let mut path = value_path(operand)?;
            path.push(field);
            Some(path)
        }
        Node::Index(operand, index) => {
            let Node::Literal(Literal::String(field)) = &**index else { return None };
            let mut path = value_path(operand)?;
            path.push(field);
            Some(path)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {

    use proptest::test_runner::{Config, TestRunner};
    use serde_json::json;

    use super::super::random::{expression, record};
    use super::super::tests::assert_same_outcome;
    use crate::expr::{Bindings, Expr};
    use eddy_types::Projection;

    fn reads(source: &str) -> Projection {
        let mut read = Projection::nothing();
        Expr::compile(source).unwrap().value_reads(&mut read);
        read
    }

    #[test]
    fn selections_read_their_paths_and_anything_else_reads_all() {
        let q0 = reads("value.event_type == 2 ? {'a': value.bid.auction, 'p': value['bid'].price} : null");
        let mut expected = Projection::nothing();
        expected.add_path(&["event_type"]);
        expected.add_path(&["bid", "auction"]);
        expected.add_path(&["bid", "price"]);
        assert_eq!(q0, expected);

        let mut has = Projection::nothing();
        has.add_path(&["n", "x"]);
        assert_eq!(reads("has(value.n.x)"), has);
        let mut list = Projection::nothing();
        list.add_path(&["l"]);
        assert_eq!(reads("value.l[0] + size(value.l)"), list);

        assert_eq!(reads("key + 'x'"), Projection::nothing(), "no read of value");
        assert!(reads("size(value) > 1").is_whole());
        assert!(reads("value[key]").is_whole(), "a computed index reads all");
        assert!(reads("value.l.exists(x, x > 1) || value.a > 0").is_whole(), "not compiled: all");
    }

    /// On the parts of a record it reads, an expression gives what it gives on the whole
    /// record: the same value or the same error.
    #[test]
    fn random_expressions_see_the_same_on_what_they_read() {
        let mut runner = TestRunner::new(Config { cases: 2000, ..Config::default() });
        runner
            .run(&(expression(), record()), |(source, value)| {
                let Ok(expr) = Expr::compile(&source) else { return Ok(()) };
                let mut read = Projection::nothing();
                expr.value_reads(&mut read);
                let projected = read.apply(&value);
                let key = json!("k");
                let whole = expr.eval(&Bindings::new(&value).with_key(&key));
                let part = expr.eval(&Bindings::new(&projected).with_key(&key));
                assert_same_outcome(&whole, &part);
                Ok(())
            })
            .unwrap();
    }
}
