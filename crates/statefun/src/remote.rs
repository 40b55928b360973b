//! [`RemoteFunctions`]: the module's HTTP endpoints, each with its [`FunctionClient`], routing
//! a request to the endpoint that serves its target's function type.

use std::sync::Arc;

use crate::address::FunctionType;
use crate::http::{CallError, FunctionClient};
use crate::invocation::{DEFAULT_MAX_BATCH, request_target};
use crate::module::HttpEndpoint;
use crate::proto::reqreply::{FromFunction, ToFunction};

/// Every remote endpoint of a module. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RemoteFunctions {
    endpoints: Arc<Vec<(HttpEndpoint, FunctionClient)>>,
}

impl RemoteFunctions {
    /// Clients for `endpoints` (one pool and concurrency limit each). Must be called inside a
    /// tokio runtime.
    pub fn new(endpoints: &[HttpEndpoint]) -> Self {
        let endpoints = endpoints
            .iter()
            .map(|endpoint| (endpoint.clone(), FunctionClient::new(endpoint.client.clone())))
            .collect();
        Self { endpoints: Arc::new(endpoints) }
    }

    /// The endpoint serving `function_type` and its client: an endpoint naming the type exactly
    /// wins over one serving its whole namespace.
    pub fn endpoint_for(&self, function_type: &FunctionType) -> Option<(&HttpEndpoint, &FunctionClient)> {
        let exact = self.endpoints.iter().find(|(endpoint, _)| endpoint.functions.is_exactly(function_type));
        exact
            .or_else(|| self.endpoints.iter().find(|(endpoint, _)| endpoint.functions.matches(function_type)))
            .map(|(endpoint, client)| (endpoint, client))
    }

    /// Each endpoint's URL template with its client's [`CallStats`](crate::http::CallStats).
    pub fn call_stats(&self) -> Vec<(String, Arc<crate::http::CallStats>)> {
        self.endpoints
            .iter()
            .map(|(endpoint, client)| (endpoint.url_path_template.clone(), Arc::clone(client.stats())))
            .collect()
    }

    /// The batch limit of `function_type` (`maxNumBatchRequests`, 1000 when no endpoint serves it).
    pub fn max_batch(&self, function_type: &FunctionType) -> usize {
        self.endpoint_for(function_type)
            .map_or(DEFAULT_MAX_BATCH, |(endpoint, _)| endpoint.max_num_batch_requests)
    }

    /// Sends `request` to the endpoint serving its target.
    ///
    /// # Errors
    /// [`CallError::Unroutable`] when the request has no valid target or no endpoint serves it;
    /// otherwise the errors of [`FunctionClient::call`].
    pub async fn invoke(&self, request: &ToFunction) -> Result<FromFunction, CallError> {
        let target = request_target(request)
            .ok_or_else(|| CallError::Unroutable("the request has no target".to_owned()))?;
        let function_type = FunctionType::new(&target.namespace, &target.r#type)
            .map_err(|error| CallError::Unroutable(format!("the request's target: {error}")))?;
        let (endpoint, client) = self.endpoint_for(&function_type).ok_or_else(|| {
            CallError::Unroutable(format!("no endpoint in the module serves `{function_type}`"))
        })?;
        client.call(&endpoint.url_for(&function_type), request).await
    }
}
