//! A topic: a name, its settings and its partitions, each opened on first use.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use eddy_types::{PartitionId, Timestamp, TopicName};

use crate::{
    Error, Options, Result, TopicConfig,
    partition::{Partition, PartitionSettings, RetentionOutcome},
};

/// File holding a topic's [`TopicConfig`] as JSON.
pub(crate) const CONFIG_FILE: &str = "topic.json";

/// A topic of the log. Partitions are opened (and recovered) lazily, so listing topics
/// touches only their config files.
#[derive(Debug)]
pub struct Topic {
    name: TopicName,
    dir: PathBuf,
    config: TopicConfig,
    options: Options,
    partitions: Vec<Mutex<Option<Arc<Partition>>>>,
}

impl Topic {
    pub(crate) fn new(name: TopicName, dir: PathBuf, config: TopicConfig, options: Options) -> Topic {
        let partitions = (0..config.partitions).map(|_| Mutex::new(None)).collect();
        Topic { name, dir, config, options, partitions }
    }

    /// Reads the topic stored in `dir`.
    pub(crate) fn load(name: TopicName, dir: PathBuf, options: Options) -> Result<Topic> {
        let path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
        let config: TopicConfig = serde_json::from_str(&text).map_err(|e| Error::Corruption {
            file: path.clone(),
            offset: 0,
            reason: format!("unreadable topic config: {e}"),
        })?;
        config.validate().map_err(|e| Error::Corruption { file: path, offset: 0, reason: e.to_string() })?;
        Ok(Topic::new(name, dir, config, options))
    }

    /// The topic's name.
    pub fn name(&self) -> &TopicName {
        &self.name
    }

    /// The topic's settings.
    pub fn config(&self) -> &TopicConfig {
        &self.config
    }

    /// Number of partitions.
    pub fn partition_count(&self) -> u32 {
        self.config.partitions
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Partition `id`, opening and recovering it on first use.
    ///
    /// # Errors
    /// [`Error::UnknownPartition`] for an id out of range; errors of recovery.
    pub fn partition(&self, id: PartitionId) -> Result<Arc<Partition>> {
        let slot = self.partitions.get(id as usize).ok_or_else(|| Error::UnknownPartition {
            topic: self.name.to_string(),
            partition: id,
            count: self.config.partitions,
        })?;
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(partition) = slot.as_ref() {
            return Ok(Arc::clone(partition));
        }
        let settings = PartitionSettings {
            fsync: self.options.fsync,
            segment_bytes: self.config.segment_bytes.unwrap_or(self.options.segment_bytes),
            index_interval_bytes: self.options.index_interval_bytes,
            retention_time: self.config.retention_time,
            retention_bytes: self.config.retention_bytes,
        };
        let partition =
            Arc::new(Partition::open(self.name.as_str(), id, &self.dir.join(id.to_string()), settings)?);
        *slot = Some(Arc::clone(&partition));
        Ok(partition)
    }

    /// All partitions, in order, opening them as needed.
    ///
    /// # Errors
    /// Errors of recovery.
    pub fn partitions(&self) -> Result<Vec<Arc<Partition>>> {
        (0..self.config.partitions).map(|id| self.partition(id)).collect()
    }

    /// Bytes used by the topic's files, without opening its partitions.
    pub fn disk_usage(&self) -> u64 {
        fn walk(dir: &Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&self.dir)
    }

    /// Applies retention to every partition.
    ///
    /// # Errors
    /// I/O errors.
    pub fn enforce_retention(&self, now: Timestamp) -> Result<RetentionOutcome> {
        let mut total = RetentionOutcome::default();
        for partition in self.partitions()? {
            let outcome = partition.enforce_retention(now)?;
            total.segments_removed += outcome.segments_removed;
            total.bytes_removed += outcome.bytes_removed;
        }
        Ok(total)
    }

    /// Commits and fsyncs every opened partition.
    ///
    /// # Errors
    /// I/O errors.
    pub fn sync(&self) -> Result<()> {
        for slot in &self.partitions {
            let partition = slot.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(partition) = partition {
                partition.commit()?;
                partition.sync()?;
            }
        }
        Ok(())
    }
}
