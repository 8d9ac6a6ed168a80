//! Paths the config names, resolved against the main file's directory. Config time.

use std::path::{Path, PathBuf};

/// `dir` joined with `relative` (kept as is when absolute), without `.` components, so that
/// messages show `conf/dynamic` rather than `conf/./dynamic`.
pub(super) fn join_clean(dir: &Path, relative: &str) -> PathBuf {
    dir.join(relative).components().collect()
}
