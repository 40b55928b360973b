//! [`RemoteFunctions`]: the module's HTTP endpoints, each with its [`FunctionClient`], routing
//! a request to the endpoint that serves its target's function type.
//!
//! The route of a function type (its endpoint, and its URL parsed) is worked out on its first
//! request and kept, so that a request costs a map lookup by the target's namespace and name
//! rather than a function type, a URL and its parse.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use hyper::Uri;

use crate::address::FunctionType;
use crate::http::{CallError, FunctionClient, parse_url};
use crate::invocation::{DEFAULT_MAX_BATCH, request_target};
use crate::module::HttpEndpoint;
use crate::proto::reqreply::{FromFunction, ToFunction};

/// Routes kept at most; types past it are routed afresh on each request. Function types come
/// from the module and from what functions send, which a namespace pattern does not bound.
const MAX_ROUTES: usize = 4096;

/// Every remote endpoint of a module. Cheap to clone; clones share the routes found.
#[derive(Debug, Clone)]
pub struct RemoteFunctions {
    endpoints: Arc<Vec<(HttpEndpoint, FunctionClient)>>,
    routes: Arc<Mutex<Routes>>,
}

/// Routes by namespace, then by name.
type Routes = HashMap<String, HashMap<String, Arc<Route>>>;

/// Where the requests for one function type go.
#[derive(Debug)]
struct Route {
    /// The index of the endpoint serving the type.
    endpoint: usize,
    /// The type's URL.
    url: String,
    /// The same, parsed.
    uri: Uri,
}

impl RemoteFunctions {
    /// Clients for `endpoints` (one pool and concurrency limit each). Must be called inside a
    /// tokio runtime.
    pub fn new(endpoints: &[HttpEndpoint]) -> Self {
        let endpoints = endpoints
            .iter()
            .map(|endpoint| (endpoint.clone(), FunctionClient::new(endpoint.client.clone())))
            .collect();
        Self { endpoints: Arc::new(endpoints), routes: Arc::default() }
    }

    /// The endpoint serving `function_type` and its client: an endpoint naming the type exactly
    /// wins over one serving its whole namespace.
    pub fn endpoint_for(&self, function_type: &FunctionType) -> Option<(&HttpEndpoint, &FunctionClient)> {
        self.endpoint_index(function_type).map(|index| {
            let (endpoint, client) = &self.endpoints[index];
            (endpoint, client)
        })
    }

    fn endpoint_index(&self, function_type: &FunctionType) -> Option<usize> {
        let exact =
            self.endpoints.iter().position(|(endpoint, _)| endpoint.functions.is_exactly(function_type));
        exact.or_else(|| {
            self.endpoints.iter().position(|(endpoint, _)| endpoint.functions.matches(function_type))
        })
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
        let route = self.route(&target.namespace, &target.r#type)?;
        let (_, client) = &self.endpoints[route.endpoint];
        client.call_uri(&route.uri, &route.url, request).await
    }

    /// The route of the function type `namespace/name`, kept from an earlier request or found.
    fn route(&self, namespace: &str, name: &str) -> Result<Arc<Route>, CallError> {
        let lock = || self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(route) = lock().get(namespace).and_then(|names| names.get(name)) {
            return Ok(Arc::clone(route));
        }
        let function_type = FunctionType::new(namespace, name)
            .map_err(|error| CallError::Unroutable(format!("the request's target: {error}")))?;
        let endpoint = self.endpoint_index(&function_type).ok_or_else(|| {
            CallError::Unroutable(format!("no endpoint in the module serves `{function_type}`"))
        })?;
        let url = self.endpoints[endpoint].0.url_for(&function_type);
        let uri = parse_url(&url)?;
        let route = Arc::new(Route { endpoint, url, uri });
        let mut routes = lock();
        if routes.values().map(HashMap::len).sum::<usize>() < MAX_ROUTES {
            let names = routes.entry(namespace.to_owned()).or_default();
            names.insert(name.to_owned(), Arc::clone(&route));
        }
        Ok(route)
    }
}
