//! The YAML front end: text → a tree of nodes with places ([`node`]) → the serde model
//! ([`de`]), recovering from errors so that one run reports every problem ([`recover`]).
//!
//! Why not a YAML serde crate: those stop at the first error and forget where values came
//! from, while a dataflow file needs every problem reported with its line, including those
//! found after deserialization (an undeclared topic, a CEL syntax error). Parsing is
//! `saphyr-parser`'s (YAML 1.2); the tree, the deserializer and the recovery are here.

pub(crate) mod de;
pub(crate) mod node;
pub(crate) mod path;
pub(crate) mod recover;

pub(crate) use node::{Node, Pos};
pub(crate) use path::Path;
