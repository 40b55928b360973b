//! The operator kinds a component can implement, the WIT signature of each, and what a call
//! returns ([`Output`]). One table ([`OperatorKind`]'s methods) says, per kind, which export
//! to look for and which Rust types wasmtime binds it to.

use std::fmt;
use std::sync::Arc;

use wasmtime::component::{ComponentNamedList, Lift, Lower, types::ComponentFunc};

use crate::abi::{BatchOutput, FlatMapOutput, Record, RecordBatch, Span, Window};
use crate::batch::{Unpack, bytes_of};
use crate::error::{Error, Result};

/// A dataflow operator a component implements: one export per kind, named as in the
/// dataflow file (`filter`, `map`, ...), plus `<name>-batch` for the batch form (whose
/// types are in the `batch` interface: `map-batch: func(input: record-batch) -> map-output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperatorKind {
    /// `filter: func(input: record) -> result<bool, string>`.
    Filter,
    /// `map: func(input: record) -> result<list<u8>, string>`.
    Map,
    /// `filter-map: func(input: record) -> result<option<list<u8>>, string>`.
    FilterMap,
    /// `flat-map: func(input: record) -> result<list<list<u8>>, string>`.
    FlatMap,
    /// `assign-key: func(input: record) -> result<list<u8>, string>`.
    AssignKey,
    /// `assign-timestamp: func(input: record) -> result<s64, string>`.
    AssignTimestamp,
    /// `update-state: func(input: record) -> result<_, string>`.
    UpdateState,
    /// `flush: func(window: window) -> result<list<list<u8>>, string>`; no batch form.
    Flush,
}

impl OperatorKind {
    /// Every kind.
    pub const ALL: [OperatorKind; 8] = [
        OperatorKind::Filter,
        OperatorKind::Map,
        OperatorKind::FilterMap,
        OperatorKind::FlatMap,
        OperatorKind::AssignKey,
        OperatorKind::AssignTimestamp,
        OperatorKind::UpdateState,
        OperatorKind::Flush,
    ];

    /// The kind's name in the dataflow file, which is also its default export name and the
    /// name of its WIT world.
    pub fn name(self) -> &'static str {
        match self {
            OperatorKind::Filter => "filter",
            OperatorKind::Map => "map",
            OperatorKind::FilterMap => "filter-map",
            OperatorKind::FlatMap => "flat-map",
            OperatorKind::AssignKey => "assign-key",
            OperatorKind::AssignTimestamp => "assign-timestamp",
            OperatorKind::UpdateState => "update-state",
            OperatorKind::Flush => "flush",
        }
    }

    /// The single-record export's type, in WIT, for error messages.
    pub fn signature(self) -> &'static str {
        match self {
            OperatorKind::Filter => "func(input: record) -> result<bool, string>",
            OperatorKind::Map => "func(input: record) -> result<list<u8>, string>",
            OperatorKind::FilterMap => "func(input: record) -> result<option<list<u8>>, string>",
            OperatorKind::FlatMap => "func(input: record) -> result<list<list<u8>>, string>",
            OperatorKind::AssignKey => "func(input: record) -> result<list<u8>, string>",
            OperatorKind::AssignTimestamp => "func(input: record) -> result<s64, string>",
            OperatorKind::UpdateState => "func(input: record) -> result<_, string>",
            OperatorKind::Flush => "func(window: window) -> result<list<list<u8>>, string>",
        }
    }

    /// The batch export's type, in WIT (its types are those of the `batch` interface), for
    /// error messages; `None` for [`OperatorKind::Flush`].
    pub fn batch_signature(self) -> Option<&'static str> {
        Some(match self {
            OperatorKind::Filter => "func(input: record-batch) -> filter-output",
            OperatorKind::Map => "func(input: record-batch) -> map-output",
            OperatorKind::FilterMap => "func(input: record-batch) -> filter-map-output",
            OperatorKind::FlatMap => "func(input: record-batch) -> flat-map-output",
            OperatorKind::AssignKey => "func(input: record-batch) -> assign-key-output",
            OperatorKind::AssignTimestamp => "func(input: record-batch) -> assign-timestamp-output",
            OperatorKind::UpdateState => "func(input: record-batch) -> update-state-output",
            OperatorKind::Flush => return None,
        })
    }

    /// The kind named `name` in the dataflow file.
    pub fn from_name(name: &str) -> Option<OperatorKind> {
        OperatorKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for OperatorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one record's call returned, by operator kind. Values and keys are bytes as the
/// component produced them (values should be JSON; the runtime parses them).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// `filter`: keep the record?
    Keep(bool),
    /// `map`: the new value.
    Value(Vec<u8>),
    /// `filter-map`: the new value, or `None` to drop the record.
    MaybeValue(Option<Vec<u8>>),
    /// `flat-map` and `flush`: the values to emit.
    Values(Vec<Vec<u8>>),
    /// `assign-key`: the new key.
    Key(Vec<u8>),
    /// `assign-timestamp`: the event time, milliseconds.
    Timestamp(i64),
    /// `update-state`: done (the writes went through the state imports).
    Updated,
}

/// The Rust types wasmtime binds each kind's exports to, with the conversion of a
/// successful result into an [`Output`] and of a batch export's output into one result per
/// record. [`crate::pool`] and load-time checks both go through [`dispatch`] so the two never
/// disagree.
pub(crate) trait Shape {
    /// Called once per kind: `R` is the `ok` type of the single-record result, `B` what the
    /// batch export returns.
    type Out;
    fn visit<R, B>(self, wrap: fn(R) -> Output, unpack: Unpack<B>) -> Self::Out
    where
        R: ComponentTypeBounds,
        B: Lift + Send + Sync + 'static;
}

/// What a result's `ok` type must support to cross the boundary.
pub(crate) trait ComponentTypeBounds: Lift + Lower + Send + Sync + 'static {}
impl<T: Lift + Lower + Send + Sync + 'static> ComponentTypeBounds for T {}

/// Calls `shape.visit::<R, B>(wrap, unpack)` with the types and conversions of `kind`'s
/// record functions. [`OperatorKind::Flush`] takes a window, not records, and has no batch
/// form: callers handle it first (its `B` is never used).
pub(crate) fn dispatch<V: Shape>(kind: OperatorKind, shape: V) -> V::Out {
    match kind {
        OperatorKind::Filter => shape.visit::<bool, BatchOutput<bool>>(Output::Keep, |output, count| {
            output.unpack(count, |keep, _| Ok(Output::Keep(keep)))
        }),
        OperatorKind::Map => shape.visit::<Vec<u8>, BatchOutput<Span>>(Output::Value, |output, count| {
            output.unpack(count, |span, bytes| bytes_of(bytes, span, "its value").map(Output::Value))
        }),
        OperatorKind::FilterMap => {
            shape.visit::<Option<Vec<u8>>, BatchOutput<Option<Span>>>(Output::MaybeValue, |output, count| {
                output.unpack(count, |span, bytes| match span {
                    Some(span) => {
                        bytes_of(bytes, span, "its value").map(|value| Output::MaybeValue(Some(value)))
                    }
                    None => Ok(Output::MaybeValue(None)),
                })
            })
        }
        OperatorKind::FlatMap | OperatorKind::Flush => {
            shape.visit::<Vec<Vec<u8>>, FlatMapOutput>(Output::Values, FlatMapOutput::unpack)
        }
        OperatorKind::AssignKey => shape.visit::<Vec<u8>, BatchOutput<Span>>(Output::Key, |output, count| {
            output.unpack(count, |span, bytes| bytes_of(bytes, span, "its key").map(Output::Key))
        }),
        OperatorKind::AssignTimestamp => shape
            .visit::<i64, BatchOutput<i64>>(Output::Timestamp, |output, count| {
                output.unpack(count, |time, _| Ok(Output::Timestamp(time)))
            }),
        OperatorKind::UpdateState => shape.visit::<(), BatchOutput<()>>(
            |()| Output::Updated,
            |output, count| output.unpack(count, |(), _| Ok(Output::Updated)),
        ),
    }
}

/// Checks an export's type against the Rust types the host will bind it to.
pub(crate) fn typecheck<P, R>(
    func: &ComponentFunc,
    component: &wasmtime::component::types::Component,
    export: &str,
    expected: &'static str,
) -> Result<()>
where
    P: ComponentNamedList + Lower,
    R: ComponentNamedList + Lift,
{
    func.typecheck::<P, R>(&component.instance_type()).map_err(|e| Error::WrongSignature {
        export: export.to_owned(),
        expected,
        reason: format!("{e:#}"),
    })
}

/// A [`Shape`] that type-checks the single and batch exports of a kind.
pub(crate) struct CheckExports<'a> {
    pub(crate) component: &'a wasmtime::component::types::Component,
    pub(crate) kind: OperatorKind,
    pub(crate) single: Option<(&'a str, &'a ComponentFunc)>,
    pub(crate) batch: Option<(&'a str, &'a ComponentFunc)>,
}

impl Shape for CheckExports<'_> {
    type Out = Result<()>;
    fn visit<R, B>(self, _wrap: fn(R) -> Output, _unpack: Unpack<B>) -> Result<()>
    where
        R: ComponentTypeBounds,
        B: Lift + Send + Sync + 'static,
    {
        if let Some((name, func)) = self.single {
            if self.kind == OperatorKind::Flush {
                typecheck::<(Window,), (Result<R, String>,)>(
                    func,
                    self.component,
                    name,
                    self.kind.signature(),
                )?;
            } else {
                typecheck::<(Record,), (Result<R, String>,)>(
                    func,
                    self.component,
                    name,
                    self.kind.signature(),
                )?;
            }
        }
        if let (Some((name, func)), Some(expected)) = (self.batch, self.kind.batch_signature()) {
            typecheck::<(Arc<RecordBatch>,), (B,)>(func, self.component, name, expected)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_found_by_its_name() {
        for kind in OperatorKind::ALL {
            assert_eq!(OperatorKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(OperatorKind::from_name("aggregate"), None);
    }
}
