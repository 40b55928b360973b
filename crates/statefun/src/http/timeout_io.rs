//! Read and write timeouts on a connection: [`TimeoutIo`] fails a read or write that makes no
//! progress for longer than its limit, and [`TimeoutConnector`] wraps every new connection in it.
//!
//! The read clock restarts whenever bytes are read or written, so a pooled connection that has
//! been idle does not fail the next request the moment it is reused; an idle connection whose
//! read clock runs out is closed and leaves the pool.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// A clock that starts when an operation first waits and fires after `limit`.
struct Deadline {
    limit: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Deadline {
    fn new(limit: Duration) -> Self {
        Self { limit, sleep: None }
    }

    fn reset(&mut self) {
        self.sleep = None;
    }

    /// Restarts a running clock from now, keeping the wake-up it registered: the operation
    /// that started it may not be polled again before the clock runs out.
    fn restart(&mut self) {
        if let Some(sleep) = &mut self.sleep {
            sleep.as_mut().reset(Instant::now() + self.limit);
        }
    }

    /// Starts the clock if it is not running; whether it has run out.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let limit = self.limit;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if sleep.as_mut().poll(cx).is_ready() {
            self.sleep = None;
            return true;
        }
        false
    }
}

/// A connection whose reads and writes time out.
pub(super) struct TimeoutIo<T> {
    inner: T,
    read: Deadline,
    write: Deadline,
}

impl<T> TimeoutIo<T> {
    fn new(inner: T, read: Duration, write: Duration) -> Self {
        Self { inner, read: Deadline::new(read), write: Deadline::new(write) }
    }
}

fn stalled(what: &str, limit: Duration) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("no {what} progress for {limit:?} ({what} timeout)"))
}

impl<T: Read + Unpin> Read for TimeoutIo<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: ReadBufCursor<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                this.read.reset();
                Poll::Ready(result)
            }
            Poll::Pending if this.read.poll_expired(cx) => Poll::Ready(Err(stalled("read", this.read.limit))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: Write + Unpin> TimeoutIo<T> {
    /// Bytes written start a new exchange: the wait for its reply starts now. (Flushes do
    /// not count: they succeed whenever the connection is polled, even when idle.)
    fn restart_read_clock_after(&mut self, written: &Poll<io::Result<usize>>) {
        if matches!(written, Poll::Ready(Ok(n)) if *n > 0) {
            self.read.restart();
        }
    }

    /// Runs a write-side operation under the write clock.
    fn poll_writing<R>(
        &mut self,
        cx: &mut Context<'_>,
        operation: impl FnOnce(Pin<&mut T>, &mut Context<'_>) -> Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        match operation(Pin::new(&mut self.inner), cx) {
            Poll::Ready(result) => {
                self.write.reset();
                Poll::Ready(result)
            }
            Poll::Pending if self.write.poll_expired(cx) => {
                Poll::Ready(Err(stalled("write", self.write.limit)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: Write + Unpin> Write for TimeoutIo<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = this.poll_writing(cx, |inner, cx| inner.poll_write(cx, buf));
        this.restart_read_clock_after(&written);
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_writing(cx, |inner, cx| inner.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = this.poll_writing(cx, |inner, cx| inner.poll_write_vectored(cx, bufs));
        this.restart_read_clock_after(&written);
        written
    }
}

impl<T: Connection> Connection for TimeoutIo<T> {
    fn connected(&self) -> Connected {
        self.inner.connected()
    }
}

/// Makes TCP connections (with the connect timeout) wrapped in [`TimeoutIo`].
#[derive(Clone)]
pub(super) struct TimeoutConnector {
    http: HttpConnector,
    read: Duration,
    write: Duration,
}

impl TimeoutConnector {
    pub(super) fn new(connect: Duration, read: Duration, write: Duration) -> Self {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(connect));
        http.set_nodelay(true);
        Self { http, read, write }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Uri> for TimeoutConnector {
    type Response = TimeoutIo<TokioIo<TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        tower_service::Service::<Uri>::poll_ready(&mut self.http, cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = tower_service::Service::call(&mut self.http, uri);
        let (read, write) = (self.read, self.write);
        Box::pin(async move {
            let stream = connecting.await.map_err(BoxError::from)?;
            Ok(TimeoutIo::new(stream, read, write))
        })
    }
}
