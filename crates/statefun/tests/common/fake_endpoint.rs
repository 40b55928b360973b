//! A minimal HTTP endpoint in the test process, answering as each test scripts it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// How the endpoint answers one request.
pub enum Answer {
    /// This status, empty body.
    Status(u16),
    /// 200 with these bytes.
    Body(Vec<u8>),
    /// Wait, then answer.
    After(Duration, Box<Answer>),
}

/// The script: attempt number (from 1) and the request body → the answer.
pub type Script = Arc<dyn Fn(usize, &[u8]) -> Answer + Send + Sync>;

/// What the endpoint saw.
#[derive(Default)]
pub struct Seen {
    pub requests: AtomicUsize,
    pub concurrent: AtomicUsize,
    pub max_concurrent: AtomicUsize,
    pub http2: AtomicUsize,
    pub bad_requests: AtomicUsize,
}

/// A running endpoint.
pub struct FakeEndpoint {
    pub address: SocketAddr,
    pub seen: Arc<Seen>,
}

impl FakeEndpoint {
    /// The URL of the endpoint.
    pub fn url(&self) -> String {
        format!("http://{}/fn", self.address)
    }

    /// Serves `script` over HTTP/1.1, or HTTP/2 with prior knowledge when `http2`.
    pub async fn start(http2: bool, script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let address = listener.local_addr().expect("a bound address");
        let seen = Arc::new(Seen::default());
        let shared = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (seen, script) = (shared.clone(), script.clone());
                let service = service_fn(move |request: Request<Incoming>| {
                    let (seen, script) = (seen.clone(), script.clone());
                    async move { Ok::<_, Infallible>(answer(&seen, &script, request).await) }
                });
                tokio::spawn(async move {
                    let io = TokioIo::new(stream);
                    if http2 {
                        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                            .serve_connection(io, service)
                            .await;
                    } else {
                        let _ =
                            hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                    }
                });
            }
        });
        Self { address, seen }
    }
}

async fn answer(seen: &Seen, script: &Script, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let attempt = seen.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let now = seen.concurrent.fetch_add(1, Ordering::SeqCst) + 1;
    seen.max_concurrent.fetch_max(now, Ordering::SeqCst);
    if request.version() == Version::HTTP_2 {
        seen.http2.fetch_add(1, Ordering::SeqCst);
    }
    let content_type = request.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if request.method() != hyper::Method::POST || content_type != "application/octet-stream" {
        seen.bad_requests.fetch_add(1, Ordering::SeqCst);
    }
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let mut answer = script(attempt, &body);
    while let Answer::After(wait, then) = answer {
        tokio::time::sleep(wait).await;
        answer = *then;
    }
    seen.concurrent.fetch_sub(1, Ordering::SeqCst);
    match answer {
        Answer::Status(status) => {
            Response::builder().status(status).body(Full::new(Bytes::new())).expect("a valid status")
        }
        Answer::Body(bytes) => Response::builder()
            .header("content-type", "application/octet-stream")
            .body(Full::new(Bytes::from(bytes)))
            .expect("a valid response"),
        Answer::After(..) => unreachable!(),
    }
}
