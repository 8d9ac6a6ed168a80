//! Compiled components kept on disk and mapped from there, so that a loaded plugin's machine code
//! costs resident memory only for the pages its calls touch.
//!
//! A component compiled in memory, or read back from wasmtime's cache (which reads the whole
//! entry into memory), holds all its machine code and metadata in anonymous memory: about 0.9 MB
//! per bundled plugin, 19 MB with every bundled plugin configured. Mapped from a file
//! (`Component::deserialize_file`), the same code is clean file-backed memory that the kernel
//! pages in on first use (a request path touches a small part of a plugin) and may drop again.
//!
//! Layout: `<dir>/<component sha256>-<engine fingerprint>.cwasm` and, beside it, `.sum` holding
//! the hex SHA-256 of the `.cwasm` as written. Both are written to temporary names and renamed
//! into place, never modified after: a running gateway keeps its mapping of the old inode when
//! another process replaces an entry. An entry whose checksum does not match, or that wasmtime
//! refuses (another wasmtime version or engine settings), is compiled again and replaced.
//!
//! Runs at config time only (start-up, reload, first use of a plugin). Cost on a hit: one read
//! of the entry to check its SHA-256 (~1 MB per plugin, through the page cache, not the
//! process's memory) and a `mmap`; on a miss: the compile, plus writing and mapping the entry.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Why the store was not used for one component (the caller then keeps the in-memory one).
#[derive(Debug, thiserror::Error)]
enum StoreError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("its SHA-256 does not match the sum written beside it")]
    Mismatch,
    #[error("{0}")]
    Wasmtime(String),
}

/// The component with content hash `hash` (hex SHA-256 of `bytes`): mapped from `dir` when a
/// matching entry is there, else compiled and written there, then mapped. Compile errors are
/// returned; a store that cannot be read or written only costs the mapping (logged at debug,
/// the in-memory component is returned).
pub fn load_or_compile(
    engine: &Engine,
    dir: Option<&Path>,
    hash: &str,
    bytes: &[u8],
) -> wasmtime::Result<Component> {
    let Some(dir) = dir else {
        return Component::new(engine, bytes);
    };
    let entry = dir.join(format!("{hash}-{}.cwasm", engine_fingerprint(engine)));
    match map_checked(engine, &entry) {
        Ok(Some(component)) => return Ok(component),
        Ok(None) => {}
        Err(e) => tracing::debug!(entry = %entry.display(), "compiled plugin entry not used: {e}"),
    }
    let component = Component::new(engine, bytes)?;
    match store(&component, dir, &entry).and_then(|()| map_checked(engine, &entry)) {
        Ok(Some(mapped)) => Ok(mapped),
        Ok(None) => Ok(component),
        Err(e) => {
            tracing::debug!(entry = %entry.display(), "compiled plugin kept in memory: {e}");
            Ok(component)
        }
    }
}

/// The entry mapped, if it exists and its checksum matches; `Err` when it exists but cannot be
/// used.
fn map_checked(engine: &Engine, entry: &Path) -> Result<Option<Component>, StoreError> {
    let sum_path = entry.with_extension("sum");
    let want = match std::fs::read_to_string(&sum_path) {
        Ok(sum) => sum,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::Io(sum_path, e)),
    };
    let got = match file_sha256(entry) {
        Ok(got) => got,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::Io(entry.to_owned(), e)),
    };
    if got != want.trim() {
        return Err(StoreError::Mismatch);
    }
    // SAFETY: `deserialize_file` trusts the file to be wasmtime's own output and not to change
    // while mapped. This entry was written by `store` (its SHA-256 matches the sum written
    // beside it), wasmtime checks that its version and engine settings match this engine, and
    // entries are only ever replaced by rename, never written in place.
    unsafe { Component::deserialize_file(engine, entry) }
        .map(Some)
        .map_err(|e| StoreError::Wasmtime(format!("{e:#}")))
}

/// Writes `component` as `entry` and its checksum beside it (temporary names, then renames).
fn store(component: &Component, dir: &Path, entry: &Path) -> Result<(), StoreError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |e: std::io::Error| StoreError::Io(path, e)
    };
    let image = component
        .serialize()
        .map_err(|e| StoreError::Wasmtime(format!("{e:#}")))?;
    let sum = hex::encode(Sha256::digest(&image));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let unique = format!(".tmp-{}-{}", std::process::id(), next_temp());
    let tmp_entry = entry.with_extension(format!("cwasm{unique}"));
    let tmp_sum = entry.with_extension(format!("sum{unique}"));
    std::fs::write(&tmp_entry, &image).map_err(io(tmp_entry.as_path()))?;
    std::fs::write(&tmp_sum, sum).map_err(io(tmp_sum.as_path()))?;
    let sum_path = entry.with_extension("sum");
    std::fs::rename(&tmp_sum, &sum_path).map_err(io(sum_path.as_path()))?;
    std::fs::rename(&tmp_entry, entry).map_err(io(entry))
}

fn next_temp() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Hex SHA-256 of a file, read in 64 KiB chunks.
fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// What compiled code depends on (wasmtime's version, target and compiler settings), as 16 hex
/// digits: entries of other builds or settings get other names and are never tried.
fn engine_fingerprint(engine: &Engine) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}
