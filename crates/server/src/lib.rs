//! Eddy's serving side: [`local`], the protocol that lets `eddy` commands (produce,
//! consume, topic admin, state queries) run against a data directory that a long-running
//! process (`eddy run`) holds, over a Unix domain socket in that directory; and [`metrics`],
//! `GET /metrics` for Prometheus.
//!
//! It is not the HTTP API (that comes with `eddy serve`) and holds no engine: the running
//! process plugs its engine in through [`local::Backend`].
//!
//! ```
//! use std::sync::Arc;
//!
//! use eddy_server::local::{self, Client, testing::LogBackend};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let backend = Arc::new(LogBackend::open(dir.path()).unwrap());
//! let server = local::serve(dir.path(), backend).unwrap();
//!
//! let mut client = Client::connect(dir.path()).unwrap().expect("the server answers");
//! assert!(client.topics().unwrap().is_empty());
//! drop(client);
//! server.shutdown().unwrap();
//! assert!(Client::connect(dir.path()).unwrap().is_none());
//! ```

pub mod local;
pub mod metrics;
