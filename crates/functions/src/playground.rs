//! The playground ingress and egress over HTTP, as Statefun's playground serves them, so its
//! examples run unchanged:
//!
//! ```text
//! curl -X PUT -H "Content-Type: application/vnd.example/GreetRequest" -d '{"name": "Bob"}' \
//!      localhost:8090/example/person/Bob
//! curl -X GET localhost:8091/greetings
//! ```
//!
//! - Ingress (`port`, default 8090): `PUT` or `POST /{namespace}/{type}/{id}`, the payload as
//!   body, its typename in `Content-Type: application/vnd.<typename>`. The message is appended
//!   to the topic [`INVOCATIONS_TOPIC`] ([`invocation`]: key the id, headers the target
//!   function type and the typename) and the request is answered `200` once the record is
//!   durable. The runtime reads that topic like a Kafka ingress, so an acknowledged message is
//!   never lost and takes effect once. `eddy invoke` appends to the same topic.
//! - Request-reply: `POST /{namespace}/{type}/{id}?reply` sends the same message with a caller,
//!   the address `eddy.http/reply/<token>`, and waits (30 s at most, then `504`) for the
//!   function to send a message back to its caller, as Statefun functions answer one another.
//!   The reply is the response (`Content-Type: application/vnd.<its typename>`), sent once the
//!   epoch that holds it has committed: an answer never reflects state that could be lost.
//! - Egress (`port`, default 8091): `GET /{topic}` answers the next record of an egress topic
//!   (the payload, as the function sent it), or `204 No Content` when there is none yet. Each
//!   topic is read once per process, from its start.
//!
//! Both listen on 127.0.0.1. A bad request gets a `4xx` whose body says what is wrong.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use eddy_statefun::{FunctionType, Module};
use eddy_types::{Header, Record, now_millis};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use crate::functions::Functions;
use crate::handle::Handle;
use crate::{Error, Result};

/// The topic messages sent to a function from outside (the playground ingress, `eddy
/// invoke`) are kept in until the runtime reads them. Every module reads it.
pub const INVOCATIONS_TOPIC: &str = "statefun.invocations";
/// The id the read positions of [`INVOCATIONS_TOPIC`] are stored under.
pub(crate) const INVOCATIONS_ID: &str = "io.statefun.playground/ingress";
/// The header naming a playground message's target function type.
pub(crate) const TARGET_HEADER: &str = "statefun-target";
/// The header naming a playground message's typename.
pub(crate) const TYPENAME_HEADER: &str = "statefun-typename";

/// The header carrying the token of a request waiting for its reply.
pub(crate) const REPLY_HEADER: &str = "statefun-reply-to";
/// The function type of the callers that stand for waiting HTTP requests.
pub const REPLY_TYPE: &str = "eddy.http/reply";
/// How long a request waits for its reply.
const REPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Requests waiting for their reply, by token.
#[derive(Debug, Clone, Default)]
pub(crate) struct Replies {
    waiting: Arc<Mutex<HashMap<String, tokio::sync::oneshot::Sender<eddy_statefun::TypedValue>>>>,
}

impl Replies {
    fn wait(&self, token: &str) -> tokio::sync::oneshot::Receiver<eddy_statefun::TypedValue> {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        self.lock().insert(token.to_owned(), sender);
        receiver
    }

    fn forget(&self, token: &str) {
        self.lock().remove(token);
    }

    /// Answers the request waiting under `token`, if it still waits.
    pub(crate) fn answer(&self, token: &str, reply: eddy_statefun::TypedValue) {
        match self.lock().remove(token) {
            Some(waiting) => drop(waiting.send(reply)),
            None => tracing::debug!(token, "a reply for a request that no longer waits"),
        }
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, tokio::sync::oneshot::Sender<eddy_statefun::TypedValue>>>
    {
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A token no other request of this or another run has.
fn reply_token() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let count = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{}-{nanos:x}-{count}", std::process::id())
}

/// The largest request body the ingress takes.
const MAX_BODY: usize = 4 << 20;

/// Binds the ports a module's playground ingress and egress listen on, so that a port in use
/// fails the start rather than a request later.
pub(crate) fn bind(module: &Module) -> Result<Listeners> {
    let listen = |port: u16| {
        TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .and_then(|listener| listener.set_nonblocking(true).map(|()| listener))
            .map_err(|source| Error::Listen { port, source })
    };
    let mut listeners = Listeners::default();
    for ingress in &module.ingresses {
        if let eddy_statefun::module::Ingress::Playground(playground) = ingress {
            listeners.ingress = Some(listen(playground.port)?);
        }
    }
    for egress in &module.egresses {
        if let eddy_statefun::module::Egress::Playground(playground) = egress {
            listeners.egress = Some(listen(playground.port)?);
        }
    }
    Ok(listeners)
}

/// The bound, not yet served, playground ports.
#[derive(Debug, Default)]
pub(crate) struct Listeners {
    ingress: Option<TcpListener>,
    egress: Option<TcpListener>,
}

impl Listeners {
    /// Serves the ports on the current tokio runtime until it stops.
    pub(crate) fn serve(
        self,
        functions: &Arc<dyn Functions>,
        handle: &Handle,
        replies: &Replies,
    ) -> Result<()> {
        if let Some(listener) = self.ingress {
            let ingress = Arc::new(Ingress {
                functions: Arc::clone(functions),
                handle: handle.clone(),
                replies: replies.clone(),
            });
            spawn_server(listener, move |request| {
                let ingress = Arc::clone(&ingress);
                async move { ingress.handle(request).await }
            })?;
        }
        if let Some(listener) = self.egress {
            let egress = Arc::new(Egress { handle: handle.clone(), next: Mutex::new(HashMap::new()) });
            spawn_server(listener, move |request| {
                let egress = Arc::clone(&egress);
                async move { egress.handle(&request) }
            })?;
        }
        Ok(())
    }
}

fn spawn_server<F, Fut>(listener: TcpListener, handler: F) -> Result<()>
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::from_std(listener).map_err(Error::Start)?;
    tokio::spawn(async move {
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "playground: cannot accept a connection");
                    continue;
                }
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(request).await) }
                });
                if let Err(error) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%error, "playground: connection ended");
                }
            });
        }
    });
    Ok(())
}

fn respond(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

/// The ingress side: requests in, records on [`INGRESS_TOPIC`].
struct Ingress {
    functions: Arc<dyn Functions>,
    handle: Handle,
    replies: Replies,
}

impl Ingress {
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        if !matches!(*request.method(), Method::PUT | Method::POST) {
            return respond(
                StatusCode::METHOD_NOT_ALLOWED,
                "send a message with PUT or POST /{namespace}/{type}/{id}\n",
            );
        }
        let mut record = match self.record(request.uri().path(), request.headers()) {
            Ok(record) => record,
            Err((status, reason)) => return respond(status, format!("{reason}\n")),
        };
        let wants_reply = request.uri().query().is_some_and(|query| query.split('&').any(|q| q == "reply"));
        let token = wants_reply.then(reply_token);
        if let Some(token) = &token {
            record.headers.push(Header { name: REPLY_HEADER.to_owned(), value: Bytes::from(token.clone()) });
        }
        let body = match http_body_util::Limited::new(request.into_body(), MAX_BODY).collect().await {
            Ok(body) => body.to_bytes(),
            Err(error) => {
                return respond(StatusCode::PAYLOAD_TOO_LARGE, format!("cannot read the body: {error}\n"));
            }
        };
        let record = Record { value: body, ..record };
        let reply = token.as_deref().map(|token| self.replies.wait(token));
        let handle = self.handle.clone();
        let produced =
            tokio::task::spawn_blocking(move || handle.produce(INVOCATIONS_TOPIC, 0, vec![record])).await;
        let failed = match produced {
            Ok(Ok(_)) => None,
            Ok(Err(error)) => Some(respond(StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n"))),
            Err(error) => Some(respond(StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n"))),
        };
        let (Some(token), Some(reply)) = (token, reply) else {
            return failed.unwrap_or_else(|| respond(StatusCode::OK, ""));
        };
        if let Some(failed) = failed {
            self.replies.forget(&token);
            return failed;
        }
        match tokio::time::timeout(REPLY_TIMEOUT, reply).await {
            Ok(Ok(value)) => {
                let mut response = respond(StatusCode::OK, value.value.unwrap_or_default());
                if let Ok(content_type) = format!("application/vnd.{}", value.typename).parse() {
                    response.headers_mut().insert(hyper::header::CONTENT_TYPE, content_type);
                }
                response
            }
            Ok(Err(_)) => respond(StatusCode::SERVICE_UNAVAILABLE, "the runtime stopped before the reply\n"),
            Err(_) => {
                self.replies.forget(&token);
                respond(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!(
                        "the message was delivered, but the function sent no reply to its caller within {} s\n",
                        REPLY_TIMEOUT.as_secs()
                    ),
                )
            }
        }
    }

    /// The record for a message to `path`, without its value; or the status and reason to
    /// refuse it with.
    fn record(
        &self,
        path: &str,
        headers: &hyper::HeaderMap,
    ) -> std::result::Result<Record, (StatusCode, String)> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let [namespace, name, id] = parts[..] else {
            return Err((
                StatusCode::NOT_FOUND,
                format!("`{path}` is not /{{namespace}}/{{type}}/{{id}}, the address of a function"),
            ));
        };
        if namespace.is_empty() || name.is_empty() || id.is_empty() {
            return Err((StatusCode::NOT_FOUND, format!("`{path}` has an empty namespace, type or id")));
        }
        let function_type: FunctionType = format!("{namespace}/{name}").parse().map_err(|error| {
            (StatusCode::NOT_FOUND, format!("`{namespace}/{name}` is not a function type: {error}"))
        })?;
        if !self.functions.serves(&function_type) {
            return Err((StatusCode::NOT_FOUND, format!("no function of the module is `{function_type}`")));
        }
        let content_type = headers.get(hyper::header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
        let Some(typename) = content_type.and_then(|value| value.strip_prefix("application/vnd.")) else {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Content-Type must be `application/vnd.<typename>` (e.g. application/vnd.example/GreetRequest), \
                     not `{}`",
                    content_type.unwrap_or("")
                ),
            ));
        };
        if !typename.contains('/') {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("`{typename}` is not a typename: expected `<namespace>/<name>`"),
            ));
        }
        Ok(Record {
            key: Some(Bytes::copy_from_slice(id.as_bytes())),
            value: Bytes::new(),
            timestamp: now_millis(),
            headers: vec![
                Header { name: TARGET_HEADER.to_owned(), value: Bytes::from(function_type.to_string()) },
                Header {
                    name: TYPENAME_HEADER.to_owned(),
                    value: Bytes::copy_from_slice(typename.as_bytes()),
                },
            ],
        })
    }
}

/// The record of [`INVOCATIONS_TOPIC`] that sends a message of type `typename` with `value`
/// to the function `function_type` with id `id`.
pub fn invocation(function_type: &FunctionType, id: &str, typename: &str, value: Bytes) -> Record {
    Record {
        key: Some(Bytes::copy_from_slice(id.as_bytes())),
        value,
        timestamp: now_millis(),
        headers: vec![
            Header { name: TARGET_HEADER.to_owned(), value: Bytes::from(function_type.to_string()) },
            Header { name: TYPENAME_HEADER.to_owned(), value: Bytes::copy_from_slice(typename.as_bytes()) },
        ],
    }
}

/// The egress side: the next record of a topic per `GET`.
struct Egress {
    handle: Handle,
    /// Per topic, per partition, the next offset to answer.
    next: Mutex<HashMap<String, Vec<u64>>>,
}

impl Egress {
    fn handle(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        if request.method() != Method::GET {
            return respond(StatusCode::METHOD_NOT_ALLOWED, "read an egress topic with GET /{topic}\n");
        }
        let topic = request.uri().path().trim_start_matches('/');
        let Ok(handle) = self.handle.log().topic(topic) else {
            return respond(StatusCode::NOT_FOUND, format!("no egress topic `{topic}` (yet)\n"));
        };
        let partitions = match handle.partitions() {
            Ok(partitions) => partitions,
            Err(error) => return respond(StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")),
        };
        let mut next = self.next.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let positions = next
            .entry(topic.to_owned())
            .or_insert_with(|| partitions.iter().map(|partition| partition.start_offset()).collect());
        for (partition, position) in partitions.iter().zip(positions.iter_mut()) {
            if *position >= partition.committed_end() {
                continue;
            }
            let batches = match partition.read(*position, 64 << 10) {
                Ok(batches) => batches,
                Err(error) => return respond(StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")),
            };
            if let Some(record) =
                batches.iter().flat_map(|batch| batch.records()).find(|r| r.offset >= *position)
            {
                *position = record.offset + 1;
                return respond(StatusCode::OK, Bytes::copy_from_slice(record.value));
            }
        }
        respond(StatusCode::NO_CONTENT, "")
    }
}
