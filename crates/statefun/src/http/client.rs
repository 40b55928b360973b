//! [`FunctionClient`]: sends one `ToFunction` to one URL and returns the `FromFunction`,
//! retrying as Statefun does.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::header::CONTENT_TYPE;
use hyper::{Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use prost::Message as _;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::error::CallError;
use super::options::{ClientOptions, Protocol};
use super::retry::Backoff;
use super::stats::CallStats;
use super::timeout_io::TimeoutConnector;
use crate::proto::reqreply::{FromFunction, ToFunction};

/// The content type of requests and replies.
const OCTET_STREAM: &str = "application/octet-stream";

/// A client for one endpoint: a connection pool, a concurrency limit and the endpoint's
/// timeouts. Cheap to clone; clones share the pool and the limit. Must be used inside a tokio
/// runtime.
#[derive(Clone)]
pub struct FunctionClient {
    client: Client<TimeoutConnector, Full<Bytes>>,
    in_flight: Arc<Semaphore>,
    options: ClientOptions,
    stats: Arc<CallStats>,
}

impl std::fmt::Debug for FunctionClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionClient").field("options", &self.options).finish_non_exhaustive()
    }
}

impl FunctionClient {
    /// A client with `options`.
    pub fn new(options: ClientOptions) -> Self {
        let timeouts = options.timeouts;
        let connector = TimeoutConnector::new(timeouts.connect, timeouts.read, timeouts.write);
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(options.pool_idle_timeout)
            .pool_max_idle_per_host(options.pool_max_idle)
            .http2_only(options.protocol == Protocol::H2c);
        let client = builder.build(connector);
        let in_flight = Arc::new(Semaphore::new(options.max_concurrent_requests.max(1)));
        Self { client, in_flight, options, stats: Arc::default() }
    }

    /// The client's options.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// What this client (and its clones) has seen: calls and failures by kind.
    pub fn stats(&self) -> &Arc<CallStats> {
        &self.stats
    }

    /// POSTs `request` to `url` and decodes the reply, retrying retryable failures with
    /// exponential backoff until the call timeout.
    ///
    /// # Errors
    /// [`CallError`]: a non-retryable status, garbage bytes, an oversized reply, a bad URL, or
    /// [`CallError::TimedOut`] carrying the last retryable failure.
    pub async fn call(&self, url: &str, request: &ToFunction) -> Result<FromFunction, CallError> {
        let uri = parse_url(url)?;
        self.call_uri(&uri, url, request).await
    }

    /// As [`call`](Self::call), to a URL already parsed with [`parse_url`]: a caller sending
    /// many requests to one URL parses it once. The call and its failures are counted in
    /// [`stats`](Self::stats).
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn call_uri(
        &self,
        uri: &Uri,
        url: &str,
        request: &ToFunction,
    ) -> Result<FromFunction, CallError> {
        self.stats.call();
        let result = self.send_with_retries(uri, url, request).await;
        if let Err(error) = &result {
            self.stats.call_failed(error);
        }
        result
    }

    /// One call: attempts until a reply, a failure not worth retrying, or the call timeout.
    async fn send_with_retries(
        &self,
        uri: &Uri,
        url: &str,
        request: &ToFunction,
    ) -> Result<FromFunction, CallError> {
        // One buffer of the encoded size, handed to hyper without a copy.
        let body = Bytes::from(request.encode_to_vec());
        let timeout = self.options.timeouts.call;
        let deadline = Instant::now() + timeout;
        let mut backoff = Backoff::until(deadline);
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let error = match tokio::time::timeout_at(deadline, self.attempt(uri, url, body.clone())).await {
                Ok(Ok(reply)) => {
                    return FromFunction::decode(reply).map_err(|error| {
                        let error = CallError::Garbage { url: url.to_owned(), reason: error.to_string() };
                        self.stats.attempt_failed(&error);
                        error
                    });
                }
                Ok(Err(error)) if !error.is_retryable() => {
                    self.stats.attempt_failed(&error);
                    return Err(error);
                }
                Ok(Err(error)) => error,
                Err(_) => CallError::Stalled {
                    url: url.to_owned(),
                    reason: format!("attempt {attempts} was still running when the call timeout passed"),
                },
            };
            self.stats.attempt_failed(&error);
            tracing::debug!(url, attempts, %error, "remote function call failed; retrying");
            let Some(wait) = backoff.next_wait(Instant::now()) else {
                return Err(CallError::TimedOut {
                    url: url.to_owned(),
                    timeout,
                    attempts,
                    last: Box::new(error),
                });
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: the body of a 2xx reply.
    async fn attempt(&self, uri: &Uri, url: &str, body: Bytes) -> Result<Bytes, CallError> {
        let _permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| CallError::Unroutable("the client has been shut down".to_owned()))?;
        let request = Request::post(uri.clone())
            .header(CONTENT_TYPE, OCTET_STREAM)
            .body(Full::new(body))
            .map_err(|error| CallError::Unroutable(format!("cannot build a request to `{url}`: {error}")))?;
        let response = self.client.request(request).await.map_err(|error| transport_error(url, &error))?;
        let status = response.status();
        if !status.is_success() {
            return Err(CallError::Status { url: url.to_owned(), status: status.as_u16() });
        }
        let limit = self.options.max_response_bytes;
        match Limited::new(response.into_body(), limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(error) if error.is::<LengthLimitError>() => {
                Err(CallError::TooLarge { url: url.to_owned(), limit })
            }
            Err(error) => Err(transport_error(url, error.as_ref())),
        }
    }
}

/// `url` as a [`Uri`] a [`FunctionClient`] can call: plain `http://`.
///
/// # Errors
/// [`CallError::Unroutable`] when `url` is not a URL or not `http://`.
pub fn parse_url(url: &str) -> Result<Uri, CallError> {
    let uri: Uri =
        url.parse().map_err(|error| CallError::Unroutable(format!("`{url}` is not a URL: {error}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(CallError::Unroutable(format!("`{url}` is not an http:// URL")));
    }
    Ok(uri)
}

/// A transport failure as a [`CallError`]: a stall when an I/O timeout is behind it, a
/// connection error otherwise, with every distinct cause in the text.
fn transport_error(url: &str, error: &(dyn std::error::Error + 'static)) -> CallError {
    let mut reasons: Vec<String> = Vec::new();
    let mut timed_out = false;
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<io::Error>() {
            let wrapped = io.get_ref().and_then(|inner| inner.downcast_ref::<io::Error>());
            timed_out |= io.kind() == io::ErrorKind::TimedOut
                || wrapped.is_some_and(|inner| inner.kind() == io::ErrorKind::TimedOut);
        }
        let text = current.to_string();
        if !reasons.iter().any(|seen| seen.contains(&text)) {
            reasons.push(text);
        }
        cause = current.source();
    }
    let reason = reasons.join(": ");
    if timed_out {
        CallError::Stalled { url: url.to_owned(), reason }
    } else {
        CallError::Connection { url: url.to_owned(), reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_timeouts_anywhere_in_the_chain_are_stalls() {
        let inner = io::Error::new(io::ErrorKind::TimedOut, "no read progress");
        let outer = io::Error::other(inner);
        assert!(matches!(transport_error("http://x", &outer), CallError::Stalled { .. }));
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        let error = transport_error("http://x", &refused);
        assert!(matches!(&error, CallError::Connection { reason, .. } if reason == "refused"));
        assert!(error.is_retryable());
    }

    #[test]
    fn statuses_are_retryable_as_statefun_says() {
        let status = |status| CallError::Status { url: String::new(), status };
        for code in [408, 409, 420, 429, 499, 500, 502, 503, 599] {
            assert!(status(code).is_retryable(), "{code}");
        }
        for code in [400, 401, 403, 404, 405, 413, 415] {
            assert!(!status(code).is_retryable(), "{code}");
        }
    }

    #[tokio::test]
    async fn urls_that_are_not_plain_http_are_refused() {
        let client = FunctionClient::new(ClientOptions::default());
        let request = ToFunction::default();
        assert!(matches!(client.call("https://x/f", &request).await, Err(CallError::Unroutable(_))));
        assert!(matches!(client.call("not a url", &request).await, Err(CallError::Unroutable(_))));
    }
}
