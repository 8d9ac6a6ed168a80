//! A gateway process's memory, read from `/proc/<pid>/status` (Linux only).
//!
//! Two views, because the gateway drops its clean file pages (binary text, plugin code) after
//! every configuration pass and the kernel maps them back in 64 KiB windows when code first runs
//! again: total resident memory moves with those windows, anonymous memory does not.

/// One `kB` field of `/proc/<pid>/status` in bytes; 0 when the process or the field is gone.
fn status_field_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// All resident memory (`VmRSS`): anonymous, file-backed and shared pages.
pub fn rss_bytes(pid: u32) -> u64 {
    status_field_bytes(pid, "VmRSS")
}

/// Resident anonymous memory (`RssAnon`): heap, stacks and Wasm instance memory. This is where a
/// buffered body would show; re-faulted code pages do not.
pub fn anon_rss_bytes(pid: u32) -> u64 {
    status_field_bytes(pid, "RssAnon")
}
