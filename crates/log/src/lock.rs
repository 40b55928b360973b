//! Exclusive ownership of a data directory by one process.

use std::{
    fs::{File, OpenOptions, TryLockError},
    io::{Read, Seek, Write},
    path::Path,
};

use crate::{Error, Result};

/// Holds an OS lock (`flock`) on `LOCK` in the data directory for as long as it lives. The
/// lock dies with the process, so a crash never leaves a stale lock behind.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    pub(crate) fn acquire(dir: &Path) -> Result<DirLock> {
        let path = dir.join("LOCK");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(Error::io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                let pid = if pid.is_empty() { "unknown".to_owned() } else { pid.to_owned() };
                return Err(Error::Locked { lock_file: path, pid });
            }
            Err(TryLockError::Error(source)) => return Err(Error::Io { path, source }),
        }
        file.set_len(0).map_err(Error::io(&path))?;
        file.rewind().map_err(Error::io(&path))?;
        write!(file, "{}", std::process::id()).map_err(Error::io(&path))?;
        Ok(DirLock { _file: file })
    }
}
