//! Plugin files pinned by content hash (`plugin: {name, sha256}`), kept by that hash: in
//! memory for the process's life, and on disk under `<cache dir>/plugin-files/<sha256>.wasm`
//! so a restart needs no fetch. Every file is checked against its hash on the way in (a
//! fetched file) and on the way out of the disk (a file damaged on disk is deleted and
//! fetched again), so the bytes handed to the registry are always the pinned ones.
//!
//! Written by the fetcher (`providers::plugin_fetch`), read by `app::pins` at config time
//! (start-up and reload); never on the request path. A disk write is a temp file and a rename,
//! so a reader never sees half a file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// The name of the sub-directory of the cache directory that holds pinned files.
pub const PINNED_FILES_DIR: &str = "plugin-files";

/// Why a file was not taken.
#[derive(Debug, thiserror::Error)]
pub enum PinnedFileError {
    /// The bytes do not have the pinned hash.
    #[error("its content hash is {actual}, not the pinned {pinned}")]
    Mismatch { pinned: String, actual: String },
}

/// Pinned plugin files by hex SHA-256.
pub struct PinnedFiles {
    dir: Option<PathBuf>,
    memory: Mutex<BTreeMap<String, Arc<[u8]>>>,
}

impl PinnedFiles {
    /// Files kept in memory, and in `dir` when given (created on the first write).
    pub fn new(dir: Option<PathBuf>) -> PinnedFiles {
        PinnedFiles {
            dir,
            memory: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<[u8]>>> {
        // Single inserts only: a panic cannot leave the map half-written.
        self.memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The file pinned to `sha256` (lowercase hex), when it is here. Cost: a map lookup, or
    /// the first time after a restart a disk read and a hash of the file.
    pub fn get(&self, sha256: &str) -> Option<Arc<[u8]>> {
        if let Some(bytes) = self.lock().get(sha256) {
            return Some(bytes.clone());
        }
        let path = self.path_of(sha256)?;
        let bytes = std::fs::read(&path).ok()?;
        if hex_sha256(&bytes) != sha256 {
            tracing::warn!(
                file = %path.display(),
                "a cached plugin file does not match its hash; deleted, it will be fetched again"
            );
            let _ = std::fs::remove_file(&path);
            return None;
        }
        let bytes: Arc<[u8]> = Arc::from(bytes);
        self.lock().insert(sha256.to_string(), bytes.clone());
        Some(bytes)
    }

    /// Whether the file pinned to `sha256` is here (see [`Self::get`]).
    pub fn contains(&self, sha256: &str) -> bool {
        self.get(sha256).is_some()
    }

    /// Keeps `bytes` as the file pinned to `sha256` once they are checked against it. A disk
    /// that cannot be written is logged: the file is then kept in memory only.
    ///
    /// # Errors
    /// [`PinnedFileError::Mismatch`] when the bytes have another hash (nothing is kept).
    pub fn put(&self, sha256: &str, bytes: Vec<u8>) -> Result<(), PinnedFileError> {
        let actual = hex_sha256(&bytes);
        if actual != sha256 {
            return Err(PinnedFileError::Mismatch {
                pinned: sha256.to_string(),
                actual,
            });
        }
        if let Some(path) = self.path_of(sha256)
            && let Err(e) = write_whole(&path, &bytes)
        {
            tracing::warn!(file = %path.display(), "cannot cache a plugin file on disk: {e}");
        }
        self.lock().insert(sha256.to_string(), Arc::from(bytes));
        Ok(())
    }

    /// `<dir>/<sha256>.wasm`; `None` without a directory or for a name that is not a hash (it
    /// would otherwise name a path outside the directory).
    fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let is_hash = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        is_hash.then(|| dir.join(format!("{sha256}.wasm")))
    }
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `bytes` to `path` through a temp file in the same directory and a rename.
fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("plugin"),
        std::process::id()
    ));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_kept_only_under_its_own_hash_and_survives_on_disk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = PinnedFiles::new(Some(dir.path().to_path_buf()));
        let bytes = b"\0asm plugin bytes".to_vec();
        let hash = hex_sha256(&bytes);
        let other = hex_sha256(b"something else");
        assert!(matches!(
            files.put(&other, bytes.clone()),
            Err(PinnedFileError::Mismatch { .. })
        ));
        assert!(!files.contains(&other));
        files
            .put(&hash, bytes.clone())
            .expect("matching bytes are kept");
        // A new process (a new store over the same directory) finds it on disk.
        let again = PinnedFiles::new(Some(dir.path().to_path_buf()));
        assert_eq!(again.get(&hash).as_deref(), Some(bytes.as_slice()));
        // Damaged on disk: refused and deleted.
        std::fs::write(dir.path().join(format!("{hash}.wasm")), b"damaged").expect("write");
        let third = PinnedFiles::new(Some(dir.path().to_path_buf()));
        assert!(third.get(&hash).is_none());
        assert!(!dir.path().join(format!("{hash}.wasm")).exists());
    }
}
