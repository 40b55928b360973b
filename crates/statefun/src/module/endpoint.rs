//! `io.statefun.endpoints.v2/http` (and `v1`): which function types an HTTP endpoint serves,
//! at which URL, with which batch limit and transport.

use std::time::Duration;

use super::duration;
use super::reader::{Fields, Reader, integer_at_least};
use crate::address::FunctionType;
use crate::http::{ClientOptions, Protocol, Timeouts};
use crate::invocation::DEFAULT_MAX_BATCH;

/// The placeholder of `urlPathTemplate` replaced by the function type's name.
const FUNCTION_NAME: &str = "{function.name}";
/// The transport type Statefun names for its asynchronous client (its fields are accepted).
const ASYNC_TRANSPORT: &str = "io.statefun.transports.v1/async";

/// The function types an endpoint serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionPattern {
    /// One function type (`example/greeter`).
    Exact(FunctionType),
    /// Every type of a namespace (`example/*`).
    Namespace(String),
}

impl FunctionPattern {
    /// Parses `ns/name` or `ns/*`; the error says what is expected.
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let expected = "expected `namespace/name` or `namespace/*`".to_owned();
        match text.strip_suffix("/*") {
            Some(namespace) if !namespace.is_empty() && !namespace.contains('*') => {
                Ok(Self::Namespace(namespace.to_owned()))
            }
            Some(_) => Err(expected),
            None if text.contains('*') => Err(expected),
            None => text.parse().map(Self::Exact).map_err(|_| expected),
        }
    }

    /// Whether the pattern names exactly `function_type`.
    pub fn is_exactly(&self, function_type: &FunctionType) -> bool {
        matches!(self, Self::Exact(exact) if exact == function_type)
    }

    /// Whether the pattern covers `function_type`.
    pub fn matches(&self, function_type: &FunctionType) -> bool {
        match self {
            Self::Exact(exact) => exact == function_type,
            Self::Namespace(namespace) => namespace == function_type.namespace(),
        }
    }
}

/// An HTTP endpoint serving remote functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpEndpoint {
    /// The function types served.
    pub functions: FunctionPattern,
    /// The URL, where `{function.name}` stands for the function type's name.
    pub url_path_template: String,
    /// The most messages in one batch (`maxNumBatchRequests`, default 1000); a fuller backlog
    /// applies back-pressure.
    pub max_num_batch_requests: usize,
    /// The client's timeouts, protocol and limits.
    pub client: ClientOptions,
}

impl HttpEndpoint {
    /// The URL for `function_type`.
    pub fn url_for(&self, function_type: &FunctionType) -> String {
        self.url_path_template.replace(FUNCTION_NAME, function_type.name())
    }
}

/// Checks a URL template: an `http://` URL whose only placeholder is `{function.name}`.
fn url_template(text: &str) -> Result<String, String> {
    let filled = text.replace(FUNCTION_NAME, "f");
    if filled.contains('{') || filled.contains('}') {
        return Err(format!("expected a URL whose only placeholder is `{FUNCTION_NAME}`"));
    }
    if filled.starts_with("https://") {
        return Err("https endpoints are not supported yet; expected an http:// URL".to_owned());
    }
    let uri: hyper::Uri = filled
        .parse()
        .map_err(|_| "expected a URL such as `http://localhost:8000/{function.name}`".to_owned())?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err("expected an http:// URL with a host".to_owned());
    }
    Ok(text.to_owned())
}

fn protocol(text: &str) -> Result<Protocol, String> {
    match text {
        "http1" | "http/1.1" => Ok(Protocol::Http1),
        "h2c" | "http2" => Ok(Protocol::H2c),
        _ => Err("expected `http1` or `h2c`".to_owned()),
    }
}

/// Reads the `spec` of an http endpoint; `v1` puts `timeouts` directly under `spec`.
pub(super) fn read(reader: &mut Reader<'_>, spec: &Fields<'_>, v1: bool) -> Option<HttpEndpoint> {
    let functions = reader.parsed(spec, "functions", true, FunctionPattern::parse);
    let url = reader.parsed(spec, "urlPathTemplate", true, url_template);
    let max_batch = reader
        .parsed(spec, "maxNumBatchRequests", false, integer_at_least(1))
        .map_or(DEFAULT_MAX_BATCH, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut client = ClientOptions::default();
    if v1 {
        if let Some(timeouts) = reader.sub_map(spec, "timeouts", &["call", "connect", "read", "write"]) {
            read_timeouts(reader, &timeouts, &mut client.timeouts);
        }
    } else if let Some(transport) = reader.sub_map(
        spec,
        "transport",
        &[
            "type",
            "timeouts",
            "call",
            "connect",
            "pool_ttl",
            "pool_size",
            "payload_max_bytes",
            "trust_cacerts",
            "client_cert",
            "client_key",
            "client_key_password",
            "protocol",
            "maxConcurrentRequests",
        ],
    ) {
        read_transport(reader, &transport, &mut client);
    }
    Some(HttpEndpoint {
        functions: functions?,
        url_path_template: url?,
        max_num_batch_requests: max_batch,
        client,
    })
}

fn read_transport(reader: &mut Reader<'_>, transport: &Fields<'_>, client: &mut ClientOptions) {
    let transport_type = reader.string(transport, "type", false);
    if let Some(kind) = &transport_type
        && kind != ASYNC_TRANSPORT
        && let Some(node) = transport.get("type")
    {
        reader.problem(
            node.pos,
            &transport.path_of("type"),
            format!("expected `{ASYNC_TRANSPORT}` or no type, found `{kind}`"),
        );
    }
    if let Some(timeouts) = reader.sub_map(transport, "timeouts", &["call", "connect", "read", "write"]) {
        read_timeouts(reader, &timeouts, &mut client.timeouts);
    }
    // The asynchronous transport's fields, directly under `transport`.
    if let Some(call) = reader.parsed(transport, "call", false, duration::parse) {
        client.timeouts.call = call;
    }
    if let Some(connect) = reader.parsed(transport, "connect", false, duration::parse) {
        client.timeouts.connect = connect;
    }
    if let Some(ttl) = reader.parsed(transport, "pool_ttl", false, duration::parse) {
        client.pool_idle_timeout = ttl;
    }
    if let Some(size) = reader.parsed(transport, "pool_size", false, integer_at_least(1)) {
        client.pool_max_idle = usize::try_from(size).unwrap_or(usize::MAX);
    }
    if let Some(bytes) = reader.parsed(transport, "payload_max_bytes", false, integer_at_least(1)) {
        client.max_response_bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
    }
    for tls in ["trust_cacerts", "client_cert", "client_key", "client_key_password"] {
        if let Some(node) = transport.get(tls) {
            reader.problem(
                node.pos,
                &transport.path_of(tls),
                "TLS endpoints are not supported yet; remove this field",
            );
        }
    }
    if let Some(protocol) = reader.parsed(transport, "protocol", false, protocol) {
        client.protocol = protocol;
    }
    if let Some(limit) = reader.parsed(transport, "maxConcurrentRequests", false, integer_at_least(1)) {
        client.max_concurrent_requests = usize::try_from(limit).unwrap_or(usize::MAX);
    }
}

fn read_timeouts(reader: &mut Reader<'_>, timeouts: &Fields<'_>, into: &mut Timeouts) {
    let mut set = |key: &str, slot: &mut Duration| {
        if let Some(value) = reader.parsed(timeouts, key, false, duration::parse) {
            *slot = value;
        }
    };
    set("call", &mut into.call);
    set("connect", &mut into.connect);
    set("read", &mut into.read);
    set("write", &mut into.write);
}
