//! Listening on `<data-dir>/eddy.sock`: binding (replacing a stale socket file), the accept
//! thread, one thread per connection, and shutdown.

use std::{
    fs::File,
    io,
    net::Shutdown,
    os::unix::{
        fs::MetadataExt,
        io::AsRawFd,
        net::{UnixListener, UnixStream},
    },
    panic::AssertUnwindSafe,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    thread::{self, JoinHandle},
};

use super::{Backend, Error, Result, connection::serve_connection, frame, socket_path, wire::Reply};

/// More simultaneous connections than this are turned away with an error.
const MAX_CONNECTIONS: usize = 256;
/// A socket path at least this long is reached through `/proc/self/fd` (the limit of a
/// Unix socket address is 108 bytes, terminator included).
const MAX_DIRECT_PATH: usize = 100;

/// A running local server. Stops (closing every connection and removing the socket file)
/// on [`shutdown`](Self::shutdown) or when dropped.
#[derive(Debug)]
pub struct LocalServer {
    path: PathBuf,
    /// Device and inode of the socket file we bound, so we never remove another's.
    identity: (u64, u64),
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    stopping: AtomicBool,
    next_id: AtomicU64,
    connections: Mutex<Vec<Tracked>>,
    panics: AtomicUsize,
}

impl Shared {
    fn connections(&self) -> MutexGuard<'_, Vec<Tracked>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A connection being served.
#[derive(Debug)]
struct Tracked {
    id: u64,
    /// A handle on its socket, to cut it at shutdown.
    stream: UnixStream,
    thread: Option<JoinHandle<()>>,
}

/// Serves the data directory `data_dir` to local clients over `<data-dir>/eddy.sock`,
/// using `backend` for everything. The caller must hold the data directory (its log's
/// lock): that is what makes replacing a stale socket file safe.
///
/// # Errors
/// [`Error::AlreadyServed`] if a live process answers on the socket; [`Error::Bind`] if
/// the socket cannot be created.
pub fn serve(data_dir: impl AsRef<Path>, backend: Arc<dyn Backend>) -> Result<LocalServer> {
    let path = socket_path(data_dir.as_ref());
    let listener = bind(&path)?;
    let identity = identity(&path).map_err(bind_error(&path))?;
    let shared = Arc::new(Shared::default());
    let accept = {
        let shared = Arc::clone(&shared);
        thread::Builder::new()
            .name("eddy-local-accept".into())
            .spawn(move || accept_loop(&listener, &shared, &backend))
            .map_err(bind_error(&path))?
    };
    tracing::debug!(path = %path.display(), "serving local clients");
    Ok(LocalServer { path, identity, shared, accept: Some(accept) })
}

impl LocalServer {
    /// The socket file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Clients connected right now.
    pub fn connections(&self) -> usize {
        self.shared.connections().len()
    }

    /// Stops listening, closes every connection, waits for their threads and removes the
    /// socket file.
    ///
    /// # Errors
    /// [`Error::Panicked`] if connection threads panicked while the server ran.
    pub fn shutdown(mut self) -> Result<()> {
        self.stop();
        match self.shared.panics.load(Ordering::Relaxed) {
            0 => Ok(()),
            n => Err(Error::Panicked(n)),
        }
    }

    fn stop(&mut self) {
        let Some(accept) = self.accept.take() else { return };
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept thread with a connection of our own; if that fails the thread is
        // left blocked in accept, harmless but not joined.
        if at_short_path(&self.path, |p| UnixStream::connect(p)).is_ok() {
            let _ = accept.join();
        }
        let connections = std::mem::take(&mut *self.shared.connections());
        for connection in &connections {
            let _ = connection.stream.shutdown(Shutdown::Both);
        }
        for mut connection in connections {
            if let Some(thread) = connection.thread.take() {
                let _ = thread.join();
            }
        }
        if identity(&self.path).is_ok_and(|id| id == self.identity) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Binds the socket, replacing a socket file that no process listens on any more.
fn bind(path: &Path) -> Result<UnixListener> {
    match at_short_path(path, |p| UnixListener::bind(p)) {
        Ok(listener) => return Ok(listener),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {}
        Err(e) => return Err(bind_error(path)(e)),
    }
    if at_short_path(path, |p| UnixStream::connect(p)).is_ok() {
        return Err(Error::AlreadyServed { path: path.to_owned() });
    }
    tracing::debug!(path = %path.display(), "replacing a stale socket file");
    std::fs::remove_file(path).map_err(bind_error(path))?;
    at_short_path(path, |p| UnixListener::bind(p)).map_err(bind_error(path))
}

fn bind_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |e| Error::Bind { path: path.to_owned(), reason: e.to_string() }
}

fn identity(path: &Path) -> io::Result<(u64, u64)> {
    let metadata = std::fs::symlink_metadata(path)?;
    Ok((metadata.dev(), metadata.ino()))
}

/// Runs `op` on `path`, or, when `path` is too long for a socket address, on the same
/// file reached through `/proc/self/fd/<fd of its directory>`.
pub(crate) fn at_short_path<T>(path: &Path, op: impl FnOnce(&Path) -> io::Result<T>) -> io::Result<T> {
    if path.as_os_str().len() < MAX_DIRECT_PATH {
        return op(path);
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return op(path) };
    let dir = File::open(dir)?;
    op(&Path::new("/proc/self/fd").join(dir.as_raw_fd().to_string()).join(name))
}

fn accept_loop(listener: &UnixListener, shared: &Arc<Shared>, backend: &Arc<dyn Backend>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        match stream {
            Ok(stream) => start_connection(stream, shared, backend),
            Err(error) => {
                tracing::warn!(%error, "cannot accept a local connection");
                // Out of file descriptors, most likely: give connections time to end.
                thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}

fn start_connection(mut stream: UnixStream, shared: &Arc<Shared>, backend: &Arc<dyn Backend>) {
    let mut connections = shared.connections();
    if connections.len() >= MAX_CONNECTIONS {
        drop(connections);
        let message = format!("too many connections (the limit is {MAX_CONNECTIONS}); try again later");
        let _ = frame::write_json(&mut stream, &Reply::Error { message });
        return;
    }
    let Ok(handle) = stream.try_clone() else { return };
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let thread = {
        let shared = Arc::clone(shared);
        let backend = Arc::clone(backend);
        thread::Builder::new().name("eddy-local-conn".into()).spawn(move || {
            let served = std::panic::catch_unwind(AssertUnwindSafe(|| serve_connection(stream, &*backend)));
            if served.is_err() {
                shared.panics.fetch_add(1, Ordering::Relaxed);
            }
            shared.connections().retain(|c| c.id != id);
        })
    };
    match thread {
        Ok(thread) => connections.push(Tracked { id, stream: handle, thread: Some(thread) }),
        Err(error) => tracing::warn!(%error, "cannot start a thread for a local connection"),
    }
}
