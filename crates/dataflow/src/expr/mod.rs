//! CEL expressions: the inline operator logic of a dataflow (`cel: value.temp > 30.0`).
//!
//! [`Expr::compile`] parses once; [`Expr::eval`] runs the program against a record's
//! [`Bindings`] (`value`, `key`, `timestamp` and, in `update-state`, `state`; a join's
//! `emit` binds its sides' values by the names the file gives them) and returns a JSON value. Values cross the boundary as JSON: objects become CEL maps, integers that fit
//! `i64` become `int` (so `state + 1` works on a counter), larger ones `uint`, other numbers
//! `double`; the way back is the reverse (see `convert.rs`). An expression that fails at run
//! time, say `value.temp > 30.0` on a record whose `temp` is a string, is an [`EvalError`],
//! never a panic: the engine sends that record to the dead-letter topic.
//!
//! Most expressions (field reads, comparisons, arithmetic, map literals: see `fast.rs` for
//! the subset) are also compiled to a tree that runs directly on the borrowed JSON, reading
//! only the fields it names; [`Expr::is_compiled`] says which. The CEL interpreter runs the
//! rest, and re-runs a compiled expression that fails, so results and error messages are
//! the interpreter's either way.
//!
//! ```
//! use eddy_dataflow::expr::{Bindings, Expr};
//! use serde_json::json;
//!
//! let hot = Expr::compile("value.temp > 30.0").unwrap();
//! assert_eq!(hot.eval(&Bindings::new(&json!({"temp": 31.5}))).unwrap(), json!(true));
//! ```
//!
//! A compiled expression can also be evaluated straight into the JSON bytes of its result,
//! checked against a [`TypeDef`] as they are written ([`Expr::encode_json`]): a sink then
//! writes a map literal's entries without building the map.
//!
//! Not here: type checking of expressions against topic schemas (CEL in this crate is
//! dynamically typed; only results are checked).

mod convert;
mod fast;
mod scope;

use std::fmt;
use std::sync::{Arc, OnceLock};

use cel::common::types::CelInt;
use cel::{Context, Env, Program, Value as CelValue};
use serde_json::Value;

use crate::model::TypeDef;
use eddy_types::Projection;

pub use scope::FreeVariable;

/// The name `value` is bound to: the record's value.
pub const VALUE: &str = "value";
/// The name `key` is bound to: the record's key, or `null`.
pub const KEY: &str = "key";
/// The name `timestamp` is bound to: the record's event time, ms since the Unix epoch.
pub const TIMESTAMP: &str = "timestamp";
/// The name `state` is bound to in `update-state`: the key's current state.
pub const STATE: &str = "state";
/// The name a window's bounds are bound to in `flush`: `{start, end}`, ms.
pub const WINDOW: &str = "window";
/// The name bound in a per-window `flush`: the list of `{key, state}` of every key.
pub const ENTRIES: &str = "entries";
/// The name of the later session's state in a session window's `merge`.
pub const OTHER: &str = "other";

/// The longest expression accepted, in bytes.
pub const MAX_LEN: usize = 16 * 1024;

/// The deepest expression tree accepted (`a + b + c` is 3 deep, parentheses add nothing).
pub const MAX_DEPTH: usize = 32;

/// The stack of the thread that parses an expression, in bytes (reserved, touched only as
/// deep as the parser goes).
pub const COMPILE_STACK: usize = 64 << 20;

/// A compiled CEL expression. Cheap to clone and shareable between threads.
#[derive(Clone)]
pub struct Expr {
    source: Arc<str>,
    program: Arc<Program>,
    /// Which bindings the expression reads: only those are converted for each record.
    reads: Reads,
    /// The other free variables it reads, which only [`Bindings::named`] can bind.
    names: Arc<[String]>,
    /// The compiled form when the whole expression is in the fast path's subset.
    fast: Option<Arc<fast::Node>>,
}

/// The bindings an expression reads.
#[derive(Debug, Clone, Copy, Default)]
struct Reads {
    value: bool,
    key: bool,
    timestamp: bool,
    state: bool,
    window: bool,
    entries: bool,
    other: bool,
}

/// Why an expression does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syntax error at {line}:{column} of the expression: {message}")]
#[non_exhaustive]
pub struct CompileError {
    /// 1-based line inside the expression.
    pub line: usize,
    /// 1-based column inside the expression.
    pub column: usize,
    /// The parser's explanation (the first error when there are several).
    pub message: String,
}

/// Why evaluating an expression failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The expression failed: a type mismatch, a missing field, a division by zero...
    #[error("expression `{expression}` failed: {reason}")]
    Failed {
        /// The expression's source.
        expression: String,
        /// What CEL reported.
        reason: String,
    },
    /// The result has no JSON form (a NaN, a function, a type).
    #[error("expression `{expression}` returned a value that is not JSON: {reason}")]
    NotJson {
        /// The expression's source.
        expression: String,
        /// What could not be converted.
        reason: String,
    },
}

/// What [`Expr::encode_json`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoded {
    /// The result's JSON: the bytes `serde_json::to_vec` gives for [`Expr::eval`]'s value.
    Value,
    /// Nothing: the result is `null` (what a `filter-map` drops).
    Null,
}

/// [`Expr::encode_json`] left the result to [`Expr::eval`]: the evaluation failed or fell
/// back to the interpreter, the result does not match the type, or it takes a shape the
/// direct encoding does not handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the result was not encoded directly; evaluate the expression instead")]
#[non_exhaustive]
pub struct NotEncoded;

/// The variables an expression sees, borrowed from the record being processed.
#[derive(Debug, Clone, Copy)]
pub struct Bindings<'a> {
    /// The record's value (`value`).
    pub value: &'a Value,
    /// The record's key (`key`); unbound keys read as `null`.
    pub key: Option<&'a Value>,
    /// The record's event time in ms since the Unix epoch (`timestamp`).
    pub timestamp: i64,
    /// The key's current state (`state`), in `update-state` and `flush`.
    pub state: Option<&'a Value>,
    /// The window (`window`), in `flush`.
    pub window: Option<&'a Value>,
    /// Every key's state in the window (`entries`), in a per-window `flush`.
    pub entries: Option<&'a Value>,
    /// The later session's state (`other`), in `merge`.
    pub other: Option<&'a Value>,
    /// Values bound by names of the file's choosing: a join's sides, in `emit`.
    pub named: &'a [(&'a str, &'a Value)],
}

impl<'a> Bindings<'a> {
    /// Bindings with only `value` set: no key, timestamp 0, no state.
    pub fn new(value: &'a Value) -> Self {
        Bindings {
            value,
            key: None,
            timestamp: 0,
            state: None,
            window: None,
            entries: None,
            other: None,
            named: &[],
        }
    }

    /// Sets `key`.
    pub fn with_key(mut self, key: &'a Value) -> Self {
        self.key = Some(key);
        self
    }

    /// Sets `timestamp`.
    pub fn with_timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// Sets `state`.
    pub fn with_state(mut self, state: &'a Value) -> Self {
        self.state = Some(state);
        self
    }

    /// Sets `window`.
    pub fn with_window(mut self, window: &'a Value) -> Self {
        self.window = Some(window);
        self
    }

    /// Sets `other`.
    pub fn with_other(mut self, other: &'a Value) -> Self {
        self.other = Some(other);
        self
    }

    /// Sets `entries`.
    pub fn with_entries(mut self, entries: &'a Value) -> Self {
        self.entries = Some(entries);
        self
    }

    /// Binds each `(name, value)` of `named`; names the expression does not read cost nothing.
    pub fn with_named(mut self, named: &'a [(&'a str, &'a Value)]) -> Self {
        self.named = named;
        self
    }
}

/// The standard CEL environment, built once per process.
fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(Env::stdlib()))
}

impl Expr {
    /// Parses `source`.
    ///
    /// The parser recurses deeply (each nesting level of `(`, `[` or a call costs tens of
    /// kilobytes of stack in debug builds), so it runs on a short-lived thread with a
    /// [`COMPILE_STACK`]-byte stack, and expressions are limited to [`MAX_LEN`] bytes and
    /// [`MAX_DEPTH`] levels: evaluating an accepted expression fits in a 2 MiB thread stack.
    ///
    /// # Errors
    /// [`CompileError`] with the place of the first syntax error inside `source`, or saying
    /// which limit the expression breaks.
    pub fn compile(source: &str) -> Result<Expr, CompileError> {
        if source.len() > MAX_LEN {
            return Err(CompileError::whole(format!(
                "the expression is {} bytes long; the limit is {MAX_LEN}",
                source.len()
            )));
        }
        let owned = source.to_owned();
        let compiler = std::thread::Builder::new()
            .name("eddy-cel-compile".to_owned())
            .stack_size(COMPILE_STACK)
            .spawn(move || compile_here(&owned))
            .map_err(|error| CompileError::whole(format!("cannot start the expression compiler: {error}")))?;
        compiler.join().unwrap_or_else(|_| {
            Err(CompileError::whole("the CEL parser failed on this expression".to_owned()))
        })
    }

    /// The source the expression was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The variables the expression reads that it does not bind itself (comprehension
    /// variables such as `x` in `value.items.all(x, x > 0)` are bound), with their places.
    pub fn free_variables(&self) -> Vec<FreeVariable> {
        scope::free_variables(&self.program, &self.source)
    }

    /// Whether [`Expr::eval`] runs the compiled fast path: the whole expression is in the
    /// subset that evaluates directly on the JSON bindings (literals, the bindings, field
    /// selection and indexing, `has`, comparisons, `&&` `||` `!`, `? :`, arithmetic, map and
    /// list literals, `in`, `int()` `double()` `string()` `size()`). Other expressions run in
    /// the CEL interpreter. Both give the same results; the fast path is quicker because it
    /// converts none of the bindings.
    pub fn is_compiled(&self) -> bool {
        self.fast.is_some()
    }

    /// Adds to `read` the parts of the `value` binding the expression reads (see
    /// [`Projection`]): the fields it selects when it is [compiled](Expr::is_compiled), all
    /// of `value` when it is not and names it at all.
    pub fn value_reads(&self, read: &mut Projection) {
        match &self.fast {
            _ if !self.reads.value => {}
            Some(fast) => fast::value_reads(fast, read),
            None => read.add_path(&[]),
        }
    }

    /// The same expression, always evaluated by the CEL interpreter: the reference the fast
    /// path is checked and measured against.
    pub fn interpreted(&self) -> Expr {
        Expr { fast: None, ..self.clone() }
    }

    /// Evaluates the expression against `bindings`.
    ///
    /// # Errors
    /// [`EvalError::Failed`] when CEL reports an error (wrong types, missing fields, an
    /// unbound `state`...), [`EvalError::NotJson`] when the result cannot be written as JSON.
    pub fn eval(&self, bindings: &Bindings<'_>) -> Result<Value, EvalError> {
        if let Some(fast) = &self.fast {
            // On any failure the interpreter runs, so errors read as they always did.
            if let Ok(result) = fast.eval_json(bindings) {
                return Ok(result);
            }
        }
        self.interpret(bindings)
    }

    /// Evaluates the expression straight into JSON bytes, appended to `out`, checking the
    /// result against `value_type` as they are written: a map literal is written entry by
    /// entry, and what the expression selects from the bindings (`value.bid.extra`) is
    /// serialised from the borrowed JSON, not cloned.
    ///
    /// On success `out` ends with exactly the bytes `serde_json::to_vec` gives for
    /// [`Expr::eval`]'s value, and that value passes [`TypeDef::check`]; a `null` result is
    /// [`Encoded::Null`], with nothing written and nothing checked.
    ///
    /// # Errors
    /// [`NotEncoded`], with `out` as it was, whenever the answer is not that simple: the
    /// expression is not [compiled](Expr::is_compiled), its fast-path evaluation fails, the
    /// result does not match `value_type`, or it is of a shape the direct encoding leaves
    /// alone. [`Expr::eval`] and [`TypeDef::check`] then give the result or the reason.
    pub fn encode_json(
        &self,
        bindings: &Bindings<'_>,
        value_type: &TypeDef,
        out: &mut Vec<u8>,
    ) -> Result<Encoded, NotEncoded> {
        let Some(fast) = &self.fast else { return Err(NotEncoded) };
        let start = out.len();
        match fast.encode_json(bindings, value_type, out) {
            Ok(fast::Written::Value) => Ok(Encoded::Value),
            Ok(fast::Written::Null) => Ok(Encoded::Null),
            Err(fast::Fallback) => {
                out.truncate(start);
                Err(NotEncoded)
            }
        }
    }

    /// Evaluates the expression in the CEL interpreter.
    fn interpret(&self, bindings: &Bindings<'_>) -> Result<Value, EvalError> {
        let mut context = Context::with_env(Arc::clone(env()));
        if self.reads.value {
            context.add_variable_as_val(VALUE, convert::to_val(bindings.value));
        }
        if self.reads.key {
            context.add_variable_as_val(KEY, convert::to_val(bindings.key.unwrap_or(&Value::Null)));
        }
        if self.reads.timestamp {
            context.add_variable_as_val(TIMESTAMP, Box::new(CelInt::from(bindings.timestamp)));
        }
        if let (true, Some(state)) = (self.reads.state, bindings.state) {
            context.add_variable_as_val(STATE, convert::to_val(state));
        }
        if let (true, Some(window)) = (self.reads.window, bindings.window) {
            context.add_variable_as_val(WINDOW, convert::to_val(window));
        }
        if let (true, Some(entries)) = (self.reads.entries, bindings.entries) {
            context.add_variable_as_val(ENTRIES, convert::to_val(entries));
        }
        if let (true, Some(other)) = (self.reads.other, bindings.other) {
            context.add_variable_as_val(OTHER, convert::to_val(other));
        }
        for (name, value) in bindings.named {
            if self.names.iter().any(|read| read == name) {
                context.add_variable_as_val(*name, convert::to_val(value));
            }
        }
        let result =
            CelValue::resolve_val(self.program.expression(), &context).map_err(|error| self.failed(error))?;
        convert::from_val(&*result)
            .map_err(|reason| EvalError::NotJson { expression: self.source.to_string(), reason })
    }

    fn failed(&self, error: impl fmt::Display) -> EvalError {
        EvalError::Failed { expression: self.source.to_string(), reason: error.to_string() }
    }
}

/// Compiles on the current thread, which must have a large stack (see [`Expr::compile`]).
fn compile_here(source: &str) -> Result<Expr, CompileError> {
    let program = Program::compile(source).map_err(|errors| {
        let first = errors.errors.first();
        let (line, column) = first.map_or((1, 1), |error| error.pos);
        CompileError {
            line: usize::try_from(line).unwrap_or(1).max(1),
            column: usize::try_from(column).unwrap_or(1).max(1),
            message: first.map_or_else(
                || "invalid expression".to_owned(),
                |error| error.msg.strip_prefix("Syntax error: ").unwrap_or(&error.msg).to_owned(),
            ),
        }
    })?;
    let depth = scope::depth(program.expression());
    if depth > MAX_DEPTH {
        // The program is dropped here, on the large stack, too.
        return Err(CompileError::whole(format!(
            "the expression nests {depth} levels deep; the limit is {MAX_DEPTH}: split it into several steps"
        )));
    }
    let mut reads = Reads::default();
    let mut names = Vec::new();
    for variable in scope::free_variables(&program, source) {
        match variable.name.as_str() {
            VALUE => reads.value = true,
            KEY => reads.key = true,
            TIMESTAMP => reads.timestamp = true,
            STATE => reads.state = true,
            WINDOW => reads.window = true,
            ENTRIES => reads.entries = true,
            OTHER => reads.other = true,
            _ => names.push(variable.name),
        }
    }
    let fast = fast::compile(program.expression()).map(Arc::new);
    Ok(Expr { source: Arc::from(source), program: Arc::new(program), reads, names: names.into(), fast })
}

impl CompileError {
    /// An error about the expression as a whole.
    fn whole(message: String) -> Self {
        CompileError { line: 1, column: 1, message }
    }
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Expr").field(&self.source).finish()
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Two expressions are equal when their sources are.
impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for Expr {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval(source: &str, value: &Value) -> Result<Value, EvalError> {
        Expr::compile(source).unwrap().eval(&Bindings::new(value))
    }

    #[test]
    fn a_comparison_on_a_field_is_a_boolean() {
        assert_eq!(eval("value.temp > 30.0", &json!({"temp": 31.5})).unwrap(), json!(true));
        assert_eq!(eval("value.temp > 30.0", &json!({"temp": 12})).unwrap(), json!(false));
    }

    #[test]
    fn a_map_literal_is_a_json_object() {
        let result = eval(
            "{'sensor': value.sensor, 'hot': value.temp > 30.0, 'tags': [1, 2.5, 'x', null]}",
            &json!({"sensor": "s1", "temp": 31.5}),
        );
        assert_eq!(result.unwrap(), json!({"sensor": "s1", "hot": true, "tags": [1, 2.5, "x", null]}));
    }

    #[test]
    fn every_binding_is_visible() {
        let expr = Expr::compile("[key, timestamp, state + 1, value]").unwrap();
        let (value, key, state) = (json!("v"), json!("k"), json!(7));
        let bindings = Bindings::new(&value).with_key(&key).with_timestamp(42).with_state(&state);
        assert_eq!(expr.eval(&bindings).unwrap(), json!(["k", 42, 8, "v"]));
        assert_eq!(eval("key == null", &json!(1)).unwrap(), json!(true));
        assert_eq!(eval("value", &json!(u64::MAX)).unwrap(), json!(u64::MAX));
    }

    #[test]
    fn named_bindings_are_visible_by_their_names() {
        let expr = Expr::compile("{'who': person.name, 'item': auction.id, 'key': key}").unwrap();
        let (person, auction, unused, key) = (json!({"name": "ann"}), json!({"id": 7}), json!(0), json!("k"));
        let named = [("person", &person), ("auction", &auction), ("bid", &unused)];
        let bindings = Bindings::new(&Value::Null).with_key(&key).with_named(&named);
        assert_eq!(expr.eval(&bindings).unwrap(), json!({"who": "ann", "item": 7, "key": "k"}));
        let unbound = expr.eval(&Bindings::new(&Value::Null).with_named(&named[..1]));
        assert!(matches!(unbound, Err(EvalError::Failed { .. })), "{unbound:?}");
    }

    #[test]
    fn run_time_errors_are_errors_not_panics() {
        for (source, value) in [
            ("value.temp > 30.0", json!({"temp": "hot"})),
            ("value.missing", json!({})),
            ("1 / 0", json!(null)),
            ("9223372036854775807 + 1", json!(null)),
            ("value[5]", json!([1])),
            ("state + 1", json!(null)),
            ("'a' + 1", json!(null)),
        ] {
            assert!(matches!(eval(source, &value), Err(EvalError::Failed { .. })), "{source}");
        }
        assert!(matches!(eval("0.0 / 0.0", &json!(null)), Err(EvalError::NotJson { .. })));
        let error = eval("value.temp > 30.0", &json!({"temp": "hot"})).unwrap_err();
        assert!(error.to_string().starts_with("expression `value.temp > 30.0` failed: "), "{error}");
    }

    #[test]
    fn syntax_errors_have_a_place_in_the_expression() {
        let error = Expr::compile("value.temp >").unwrap_err();
        assert_eq!((error.line, error.column), (1, 13));
        assert!(error.message.starts_with("mismatched input '<EOF>'"), "{}", error.message);
        let error = Expr::compile("value.a &&\n  * 2").unwrap_err();
        assert_eq!(error.line, 2);
    }

    #[test]
    fn deep_or_long_expressions_are_refused_not_a_stack_overflow() {
        // Parentheses recurse in the parser but leave no depth in the tree.
        assert!(Expr::compile(&format!("{}1{}", "(".repeat(90), ")".repeat(90))).is_ok());
        for source in [
            format!("{}1{}", "(".repeat(200), ")".repeat(200)),
            format!("{}1{}", "[".repeat(90), "]".repeat(90)),
            format!("{}1{}", "size(".repeat(200), ")".repeat(200)),
            "(".repeat(500),
            vec!["1"; 2000].join(" + "),
            "x".repeat(MAX_LEN + 1),
        ] {
            assert!(Expr::compile(&source).is_err(), "{}", &source[..20]);
        }
        let error = Expr::compile(&vec!["1"; 40].join(" + ")).unwrap_err();
        assert!(error.message.contains("the limit is 32"), "{error}");
        // Long but shallow is fine: the parser balances `&&` chains.
        let shallow = Expr::compile(&vec!["value"; 500].join(" && ")).unwrap();
        assert_eq!(shallow.eval(&Bindings::new(&json!(true))).unwrap(), json!(true));
        // At the limit, evaluation fits in a small thread stack.
        let deep = Expr::compile(&vec!["value"; MAX_DEPTH].join(" + ")).unwrap();
        let result = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || deep.eval(&Bindings::new(&json!(1))))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(result.unwrap(), json!(MAX_DEPTH));
    }

    #[test]
    fn expressions_compare_by_source() {
        assert_eq!(Expr::compile("a + 1").unwrap(), Expr::compile("a + 1").unwrap());
        assert_eq!(Expr::compile("a + 1").unwrap().to_string(), "a + 1");
    }
}
