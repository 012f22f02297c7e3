//! The data dir's lock: one server per dir, because two writers appending to the same segments
//! would interleave records and both stamp the same seqs.
//!
//! On Unix it is `flock(2)` on `DIR/lock`, which the kernel drops when the process dies however it
//! dies, so a `kill -9` never leaves the dir locked. Elsewhere the file is created exclusively and
//! removed on drop; after a crash the message says to remove it.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::DiskError;

/// Held for as long as the store is open.
#[derive(Debug)]
pub(crate) struct DirLock {
    path: PathBuf,
    file: File,
}

impl DirLock {
    /// Takes the lock of `dir`, or says who has it.
    pub(crate) fn take(dir: &Path) -> Result<DirLock, DiskError> {
        let path = dir.join("lock");
        let file = open(&path)?;
        Ok(DirLock { path, file })
    }

    /// Whether the lock file in the dir is still the one held: not when the dir was removed (and
    /// perhaps made again) under the server, which leaves the lock on a file nobody can find.
    pub(crate) fn still_held(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            match (std::fs::metadata(&self.path), self.file.metadata()) {
                (Ok(in_dir), Ok(held)) => in_dir.dev() == held.dev() && in_dir.ino() == held.ino(),
                _ => false,
            }
        }
        #[cfg(not(unix))]
        self.path.exists()
    }
}

#[cfg(unix)]
fn open(path: &Path) -> Result<File, DiskError> {
    use rustix::fs::{FlockOperation, flock};
    use std::io::Write;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| DiskError::io("create the lock file", path, e))?;
    if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
        return Err(DiskError::Locked {
            dir: path.parent().unwrap_or(path).to_owned(),
        });
    }
    // Who holds it, for a person looking at the dir; the lock itself is the flock.
    let _ = file.set_len(0);
    let _ = writeln!(&file, "{}", std::process::id());
    Ok(file)
}

#[cfg(not(unix))]
fn open(path: &Path) -> Result<File, DiskError> {
    match std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(path)
    {
        Ok(file) => Ok(file),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(DiskError::Locked {
            dir: path.parent().unwrap_or(path).to_owned(),
        }),
        Err(e) => Err(DiskError::io("create the lock file", path, e)),
    }
}

#[cfg(not(unix))]
impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
