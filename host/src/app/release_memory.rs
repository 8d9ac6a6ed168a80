//! Gives back the memory a configuration pass used and the serving path does not: glibc's free
//! heap, and the page-table entries of read-only code and data that only configuring touched.
//!
//! Runs after a configuration is applied (start-up, each accepted or refused reload), off the
//! request path. Cost: one read of `/proc/self/maps` and of the matching `/proc/self/pagemap`
//! entries (8 bytes per 4 KiB page: about 120 KB with every bundled plugin configured), then a
//! few `madvise` calls; well under a millisecond.
//!
//! Why the heap: glibc keeps freed memory in its per-thread arenas, and reloads run on the
//! blocking pool's threads; without the trim, RSS climbed ~5 MB over the first reloads before
//! levelling off. Why the file pages: starting or reloading runs code that serving never runs again (YAML parsing, wasmtime's
//! loading of each compiled plugin, each plugin's `validate-config` and `init`: config parsing,
//! regex compilation). The kernel maps 64 KiB of a file around every page first touched, so a
//! configuration pass leaves almost every page of the binary's text and of every plugin's
//! compiled code mapped: ~40 MB of resident file pages with every bundled plugin configured.
//! Dropping their page-table entries (`MADV_DONTNEED` on a read-only private file mapping)
//! leaves the pages in the page cache; whatever the serving path still runs faults back in as
//! a minor fault (no I/O while the file is cached), and the resident set becomes what serving
//! uses.
//!
//! Only read-only mappings of the gateway's own executable and of compiled plugins (`.cwasm`)
//! are touched, and within them only pages that are file pages: a page the process wrote
//! (a relocation applied before the mapping was made read-only) is private anonymous memory
//! that `MADV_DONTNEED` would throw away, so such pages are skipped, as found in `pagemap`.

/// Releases glibc's free heap and the configuration-only file pages (see the module doc).
/// Failures (no `/proc`, a kernel without `pagemap`) only cost the release; logged at debug.
pub fn release_after_config() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointers; it only releases free memory glibc holds.
    unsafe {
        libc::malloc_trim(0);
    }
    #[cfg(target_os = "linux")]
    match release_file_pages() {
        Ok(bytes) => tracing::debug!(bytes, "unmapped configuration-time file pages"),
        Err(e) => tracing::debug!("configuration-time file pages kept mapped: {e}"),
    }
}

/// One `/proc/self/maps` line the release applies to: a read-only private mapping of `path`.
#[derive(Debug, PartialEq, Eq)]
struct Mapping<'a> {
    start: usize,
    end: usize,
    path: &'a str,
}

/// The read-only (neither writable nor shared) file mappings of `maps` whose path is `exe`
/// or a compiled plugin (`*.cwasm`).
fn releasable<'a>(maps: &'a str, exe: &'a str) -> impl Iterator<Item = Mapping<'a>> + 'a {
    maps.lines().filter_map(move |line| {
        let mut fields = line.split_ascii_whitespace();
        let range = fields.next()?;
        let perms = fields.next()?.as_bytes();
        let path = fields.nth(3)?;
        let read_only_private = perms.first() == Some(&b'r')
            && perms.get(1) == Some(&b'-')
            && perms.get(3) == Some(&b'p');
        if !read_only_private || (path != exe && !path.ends_with(".cwasm")) {
            return None;
        }
        let (start, end) = range.split_once('-')?;
        Some(Mapping {
            start: usize::from_str_radix(start, 16).ok()?,
            end: usize::from_str_radix(end, 16).ok()?,
            path,
        })
    })
}

/// `pagemap` flags: the page is present; swapped; a file page (or shared anonymous).
const PRESENT: u64 = 1 << 63;
const SWAPPED: u64 = 1 << 62;
const FILE_PAGE: u64 = 1 << 61;

/// Whether `MADV_DONTNEED` may drop the page an entry describes without losing data: a present
/// file page, or a page not present at all (nothing to drop). A present or swapped anonymous
/// page is the process's own copy and must stay.
fn droppable(entry: u64) -> bool {
    if entry & PRESENT != 0 {
        entry & FILE_PAGE != 0
    } else {
        entry & SWAPPED == 0
    }
}

/// Runs of consecutive droppable pages, as (first page index, page count).
fn droppable_runs(entries: &[u64]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, entry) in entries.iter().enumerate() {
        match (droppable(*entry), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i - s));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, entries.len() - s));
    }
    runs
}

/// Drops the page-table entries of the droppable pages of every releasable mapping; returns
/// the bytes covered.
#[cfg(target_os = "linux")]
fn release_file_pages() -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;

    const PAGE: usize = 4096;
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let exe = std::fs::read_link("/proc/self/exe")?;
    let exe = exe.to_string_lossy();
    let pagemap = std::fs::File::open("/proc/self/pagemap")?;
    let mut entries: Vec<u64> = Vec::new();
    let mut raw: Vec<u8> = Vec::new();
    let mut released = 0;
    for mapping in releasable(&maps, &exe) {
        let pages = (mapping.end - mapping.start) / PAGE;
        raw.resize(pages * 8, 0);
        pagemap.read_exact_at(&mut raw, (mapping.start / PAGE * 8) as u64)?;
        entries.clear();
        entries.extend(
            raw.chunks_exact(8)
                .map(|b| u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])),
        );
        for (first, count) in droppable_runs(&entries) {
            let addr = mapping.start + first * PAGE;
            // SAFETY: the range lies inside a read-only private file mapping of this process
            // (from /proc/self/maps) and holds only pages that are unchanged file pages or not
            // present: dropping their entries loses nothing, the next access maps the same
            // file page again. Nothing writes to these mappings (they are read-only).
            let rc = unsafe {
                libc::madvise(addr as *mut libc::c_void, count * PAGE, libc::MADV_DONTNEED)
            };
            if rc != 0 {
                return Err(std::io::Error::other(format!(
                    "madvise on {}: {}",
                    mapping.path,
                    std::io::Error::last_os_error()
                )));
            }
            released += count * PAGE;
        }
    }
    Ok(released)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
55f509d8e000-55f50ab8f000 r--p 00000000 fe:00 123 /opt/wasmgate/bin/wasmgate
55f50ab8f000-55f50c3e4000 r-xp 00e01000 fe:00 123 /opt/wasmgate/bin/wasmgate
55f50c4c9000-55f50c4ce000 rw-p 0173b000 fe:00 123 /opt/wasmgate/bin/wasmgate
7d2f6e801000-7d2f6e95f000 r-xp 00001000 fe:00 77 /cache/artifacts/ab-cd.cwasm
7d2f6e95f000-7d2f6e9a0000 rw-p 00000000 fe:00 77 /cache/artifacts/ab-cd.cwasm
7d2f6ea00000-7d2f6ea10000 r--s 00000000 fe:00 78 /cache/artifacts/ef-gh.cwasm
7f333ca15000-7f333cb6b000 r-xp 00028000 fe:00 9 /usr/lib/x86_64-linux-gnu/libc.so.6
7f333cc00000-7f333cc21000 rw-p 00000000 00:00 0
7ffd1e1f0000-7ffd1e211000 rw-p 00000000 00:00 0 [stack]
";

    #[test]
    fn only_read_only_private_mappings_of_the_binary_and_compiled_plugins_are_released() {
        let found: Vec<_> = releasable(MAPS, "/opt/wasmgate/bin/wasmgate")
            .map(|m| (m.start, m.path))
            .collect();
        assert_eq!(
            found,
            vec![
                (0x55f5_09d8_e000, "/opt/wasmgate/bin/wasmgate"),
                (0x55f5_0ab8_f000, "/opt/wasmgate/bin/wasmgate"),
                (0x7d2f_6e80_1000, "/cache/artifacts/ab-cd.cwasm"),
            ]
        );
    }

    #[test]
    fn pages_the_process_wrote_are_never_dropped() {
        let file = PRESENT | FILE_PAGE;
        let anon = PRESENT;
        let swapped = SWAPPED;
        let absent = 0;
        let entries = [file, file, anon, absent, file, swapped, file];
        assert_eq!(droppable_runs(&entries), vec![(0, 2), (3, 2), (6, 1)]);
        assert_eq!(droppable_runs(&[anon, anon]), Vec::<(usize, usize)>::new());
        assert_eq!(droppable_runs(&[absent]), vec![(0, 1)]);
    }

    /// The release on this very process: the test binary's own text is mapped, runs, is
    /// released, and the code after it (including what was just unmapped) still runs.
    #[cfg(target_os = "linux")]
    #[test]
    fn releasing_the_running_binary_s_pages_keeps_it_running() {
        let released = release_file_pages().expect("release");
        assert!(
            released > 0,
            "the test binary's own text is a releasable mapping"
        );
        assert_eq!(droppable_runs(&[PRESENT | FILE_PAGE]), vec![(0, 1)]);
    }
}
