//! The log: a data directory of topics.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::{SystemTime, UNIX_EPOCH},
};

use eddy_types::TopicName;

use crate::{
    Error, Options, Result, TopicConfig,
    lock::DirLock,
    partition::sync_dir,
    topic::{CONFIG_FILE, Topic},
};

/// Prefix of directories being created or deleted; never a valid topic name.
const TEMP_PREFIX: &str = ".tmp-";

/// An open log directory:
///
/// ```text
/// <dir>/LOCK                                   held by the owning process (holds its pid)
/// <dir>/topics/<topic>/topic.json              TopicConfig
/// <dir>/topics/<topic>/<partition>/checkpoint  durable position of the active segment
/// <dir>/topics/<topic>/<partition>/<base>.log  segments, <base> = first offset, 20 digits
/// <dir>/topics/<topic>/<partition>/<base>.index  sparse index of a sealed segment
/// ```
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    options: Options,
    topics: RwLock<BTreeMap<TopicName, Arc<Topic>>>,
    _lock: DirLock,
}

impl Log {
    /// Opens (creating if needed) the log in `dir` and takes exclusive ownership of it.
    /// Topics' partitions are recovered lazily, when first used.
    ///
    /// # Errors
    /// [`Error::Locked`] if another process has it open; [`Error::Io`] if it cannot be
    /// created or read; [`Error::Corruption`] for an unreadable topic config.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Log> {
        let dir = dir.as_ref().to_owned();
        std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        let lock = DirLock::acquire(&dir)?;
        let topics_dir = dir.join("topics");
        std::fs::create_dir_all(&topics_dir).map_err(Error::io(&topics_dir))?;
        let mut topics = BTreeMap::new();
        for entry in std::fs::read_dir(&topics_dir).map_err(Error::io(&topics_dir))? {
            let entry = entry.map_err(Error::io(&topics_dir))?;
            let path = entry.path();
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else { continue };
            if name.starts_with(TEMP_PREFIX) {
                // Left by a crash during create or delete.
                std::fs::remove_dir_all(&path).map_err(Error::io(&path))?;
                continue;
            }
            let Ok(topic_name) = TopicName::new(name) else {
                tracing::warn!(path = %path.display(), "ignoring directory that is not a topic");
                continue;
            };
            if !path.join(CONFIG_FILE).exists() {
                tracing::warn!(path = %path.display(), "ignoring topic directory without {CONFIG_FILE}");
                continue;
            }
            let topic = Topic::load(topic_name.clone(), path, options.clone())?;
            topics.insert(topic_name, Arc::new(topic));
        }
        Ok(Log { dir, options, topics: RwLock::new(topics), _lock: lock })
    }

    /// The directory the log lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn topics_dir(&self) -> PathBuf {
        self.dir.join("topics")
    }

    /// Creates a topic.
    ///
    /// # Errors
    /// [`Error::TopicExists`]; [`Error::InvalidConfig`]; I/O errors.
    pub fn create_topic(&self, name: &TopicName, config: TopicConfig) -> Result<Arc<Topic>> {
        config.validate()?;
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        if topics.contains_key(name) {
            return Err(Error::TopicExists(name.to_string()));
        }
        let topics_dir = self.topics_dir();
        let final_dir = topics_dir.join(name.as_str());
        let temp_dir = topics_dir.join(format!("{TEMP_PREFIX}create-{name}-{}", unique_suffix()));
        std::fs::create_dir_all(&temp_dir).map_err(Error::io(&temp_dir))?;
        let config_path = temp_dir.join(CONFIG_FILE);
        let json = serde_json::to_vec_pretty(&config).expect("topic config serializes");
        std::fs::write(&config_path, json).map_err(Error::io(&config_path))?;
        std::fs::File::open(&config_path).and_then(|f| f.sync_all()).map_err(Error::io(&config_path))?;
        std::fs::rename(&temp_dir, &final_dir).map_err(Error::io(&final_dir))?;
        sync_dir(&topics_dir)?;
        let topic = Arc::new(Topic::new(name.clone(), final_dir, config, self.options.clone()));
        topics.insert(name.clone(), Arc::clone(&topic));
        Ok(topic)
    }

    /// The topic called `name`.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`].
    pub fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        let found = TopicName::new(name).ok().and_then(|n| topics.get(&n).cloned());
        found.ok_or_else(|| Error::UnknownTopic(name.to_owned()))
    }

    /// All topics, ordered by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.topics.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    /// Deletes a topic and all its data. Handles to it held elsewhere must not be used
    /// afterwards.
    ///
    /// # Errors
    /// [`Error::UnknownTopic`]; I/O errors.
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        let topic_name = TopicName::new(name).map_err(|_| Error::UnknownTopic(name.to_owned()))?;
        let topic = topics.remove(&topic_name).ok_or_else(|| Error::UnknownTopic(name.to_owned()))?;
        // Rename first: a crash mid-delete leaves a temp directory that the next open removes.
        let doomed = self.topics_dir().join(format!("{TEMP_PREFIX}delete-{name}-{}", unique_suffix()));
        std::fs::rename(topic.dir(), &doomed).map_err(Error::io(topic.dir()))?;
        sync_dir(&self.topics_dir())?;
        std::fs::remove_dir_all(&doomed).map_err(Error::io(&doomed))
    }

    /// Commits and fsyncs every opened partition of every topic.
    ///
    /// # Errors
    /// I/O errors.
    pub fn sync(&self) -> Result<()> {
        for topic in self.topics() {
            topic.sync()?;
        }
        Ok(())
    }
}

fn unique_suffix() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}
