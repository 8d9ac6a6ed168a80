//! Reading files that a config names, with a size cap: a path naming a device, a FIFO or a huge
//! file by mistake (`/dev/zero`, a log file) must give a clear error, not hang or exhaust memory.
//!
//! Runs at config load only.

use std::fs;
use std::io::Read as _;
use std::path::Path;

/// Largest file a config may name (main file, provider files, `usersFile`): 16 MiB.
pub(crate) const MAX_CONFIG_FILE_BYTES: u64 = 16 << 20;

/// The text of a regular file of at most [`MAX_CONFIG_FILE_BYTES`]; errors name the reason
/// ("not a regular file", "larger than 16 MiB", or the I/O error).
pub(crate) fn read_bounded(path: &Path) -> std::io::Result<String> {
    if !fs::metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut text = String::new();
    fs::File::open(path)?
        .take(MAX_CONFIG_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_FILE_BYTES {
        return Err(std::io::Error::other("larger than 16 MiB"));
    }
    Ok(text)
}
