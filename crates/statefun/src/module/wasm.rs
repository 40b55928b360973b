//! `io.eddy.endpoints.v1/wasm`, Eddy's own kind: function types served by a WebAssembly
//! component run inside Eddy (the world `function` of the WIT package `eddy:function`),
//! rather than by an HTTP endpoint.
//!
//! ```yaml
//! kind: io.eddy.endpoints.v1/wasm
//! spec:
//!   functions: example/greeter        # or example/*
//!   component: greeter.wasm           # relative to the module file
//!   maxNumBatchRequests: 1000         # optional
//! ```

use std::path::{Path, PathBuf};

use super::endpoint::FunctionPattern;
use super::reader::{Fields, Reader, integer_at_least};
use crate::invocation::DEFAULT_MAX_BATCH;

/// Function types served by a WebAssembly component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmEndpoint {
    /// The function types served.
    pub functions: FunctionPattern,
    /// The component file, resolved against the module file's directory.
    pub component: PathBuf,
    /// The most messages in one call (`maxNumBatchRequests`, default 1000).
    pub max_num_batch_requests: usize,
}

/// Reads the `spec` of a wasm endpoint; `file` is the module file, which relative component
/// paths start from. The component must exist.
pub(super) fn read(reader: &mut Reader<'_>, spec: &Fields<'_>, file: &str) -> Option<WasmEndpoint> {
    let functions = reader.parsed(spec, "functions", true, FunctionPattern::parse);
    let base = Path::new(file).parent().unwrap_or(Path::new(""));
    let component = reader.parsed(spec, "component", true, |text| {
        if text.trim().is_empty() {
            return Err("expected the path of a component (`.wasm`)".to_owned());
        }
        let path = base.join(text);
        if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "no file at `{}`; expected the path of a component (`.wasm`), relative to the module file",
                path.display()
            ))
        }
    });
    let max_batch = reader
        .parsed(spec, "maxNumBatchRequests", false, integer_at_least(1))
        .map_or(DEFAULT_MAX_BATCH, |n| usize::try_from(n).unwrap_or(usize::MAX));
    Some(WasmEndpoint { functions: functions?, component: component?, max_num_batch_requests: max_batch })
}
