//! The host: one wasmtime [`Engine`] shared by every component and worker thread, set up
//! for sandboxed calls (fuel, bounded stack) and, when asked, an on-disk cache of compiled
//! components.
//!
//! The cache is wasmtime's own: an entry is keyed by a SHA-256 of the component's bytes,
//! the wasmtime version and the engine's settings, so a changed component, a new Eddy build
//! or different settings compile afresh, and a second load of the same bytes only reads and
//! maps the compiled code. (Loading compiled code that did not come from this process is
//! an unsafe operation in wasmtime; its cache does it behind a safe API after checking the
//! key, which is why this crate does not keep a cache of its own.)

use std::path::Path;
use std::sync::Arc;

use wasmtime::{Cache, CacheConfig, Config, Engine};

use crate::component::Component;
use crate::error::{Error, Result};
use crate::options::Options;

/// Loads components. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

pub(crate) struct HostInner {
    pub(crate) engine: Engine,
    pub(crate) options: Options,
    cache: Option<Cache>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("options", &self.inner.options).finish_non_exhaustive()
    }
}

impl Host {
    /// A host with `options`.
    ///
    /// # Errors
    /// [`Error::Cache`] when the cache directory cannot be created or used;
    /// [`Error::Engine`] when wasmtime refuses the settings.
    pub fn new(options: Options) -> Result<Host> {
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .max_wasm_stack(options.max_wasm_stack)
            .wasm_component_model(true)
            // A failed record's reason is one line for the dead-letter topic, not a backtrace.
            .wasm_backtrace_max_frames(None);
        let cache = match &options.cache_dir {
            None => None,
            Some(dir) => Some(open_cache(dir)?),
        };
        config.cache(cache.clone());
        let engine = Engine::new(&config).map_err(|e| Error::Engine(format!("{e:#}")))?;
        Ok(Host { inner: Arc::new(HostInner { engine, options, cache }) })
    }

    /// Compiles (or fetches from the cache) the component in `bytes` and checks its imports.
    /// Operators are looked up on the result with [`Component::operator`].
    ///
    /// # Errors
    /// [`Error::Invalid`] for bytes that are not a component; [`Error::UnknownImport`] or
    /// [`Error::ImportMismatch`] for imports the host does not provide.
    pub fn load(&self, bytes: &[u8]) -> Result<Component> {
        Component::load(Arc::clone(&self.inner), bytes)
    }

    /// [`Host::load`] of the file at `path`.
    ///
    /// # Errors
    /// [`Error::Read`] if the file cannot be read, else as [`Host::load`].
    pub fn load_file(&self, path: &Path) -> Result<Component> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
        self.load(&bytes)
    }

    /// The host's settings.
    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    /// Loads served from the on-disk cache and loads that compiled, since this host started;
    /// `None` without a cache.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        let cache = self.inner.cache.as_ref()?;
        Some(CacheStats { hits: cache.cache_hits(), misses: cache.cache_misses() })
    }
}

/// Counts of the on-disk cache's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Loads that read compiled code from the cache.
    pub hits: usize,
    /// Loads that compiled (and then stored the result).
    pub misses: usize,
}

fn open_cache(dir: &Path) -> Result<Cache> {
    let failed = |reason: String| Error::Cache { dir: dir.to_owned(), reason };
    std::fs::create_dir_all(dir).map_err(|e| failed(e.to_string()))?;
    // wasmtime takes only an absolute directory; a data directory may be given relative.
    let absolute = std::path::absolute(dir).map_err(|e| failed(e.to_string()))?;
    let mut config = CacheConfig::new();
    config.with_directory(absolute);
    Cache::new(config).map_err(|e| failed(format!("{e:#}")))
}
