//! [`Functions`]: what the runtime calls to run a batch of invocations. Remote functions over
//! HTTP implement it ([`RemoteFunctions`]); embedded functions (WebAssembly components, native
//! code) can implement it too and run under the same runtime, state handshake and epochs
//! included, since the runtime speaks only the request-reply messages.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use eddy_statefun::http::CallStats;
use eddy_statefun::proto::reqreply::to_function::Request;
use eddy_statefun::proto::reqreply::{FromFunction, ToFunction};
use eddy_statefun::{FunctionType, RemoteFunctions};

/// Why a call failed for good, in words.
pub type InvokeError = Box<dyn std::error::Error + Send + Sync>;

/// The reply to one request, once it comes.
pub type Reply = Pin<Box<dyn Future<Output = Result<FromFunction, InvokeError>> + Send>>;

/// How a request is answered: at once, by a function embedded in the process, or later.
pub enum Call {
    /// The reply, computed on the calling thread.
    Now(Result<FromFunction, InvokeError>),
    /// The reply once it comes (a remote function).
    Later(Reply),
}

/// Runs function batches: one `ToFunction` in, one `FromFunction` out.
///
/// The runtime keeps at most one request in flight per address and many addresses in flight
/// at once; an implementation retries what it can retry and reports only final failures.
pub trait Functions: Send + Sync + 'static {
    /// Sends `request` and resolves to the reply.
    fn invoke(&self, request: ToFunction) -> Reply;

    /// Runs `request` on the calling thread when a function embedded in the process serves
    /// it ([`Call::Now`]), else sends it ([`Call::Later`], the default). The runtime applies
    /// a reply given at once on its own loop, without a task or a wake-up in between.
    fn call(&self, request: ToFunction) -> Call {
        Call::Later(self.invoke(request))
    }

    /// The most messages one batch for `function_type` may hold (`maxNumBatchRequests`).
    fn max_batch(&self, function_type: &FunctionType) -> usize;

    /// Whether a function of `function_type` can be called: messages from outside to other
    /// types are refused where they arrive.
    fn serves(&self, function_type: &FunctionType) -> bool;

    /// The HTTP endpoints called, by URL template, with what their clients have seen (none
    /// by default: functions embedded in the process make no calls that can fail so).
    fn call_stats(&self) -> Vec<(String, Arc<CallStats>)> {
        Vec::new()
    }
}

impl Functions for RemoteFunctions {
    fn invoke(&self, request: ToFunction) -> Reply {
        let remote = self.clone();
        Box::pin(async move { remote.invoke(&request).await.map_err(InvokeError::from) })
    }

    fn max_batch(&self, function_type: &FunctionType) -> usize {
        RemoteFunctions::max_batch(self, function_type)
    }

    fn serves(&self, function_type: &FunctionType) -> bool {
        self.endpoint_for(function_type).is_some()
    }

    fn call_stats(&self) -> Vec<(String, Arc<CallStats>)> {
        RemoteFunctions::call_stats(self)
    }
}

/// The function type a request's batch targets, if it names a valid one.
pub(crate) fn target_type(request: &ToFunction) -> Option<FunctionType> {
    match &request.request {
        Some(Request::Invocation(batch)) => {
            batch.target.as_ref().and_then(|target| FunctionType::new(&target.namespace, &target.r#type).ok())
        }
        None => None,
    }
}

/// A request no embedded function serves: to `remote` when there are remote functions,
/// else a failure naming the type.
pub(crate) fn invoke_remote(
    remote: Option<&RemoteFunctions>,
    function_type: Option<FunctionType>,
    request: ToFunction,
) -> Reply {
    match remote {
        Some(remote) => Functions::invoke(remote, request),
        None => {
            let name = function_type.map_or_else(|| "?".to_owned(), |t| t.to_string());
            Box::pin(std::future::ready(Err(format!("no function for `{name}`").into())))
        }
    }
}
