//! A gateway process's memory, read from `/proc/<pid>/status` (Linux only).
//!
//! Anonymous memory, because the gateway drops its clean file pages (binary text, plugin code)
//! after every configuration pass and the kernel maps them back in 64 KiB windows when code
//! first runs again: total resident memory (`Gateway::memory_kib`) moves with those windows,
//! anonymous memory does not.

/// One `kB` field of `/proc/<pid>/status` in bytes; 0 when the process or the field is gone.
fn status_field_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Resident anonymous memory (`RssAnon`): heap, stacks and Wasm instance memory. This is where a
/// buffered body would show; re-faulted code pages do not.
pub fn anon_rss_bytes(pid: u32) -> u64 {
    status_field_bytes(pid, "RssAnon")
}

/// How many executable mappings (`r-xp` lines of `/proc/<pid>/maps`) of files whose name ends
/// with `suffix` the process has. A compiled plugin (`.cwasm`) has exactly one per compiled
/// component alive (its machine code), whatever else maps parts of the same file (each pool slot
/// warm for it maps the component's initial memory image from it, copy-on-write): so a count
/// above the number of plugin versions in use is old versions' code still mapped.
pub fn executable_file_mappings(pid: u32, suffix: &str) -> usize {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    maps.lines()
        .filter(|l| l.split_ascii_whitespace().nth(1) == Some("r-xp"))
        .filter(|l| l.trim_end().ends_with(suffix))
        .count()
}
