//! Metrics for Prometheus: `GET /metrics` over HTTP/1.1 on an address of the user's choice
//! (`eddy run --metrics-addr`), answered with whatever text the running process renders at
//! that moment. A thread of its own runs the server (a one-thread tokio runtime with hyper),
//! so it never competes with the engine's workers or the functions' loop.
//!
//! ```
//! use std::sync::Arc;
//!
//! let server = eddy_server::metrics::serve(
//!     "127.0.0.1:0".parse().unwrap(),
//!     Arc::new(|| "up 1\n# EOF\n".to_owned()),
//! )
//! .unwrap();
//! println!("metrics at http://{}/metrics", server.addr());
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

/// The content type of the text served: the OpenMetrics text format, which Prometheus reads.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Renders the metrics text, once per scrape.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// A running metrics server; dropping it stops it.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl MetricsServer {
    /// The address it listens on (the port chosen when `:0` was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Listens on `addr` and answers `GET /metrics` with `render()` ([`OPENMETRICS`]), anything
/// else with 404.
///
/// # Errors
/// The address cannot be listened on, or the server's thread cannot start.
pub fn serve(addr: SocketAddr, render: Render) -> std::io::Result<MetricsServer> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    let (stop, mut stopped) = watch::channel(false);
    std::thread::Builder::new().name("eddy-metrics".to_owned()).spawn(move || {
        runtime.block_on(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "metrics: cannot listen");
                    return;
                }
            };
            loop {
                let stream = tokio::select! {
                    _ = stopped.changed() => return,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(error) => {
                            tracing::warn!(%error, "metrics: cannot accept a connection");
                            continue;
                        }
                    },
                };
                let render = Arc::clone(&render);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                        let response = answer(&request, &render);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    if let Err(error) = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                    {
                        tracing::debug!(%error, "metrics: connection ended");
                    }
                });
            }
        });
    })?;
    Ok(MetricsServer { addr, stop })
}

fn answer(request: &Request<Incoming>, render: &Render) -> Response<Full<Bytes>> {
    if request.method() != Method::GET || request.uri().path() != "/metrics" {
        let mut response = Response::new(Full::new(Bytes::from_static(b"metrics are at GET /metrics\n")));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    }
    let mut response = Response::new(Full::new(Bytes::from(render())));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS));
    response
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: eddy\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn metrics_are_rendered_per_scrape_and_other_paths_are_not_found() {
        let scrapes = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = Arc::clone(&scrapes);
        let render: Render = Arc::new(move || {
            let n = counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            format!("scrapes_total {n}\n# EOF\n")
        });
        let server = serve("127.0.0.1:0".parse().unwrap(), render).unwrap();
        let first = get(server.addr(), "/metrics");
        assert!(first.starts_with("HTTP/1.1 200 OK"), "{first}");
        assert!(first.contains(OPENMETRICS), "{first}");
        assert!(first.ends_with("scrapes_total 1\n# EOF\n"), "{first}");
        assert!(get(server.addr(), "/metrics").ends_with("scrapes_total 2\n# EOF\n"));
        assert!(get(server.addr(), "/").starts_with("HTTP/1.1 404"));
        let addr = server.addr();
        drop(server);
        // Stopping is asynchronous: the listener closes soon after.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_ok() {
            assert!(std::time::Instant::now() < deadline, "still listening after drop");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
