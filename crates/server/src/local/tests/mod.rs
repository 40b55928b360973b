//! Protocol tests: a server with the test backend and clients over a real socket.

mod broken_input;
mod lifecycle;
mod round_trips;

use std::{
    io::{Read, Write},
    os::unix::net::UnixStream,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use tempfile::TempDir;

use super::{
    Client, LocalServer,
    frame::{self, Kind},
    serve,
    testing::LogBackend,
    wire::{Reply, Request},
};

/// A served data directory.
struct Served {
    dir: TempDir,
    backend: Arc<LogBackend>,
    server: Option<LocalServer>,
}

impl Served {
    fn new() -> Served {
        let dir = tempfile::tempdir().unwrap();
        let backend = Arc::new(LogBackend::open(dir.path()).unwrap());
        let server = serve(dir.path(), backend.clone()).unwrap();
        Served { dir, backend, server: Some(server) }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn server(&self) -> &LocalServer {
        self.server.as_ref().unwrap()
    }

    fn client(&self) -> Client {
        Client::connect(self.path()).unwrap().expect("the server answers")
    }

    /// Stops the server, failing the test if a connection thread panicked.
    fn shutdown(mut self) {
        self.server.take().unwrap().shutdown().unwrap();
    }

    /// Waits until the server has `n` connections.
    fn wait_for_connections(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.server().connections() != n {
            assert!(Instant::now() < deadline, "{} connections, expected {n}", self.server().connections());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A raw connection, with the handshake done if `hello`.
    fn raw(&self, hello: bool) -> UnixStream {
        let mut stream = UnixStream::connect(self.path().join("eddy.sock")).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        if hello {
            frame::write_json(&mut stream, &Request::Hello { version: super::PROTOCOL_VERSION }).unwrap();
            assert!(matches!(read_reply(&mut stream), Some(Reply::Hello { .. })));
        }
        stream
    }
}

/// The next JSON reply on a raw connection; `None` once it is closed.
fn read_reply(stream: &mut UnixStream) -> Option<Reply> {
    loop {
        match frame::read_frame(stream) {
            Ok(Some(frame)) if frame.kind == Kind::Json => {
                return Some(serde_json::from_slice(&frame.body).unwrap());
            }
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => return None,
        }
    }
}

/// Writes `bytes` (the server may close the connection before taking them all).
fn write_raw(stream: &mut UnixStream, bytes: &[u8]) {
    let _ = stream.write_all(bytes);
}

/// Reads what is left on a connection until it closes.
fn drain(stream: &mut UnixStream) -> Vec<u8> {
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    rest
}

/// A frame of `kind` around `body`.
fn raw_frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut bytes = ((body.len() + 1) as u32).to_le_bytes().to_vec();
    bytes.push(kind);
    bytes.extend_from_slice(body);
    bytes
}
