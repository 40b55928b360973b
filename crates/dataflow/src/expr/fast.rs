//! The compiled fast path: a common subset of CEL evaluated directly on borrowed JSON.
//!
//! The interpreter needs every binding converted to CEL's runtime values (a hash map per
//! object, a box per value) before it runs, and most of that work is wasted: a filter on a
//! Nexmark event reads 6 of its 30-odd fields. [`compile`] turns an expression of the subset
//! below into a tree of [`Node`]s that reads only the fields it names, straight from the
//! borrowed `serde_json::Value`s of the [`Bindings`], and builds the JSON result directly.
//!
//! The subset: literals but bytes; the bindings by name; `a.b`, `a['b']`, `list[i]`,
//! `has(a.b)`; `== != < <= > >=`; `&& || !` (with CEL's absorption of errors); `? :`;
//! `+ - * / %` and unary `-` (`+` also joins strings and lists); map literals with distinct string-literal keys; list
//! literals; `in`; `int()`, `double()`, `string()`, `size()` (also as `x.size()`). Anything
//! else (comprehensions, other functions, types as values) leaves the expression to the
//! interpreter.
//!
//! The contract: when the fast path returns a value, it is the value the interpreter returns.
//! The fast path is strict: on any error, and on any operand types it does not handle
//! itself, it fails without a reason, and [`super::Expr::eval`] runs the interpreter,
//! whose result (value or error message) is the answer. So errors cost one evaluation more,
//! and only the successful cases have to agree, which
//! `crates/dataflow/tests/fast_path_agrees_with_the_interpreter.rs` checks on random
//! expressions and values.

use std::borrow::Cow;
use std::cmp::Ordering;

use cel::common::ast::{EntryExpr, Expr as Ast, IdedExpr, LiteralValue, operators};
use serde_json::{Map, Number, Value};

use super::{Bindings, ENTRIES, KEY, OTHER, STATE, TIMESTAMP, VALUE, WINDOW};

/// A compiled expression of the subset.
#[derive(Debug)]
pub(super) enum Node {
    /// A literal.
    Literal(Literal),
    /// A binding.
    Binding(Binding),
    /// `operand.field`.
    Select(Box<Node>, Box<str>),
    /// `has(operand.field)`.
    Has(Box<Node>, Box<str>),
    /// `operand[index]`.
    Index(Box<Node>, Box<Node>),
    /// `!operand`.
    Not(Box<Node>),
    /// `-operand`.
    Negate(Box<Node>),
    /// `left && right`.
    And(Box<Node>, Box<Node>),
    /// `left || right`.
    Or(Box<Node>, Box<Node>),
    /// `condition ? then : otherwise`.
    Conditional(Box<Node>, Box<Node>, Box<Node>),
    /// A binary operator but `&&` and `||`.
    Binary(BinaryOp, Box<Node>, Box<Node>),
    /// A conversion or `size`.
    Function(Function, Box<Node>),
    /// `[a, b, ...]`.
    List(Vec<Node>),
    /// `{'a': x, ...}` with distinct keys, sorted.
    Map(Vec<(Box<str>, Node)>),
}

/// A literal value.
#[derive(Debug)]
pub(super) enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    String(Box<str>),
}

/// Which binding an identifier names.
#[derive(Debug)]
pub(super) enum Binding {
    Value,
    Key,
    Timestamp,
    State,
    Window,
    Entries,
    Other,
    Named(Box<str>),
}

/// The binary operators but `&&` and `||`.
#[derive(Debug, Clone, Copy)]
pub(super) enum BinaryOp {
    Equals,
    NotEquals,
    Less,
    LessEquals,
    Greater,
    GreaterEquals,
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    In,
}

/// The functions of the subset.
#[derive(Debug, Clone, Copy)]
pub(super) enum Function {
    Int,
    Double,
    String,
    Size,
}

/// Compiles `expr` when all of it is in the subset.
pub(super) fn compile(expr: &IdedExpr) -> Option<Node> {
    Some(match &expr.expr {
        Ast::Literal(literal) => Node::Literal(match literal {
            LiteralValue::Null => Literal::Null,
            LiteralValue::Boolean(b) => Literal::Bool(*b.inner()),
            LiteralValue::Int(i) => Literal::Int(*i.inner()),
            LiteralValue::UInt(u) => Literal::UInt(*u.inner()),
            LiteralValue::Double(d) => Literal::Double(*d.inner()),
            LiteralValue::String(s) => Literal::String(s.inner().into()),
            LiteralValue::Bytes(_) => return None,
        }),
        Ast::Ident(name) => Node::Binding(match name.as_str() {
            VALUE => Binding::Value,
            KEY => Binding::Key,
            TIMESTAMP => Binding::Timestamp,
            STATE => Binding::State,
            WINDOW => Binding::Window,
            ENTRIES => Binding::Entries,
            OTHER => Binding::Other,
            // Type names and qualified names resolve otherwise in the interpreter.
            other if super::scope::is_type_name(other) || other.contains('.') => return None,
            other => Binding::Named(other.into()),
        }),
        Ast::Select(select) => {
            let operand = Box::new(compile(&select.operand)?);
            let field = select.field.as_str().into();
            if select.test { Node::Has(operand, field) } else { Node::Select(operand, field) }
        }
        Ast::Call(call) => return compile_call(&call.func_name, call.target.as_deref(), &call.args),
        Ast::List(list) => {
            if !list.optional_indices.is_empty() {
                return None;
            }
            Node::List(list.elements.iter().map(compile).collect::<Option<_>>()?)
        }
        Ast::Map(map) => {
            let mut entries: Vec<(Box<str>, Node)> = Vec::with_capacity(map.entries.len());
            for entry in &map.entries {
                let EntryExpr::MapEntry(entry) = &entry.expr else { return None };
                let Ast::Literal(LiteralValue::String(key)) = &entry.key.expr else { return None };
                if entry.optional || entries.iter().any(|(seen, _)| **seen == *key.inner()) {
                    return None;
                }
                entries.push((key.inner().into(), compile(&entry.value)?));
            }
            // Without side effects, and with any error left to the interpreter, the order in
            // which entries are evaluated does not show: sorted, they make a JSON object in one
            // pass.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Node::Map(entries)
        }
        Ast::Unspecified | Ast::Comprehension(_) | Ast::Struct(_) => return None,
    })
}

fn compile_call(name: &str, target: Option<&IdedExpr>, args: &[IdedExpr]) -> Option<Node> {
    let boxed = |expr: &IdedExpr| compile(expr).map(Box::new);
    if let Some(target) = target {
        return match (name, args) {
            ("size", []) => Some(Node::Function(Function::Size, boxed(target)?)),
            _ => None,
        };
    }
    Some(match (name, args) {
        (operators::CONDITIONAL, [condition, then, otherwise]) => {
            Node::Conditional(boxed(condition)?, boxed(then)?, boxed(otherwise)?)
        }
        (operators::LOGICAL_AND, [left, right]) => Node::And(boxed(left)?, boxed(right)?),
        (operators::LOGICAL_OR, [left, right]) => Node::Or(boxed(left)?, boxed(right)?),
        (operators::LOGICAL_NOT, [operand]) => Node::Not(boxed(operand)?),
        (operators::NEGATE, [operand]) => Node::Negate(boxed(operand)?),
        (operators::INDEX, [operand, index]) => Node::Index(boxed(operand)?, boxed(index)?),
        ("int", [operand]) => Node::Function(Function::Int, boxed(operand)?),
        ("double", [operand]) => Node::Function(Function::Double, boxed(operand)?),
        ("string", [operand]) => Node::Function(Function::String, boxed(operand)?),
        ("size", [operand]) => Node::Function(Function::Size, boxed(operand)?),
        (_, [left, right]) => {
            let op = match name {
                operators::EQUALS => BinaryOp::Equals,
                operators::NOT_EQUALS => BinaryOp::NotEquals,
                operators::LESS => BinaryOp::Less,
                operators::LESS_EQUALS => BinaryOp::LessEquals,
                operators::GREATER => BinaryOp::Greater,
                operators::GREATER_EQUALS => BinaryOp::GreaterEquals,
                operators::ADD => BinaryOp::Add,
                operators::SUBSTRACT => BinaryOp::Subtract,
                operators::MULTIPLY => BinaryOp::Multiply,
                operators::DIVIDE => BinaryOp::Divide,
                operators::MODULO => BinaryOp::Modulo,
                operators::IN => BinaryOp::In,
                _ => return None,
            };
            Node::Binary(op, boxed(left)?, boxed(right)?)
        }
        _ => return None,
    })
}

/// The fast path cannot answer: the interpreter decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fallback;

type Result<T> = std::result::Result<T, Fallback>;

/// A value during evaluation: JSON arrays, objects and strings stay borrowed.
#[derive(Debug, Clone)]
enum Val<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(Cow<'a, str>),
    Array(&'a [Value]),
    Object(&'a Map<String, Value>),
    List(Vec<Val<'a>>),
    Map(Vec<(&'a str, Val<'a>)>),
}

static NULL: Value = Value::Null;

/// A JSON value as CEL sees it (`convert::to_val`).
fn from_json(value: &Value) -> Val<'_> {
    match value {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Val::Int(i),
            (None, Some(u), _) => Val::UInt(u),
            (None, None, Some(f)) => Val::Double(f),
            (None, None, None) => Val::Null,
        },
        Value::String(s) => Val::Str(Cow::Borrowed(s)),
        Value::Array(items) => Val::Array(items),
        Value::Object(fields) => Val::Object(fields),
    }
}

/// A value back to JSON (`convert::from_val`).
fn to_json(value: Val<'_>) -> Result<Value> {
    Ok(match value {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(b),
        Val::Int(i) => Value::from(i),
        Val::UInt(u) => Value::from(u),
        Val::Double(f) => Value::Number(Number::from_f64(f).ok_or(Fallback)?),
        Val::Str(s) => Value::String(s.into_owned()),
        Val::Array(items) => Value::Array(items.to_vec()),
        Val::Object(fields) => Value::Object(fields.clone()),
        Val::List(items) => Value::Array(items.into_iter().map(to_json).collect::<Result<_>>()?),
        Val::Map(entries) => Value::Object(
            entries.into_iter().map(|(k, v)| Ok((k.to_owned(), to_json(v)?))).collect::<Result<_>>()?,
        ),
    })
}

impl Node {
    /// Evaluates to JSON, building map and list literals directly.
    pub(super) fn eval_json(&self, bindings: &Bindings<'_>) -> Result<Value> {
        match self {
            // The entries are sorted by key: the object is built in one pass, not by inserts.
            Node::Map(entries) => Ok(Value::Object(
                entries
                    .iter()
                    .map(|(key, node)| Ok((String::from(&**key), node.eval_json(bindings)?)))
                    .collect::<Result<_>>()?,
            )),
            Node::List(items) => {
                Ok(Value::Array(items.iter().map(|node| node.eval_json(bindings)).collect::<Result<_>>()?))
            }
            Node::Conditional(condition, then, otherwise) => {
                if truth(condition.eval(bindings)?)? {
                    then.eval_json(bindings)
                } else {
                    otherwise.eval_json(bindings)
                }
            }
            other => to_json(other.eval(bindings)?),
        }
    }

    fn eval<'a>(&'a self, bindings: &Bindings<'a>) -> Result<Val<'a>> {
        match self {
            Node::Literal(literal) => Ok(match literal {
                Literal::Null => Val::Null,
                Literal::Bool(b) => Val::Bool(*b),
                Literal::Int(i) => Val::Int(*i),
                Literal::UInt(u) => Val::UInt(*u),
                Literal::Double(f) => Val::Double(*f),
                Literal::String(s) => Val::Str(Cow::Borrowed(s)),
            }),
            Node::Binding(binding) => binding.resolve(bindings),
            Node::Select(operand, field) => select(operand.eval(bindings)?, field),
            Node::Has(operand, field) => match operand.eval(bindings)? {
                Val::Object(fields) => Ok(Val::Bool(fields.contains_key(&**field))),
                Val::Map(entries) => Ok(Val::Bool(entries.iter().any(|(k, _)| *k == &**field))),
                _ => Err(Fallback),
            },
            Node::Index(operand, index) => {
                let operand = operand.eval(bindings)?;
                match (operand, index.eval(bindings)?) {
                    (operand @ (Val::Object(_) | Val::Map(_)), Val::Str(key)) => select(operand, &key),
                    (Val::Array(items), Val::Int(i)) => {
                        usize::try_from(i).ok().and_then(|i| items.get(i)).map(from_json).ok_or(Fallback)
                    }
                    (Val::List(mut items), Val::Int(i)) => match usize::try_from(i) {
                        Ok(i) if i < items.len() => Ok(items.swap_remove(i)),
                        _ => Err(Fallback),
                    },
                    _ => Err(Fallback),
                }
            }
            Node::Not(operand) => match operand.eval(bindings)? {
                Val::Bool(b) => Ok(Val::Bool(!b)),
                _ => Err(Fallback),
            },
            Node::Negate(operand) => match operand.eval(bindings)? {
                Val::Int(i) => i.checked_neg().map(Val::Int).ok_or(Fallback),
                Val::Double(f) => Ok(Val::Double(-f)),
                _ => Err(Fallback),
            },
            Node::And(left, right) => {
                // CEL's `&&`: false absorbs an error or a non-bool on the other side.
                let left = left.eval(bindings).and_then(truth);
                if left == Ok(false) {
                    return Ok(Val::Bool(false));
                }
                match (left, right.eval(bindings)?) {
                    (Ok(true), Val::Bool(right)) => Ok(Val::Bool(right)),
                    (Err(_), Val::Bool(false)) => Ok(Val::Bool(false)),
                    _ => Err(Fallback),
                }
            }
            Node::Or(left, right) => {
                let left = left.eval(bindings).and_then(truth);
                if left == Ok(true) {
                    return Ok(Val::Bool(true));
                }
                match (left, right.eval(bindings)?) {
                    (Ok(false), Val::Bool(right)) => Ok(Val::Bool(right)),
                    (Err(_), Val::Bool(true)) => Ok(Val::Bool(true)),
                    _ => Err(Fallback),
                }
            }
            Node::Conditional(condition, then, otherwise) => {
                if truth(condition.eval(bindings)?)? {
                    then.eval(bindings)
                } else {
                    otherwise.eval(bindings)
                }
            }
            Node::Binary(op, left, right) => binary(*op, left.eval(bindings)?, right.eval(bindings)?),
            Node::Function(function, operand) => call(*function, operand.eval(bindings)?),
            Node::List(items) => {
                Ok(Val::List(items.iter().map(|node| node.eval(bindings)).collect::<Result<_>>()?))
            }
            Node::Map(entries) => Ok(Val::Map(
                entries
                    .iter()
                    .map(|(key, node)| Ok((&**key, node.eval(bindings)?)))
                    .collect::<Result<_>>()?,
            )),
        }
    }
}

impl Binding {
    fn resolve<'a>(&'a self, bindings: &Bindings<'a>) -> Result<Val<'a>> {
        let bound = match self {
            Binding::Value => Some(bindings.value),
            Binding::Key => Some(bindings.key.unwrap_or(&NULL)),
            Binding::Timestamp => return Ok(Val::Int(bindings.timestamp)),
            Binding::State => bindings.state,
            Binding::Window => bindings.window,
            Binding::Entries => bindings.entries,
            Binding::Other => bindings.other,
            // A name bound twice is the later binding, as in the interpreter's context.
            Binding::Named(name) => {
                bindings.named.iter().rev().find(|(bound, _)| *bound == &**name).map(|(_, value)| *value)
            }
        };
        bound.map(from_json).ok_or(Fallback)
    }
}

/// A condition's truth: only a bool has one.
fn truth(value: Val<'_>) -> Result<bool> {
    match value {
        Val::Bool(b) => Ok(b),
        _ => Err(Fallback),
    }
}

/// `operand.field` on a map; anything else, or a missing field, is the interpreter's to report.
fn select<'a>(operand: Val<'a>, field: &str) -> Result<Val<'a>> {
    match operand {
        Val::Object(fields) => fields.get(field).map(from_json).ok_or(Fallback),
        Val::Map(entries) => entries.into_iter().find(|(k, _)| *k == field).map(|(_, v)| v).ok_or(Fallback),
        _ => Err(Fallback),
    }
}

fn binary<'a>(op: BinaryOp, left: Val<'a>, right: Val<'a>) -> Result<Val<'a>> {
    let ordered = |test: fn(Ordering) -> bool| compare(&left, &right).map(|order| Val::Bool(test(order)));
    match op {
        BinaryOp::Equals => Ok(Val::Bool(equals(&left, &right))),
        BinaryOp::NotEquals => Ok(Val::Bool(!equals(&left, &right))),
        BinaryOp::Less => ordered(Ordering::is_lt),
        BinaryOp::LessEquals => ordered(Ordering::is_le),
        BinaryOp::Greater => ordered(Ordering::is_gt),
        BinaryOp::GreaterEquals => ordered(Ordering::is_ge),
        BinaryOp::Add => match (left, right) {
            (Val::Int(a), Val::Int(b)) => a.checked_add(b).map(Val::Int).ok_or(Fallback),
            (Val::UInt(a), Val::UInt(b)) => a.checked_add(b).map(Val::UInt).ok_or(Fallback),
            (Val::Double(a), Val::Double(b)) => Ok(Val::Double(a + b)),
            (Val::Str(a), Val::Str(b)) => {
                let mut joined = String::with_capacity(a.len() + b.len());
                joined.push_str(&a);
                joined.push_str(&b);
                Ok(Val::Str(Cow::Owned(joined)))
            }
            (left @ (Val::Array(_) | Val::List(_)), right @ (Val::Array(_) | Val::List(_))) => {
                let mut joined = into_items(left);
                joined.extend(into_items(right));
                Ok(Val::List(joined))
            }
            _ => Err(Fallback),
        },
        BinaryOp::Subtract => match (left, right) {
            (Val::Int(a), Val::Int(b)) => a.checked_sub(b).map(Val::Int).ok_or(Fallback),
            (Val::UInt(a), Val::UInt(b)) => a.checked_sub(b).map(Val::UInt).ok_or(Fallback),
            (Val::Double(a), Val::Double(b)) => Ok(Val::Double(a - b)),
            _ => Err(Fallback),
        },
        BinaryOp::Multiply => match (left, right) {
            (Val::Int(a), Val::Int(b)) => a.checked_mul(b).map(Val::Int).ok_or(Fallback),
            (Val::UInt(a), Val::UInt(b)) => a.checked_mul(b).map(Val::UInt).ok_or(Fallback),
            (Val::Double(a), Val::Double(b)) => Ok(Val::Double(a * b)),
            _ => Err(Fallback),
        },
        // `checked_div` and `checked_rem` fail on a zero divisor too.
        BinaryOp::Divide => match (left, right) {
            (Val::Int(a), Val::Int(b)) => a.checked_div(b).map(Val::Int).ok_or(Fallback),
            (Val::UInt(a), Val::UInt(b)) => a.checked_div(b).map(Val::UInt).ok_or(Fallback),
            (Val::Double(a), Val::Double(b)) => Ok(Val::Double(a / b)),
            _ => Err(Fallback),
        },
        BinaryOp::Modulo => match (left, right) {
            (Val::Int(a), Val::Int(b)) => a.checked_rem(b).map(Val::Int).ok_or(Fallback),
            (Val::UInt(a), Val::UInt(b)) => a.checked_rem(b).map(Val::UInt).ok_or(Fallback),
            _ => Err(Fallback),
        },
        BinaryOp::In => match (&left, right) {
            (_, Val::Array(items)) => Ok(Val::Bool(items.iter().any(|item| equals(&left, &from_json(item))))),
            (_, Val::List(items)) => Ok(Val::Bool(items.iter().any(|item| equals(&left, item)))),
            (Val::Str(key), Val::Object(fields)) => Ok(Val::Bool(fields.contains_key(&**key))),
            (Val::Str(key), Val::Map(entries)) => {
                Ok(Val::Bool(entries.iter().any(|(k, _)| *k == key.as_ref())))
            }
            _ => Err(Fallback),
        },
    }
}

/// CEL's `==`: numbers compare across `int`, `uint` and `double` (a NaN equals nothing),
/// lists element-wise, maps by their keys; values of different kinds are not equal.
fn equals(left: &Val<'_>, right: &Val<'_>) -> bool {
    match (left, right) {
        (Val::Null, Val::Null) => true,
        (Val::Bool(a), Val::Bool(b)) => a == b,
        (Val::Str(a), Val::Str(b)) => a == b,
        (Val::Int(_) | Val::UInt(_) | Val::Double(_), _) => compare(left, right) == Ok(Ordering::Equal),
        (Val::Array(_) | Val::List(_), Val::Array(_) | Val::List(_)) => {
            let (Some(a), Some(b)) = (items(left), items(right)) else { return false };
            a.len() == b.len() && a.iter().zip(&b).all(|(a, b)| equals(a, b))
        }
        (Val::Object(_) | Val::Map(_), Val::Object(_) | Val::Map(_)) => {
            map_len(left) == map_len(right)
                && map_entries(left)
                    .all(|(key, value)| map_get(right, key).is_some_and(|other| equals(&value, &other)))
        }
        _ => false,
    }
}

/// The elements of a list.
fn items<'v, 'a>(list: &'v Val<'a>) -> Option<Vec<Cow<'v, Val<'a>>>> {
    match list {
        Val::Array(items) => Some(items.iter().map(|item| Cow::Owned(from_json(item))).collect()),
        Val::List(items) => Some(items.iter().map(Cow::Borrowed).collect()),
        _ => None,
    }
}

/// The elements of a list, owned.
fn into_items(list: Val<'_>) -> Vec<Val<'_>> {
    match list {
        Val::Array(items) => items.iter().map(from_json).collect(),
        Val::List(items) => items,
        _ => Vec::new(),
    }
}

fn map_len(map: &Val<'_>) -> usize {
    match map {
        Val::Object(fields) => fields.len(),
        Val::Map(entries) => entries.len(),
        _ => 0,
    }
}

fn map_entries<'v, 'a>(map: &'v Val<'a>) -> Box<dyn Iterator<Item = (&'v str, Cow<'v, Val<'a>>)> + 'v> {
    match map {
        Val::Object(fields) => Box::new(fields.iter().map(|(k, v)| (k.as_str(), Cow::Owned(from_json(v))))),
        Val::Map(entries) => Box::new(entries.iter().map(|(k, v)| (*k, Cow::Borrowed(v)))),
        _ => Box::new(std::iter::empty()),
    }
}

fn map_get<'v, 'a>(map: &'v Val<'a>, key: &str) -> Option<Cow<'v, Val<'a>>> {
    match map {
        Val::Object(fields) => fields.get(key).map(|v| Cow::Owned(from_json(v))),
        Val::Map(entries) => entries.iter().find(|(k, _)| *k == key).map(|(_, v)| Cow::Borrowed(v)),
        _ => None,
    }
}

/// CEL's ordering: numbers across types (integers against a double as `f64`), strings by
/// bytes; anything else, or a NaN, is the interpreter's to report.
fn compare(left: &Val<'_>, right: &Val<'_>) -> Result<Ordering> {
    match (left, right) {
        (Val::Int(a), Val::Int(b)) => Ok(a.cmp(b)),
        (Val::UInt(a), Val::UInt(b)) => Ok(a.cmp(b)),
        (Val::Int(a), Val::UInt(b)) => Ok(u64::try_from(*a).map_or(Ordering::Less, |a| a.cmp(b))),
        (Val::UInt(a), Val::Int(b)) => Ok(i64::try_from(*a).map_or(Ordering::Greater, |a| a.cmp(b))),
        (Val::Double(a), Val::Double(b)) => a.partial_cmp(b).ok_or(Fallback),
        #[allow(clippy::cast_precision_loss)] // as the interpreter does
        (Val::Int(a), Val::Double(b)) => (*a as f64).partial_cmp(b).ok_or(Fallback),
        #[allow(clippy::cast_precision_loss)]
        (Val::UInt(a), Val::Double(b)) => (*a as f64).partial_cmp(b).ok_or(Fallback),
        #[allow(clippy::cast_precision_loss)]
        (Val::Double(a), Val::Int(b)) => a.partial_cmp(&(*b as f64)).ok_or(Fallback),
        #[allow(clippy::cast_precision_loss)]
        (Val::Double(a), Val::UInt(b)) => a.partial_cmp(&(*b as f64)).ok_or(Fallback),
        (Val::Str(a), Val::Str(b)) => Ok(a.cmp(b)),
        _ => Err(Fallback),
    }
}

#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
fn call<'a>(function: Function, operand: Val<'a>) -> Result<Val<'a>> {
    match (function, operand) {
        (Function::Int, Val::Int(i)) => Ok(Val::Int(i)),
        (Function::Int, Val::UInt(u)) => i64::try_from(u).map(Val::Int).map_err(|_| Fallback),
        // The open range (i64::MIN, i64::MAX) as doubles, as the interpreter checks it.
        (Function::Int, Val::Double(f)) if f > i64::MIN as f64 && f < i64::MAX as f64 => {
            Ok(Val::Int(f as i64))
        }
        (Function::Int, Val::Str(s)) => s.parse::<i64>().map(Val::Int).map_err(|_| Fallback),
        (Function::Double, Val::Double(f)) => Ok(Val::Double(f)),
        (Function::Double, Val::Int(i)) => Ok(Val::Double(i as f64)),
        (Function::Double, Val::UInt(u)) => Ok(Val::Double(u as f64)),
        (Function::Double, Val::Str(s)) => s.parse::<f64>().map(Val::Double).map_err(|_| Fallback),
        (Function::String, s @ Val::Str(_)) => Ok(s),
        (Function::String, Val::Int(i)) => Ok(Val::Str(Cow::Owned(i.to_string()))),
        (Function::String, Val::UInt(u)) => Ok(Val::Str(Cow::Owned(u.to_string()))),
        (Function::String, Val::Bool(b)) => Ok(Val::Str(Cow::Borrowed(if b { "true" } else { "false" }))),
        (Function::Size, Val::Str(s)) => Ok(Val::Int(s.chars().count() as i64)),
        (Function::Size, Val::Array(items)) => Ok(Val::Int(items.len() as i64)),
        (Function::Size, Val::List(items)) => Ok(Val::Int(items.len() as i64)),
        (Function::Size, Val::Object(fields)) => Ok(Val::Int(fields.len() as i64)),
        (Function::Size, Val::Map(entries)) => Ok(Val::Int(entries.len() as i64)),
        _ => Err(Fallback),
    }
}

#[cfg(test)]
mod tests;
