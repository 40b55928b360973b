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
                return Err(Error::Locked { lock_file: path, pid: holder_pid(&mut file) });
            }
            Err(TryLockError::Error(source)) => return Err(Error::Io { path, source }),
        }
        file.set_len(0).map_err(Error::io(&path))?;
        file.rewind().map_err(Error::io(&path))?;
        write!(file, "{}", std::process::id()).map_err(Error::io(&path))?;
        Ok(DirLock { _file: file })
    }
}

/// Reads the pid the holder wrote. The holder writes it just after taking the lock, so an
/// empty file is read again a few times before giving up.
fn holder_pid(file: &mut File) -> String {
    for _ in 0..20 {
        let mut pid = String::new();
        if file.rewind().is_ok() && file.read_to_string(&mut pid).is_ok() && !pid.trim().is_empty() {
            return pid.trim().to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    "unknown".to_owned()
}
