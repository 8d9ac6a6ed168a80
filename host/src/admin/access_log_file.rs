//! The access log's file: disk space reserved ahead of its end, and its pages let go of the
//! page cache once they are far behind it. Used by the writer thread only.
//!
//! **Space ahead.** Appending to a file whose blocks are not allocated yet makes the
//! filesystem reserve and account space page by page on the writer thread (ext4's delayed
//! allocation: a block reservation, a quota charge and an extent-cache insertion per 4 KiB,
//! ~0.1 µs per JSON line). The writer reserves [`RESERVE`] bytes past the end at a time instead
//! (`fallocate` with `FALLOC_FL_KEEP_SIZE`: the file's size, and so what readers see, is
//! unchanged; `du` counts up to [`RESERVE`] more), and gives back what is left when it leaves
//! the file (reopen, shutdown). Where the filesystem cannot reserve, it stops trying.
//!
//! **Pages behind** ([`DropBehind`]). A busy gateway writes tens of megabytes of log a second,
//! and the kernel keeps every written page cached until memory runs short: the log would push
//! everything else out of the page cache, and each new page would come from memory not touched
//! for a while. Measured in bench/README ("The access log's pages"): after about 2 GB of log
//! the writer's kernel time per line rose from ≈ 0.4 to ≈ 1.5–2 µs (`copy_folio_from_iter_atomic`
//! two thirds of its samples), and stayed there. So the writer keeps the last [`KEEP`] bytes
//! cached (what `tail -f` and a log shipper read) and, every [`STEP`] written, starts the
//! writeback of the step just beyond that and drops the one before it, written back by then
//! (`sync_file_range`, `posix_fadvise(POSIX_FADV_DONTNEED)`). The pages it frees are the ones
//! its next writes get. Cost: the writeback's submission moves from the kernel's flusher
//! threads to the writer (≈ 0.05–0.1 µs per line).
//!
//! **Writes that end on [`ALIGN`] boundaries** ([`LogFile::write_to_boundary`]). The kernel
//! gives a write large page-cache folios only where the file offsets it covers are aligned to
//! them; appends of lines end anywhere, so the next write starts inside a page and gets one-
//! and two-page folios, each allocated, locked, mapped and dirtied on its own. While a round's
//! lines reach past a 64 KiB boundary of the file, the writer writes up to the last boundary
//! and keeps the rest for the next round (≤ 64 KiB, held at most one round: a round whose lines
//! reach no boundary writes them all). Measured in bench/README ("Access-log writes on 64 KiB
//! boundaries"): the writer's kernel time per line, median 0.52 → 0.375 µs.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The log file, with disk space reserved ahead of its end and its old pages let go.
pub(super) struct LogFile {
    path: PathBuf,
    file: std::fs::File,
    /// Bytes that can still be appended into reserved space; `None`: reserving is not
    /// supported here.
    room: Option<u64>,
    /// Where the next write lands: the file's end as last read (at open, and at each
    /// reservation), plus what was written since.
    end: u64,
    /// `None` where the path is not a regular file (`/dev/stdout`, a pipe).
    behind: Option<DropBehind>,
}

/// How much disk space the writer reserves past the file's end at a time (about 9 000 JSON
/// lines): one `fstat` and one `fallocate` per 8 MiB written.
const RESERVE: u64 = 8 << 20;

/// What stays in the page cache behind the file's end: the last 128 MiB written (at 40 MB of
/// log a second, the last 3 s; at 4 MB a second, the last 30 s).
const KEEP: u64 = 128 << 20;

/// How much is let go at a time: two system calls per 8 MiB written.
const STEP: u64 = 8 << 20;

/// The file offsets writes end on while lines come faster than a boundary a round (see the
/// module's doc): a large folio's size.
pub(super) const ALIGN: u64 = 64 << 10;

impl LogFile {
    pub(super) fn open(path: PathBuf) -> std::io::Result<LogFile> {
        let file = open_append(&path)?;
        let meta = file.metadata()?;
        Ok(LogFile {
            path,
            room: Some(0),
            end: meta.len(),
            behind: DropBehind::for_file(&meta),
            file,
        })
    }

    /// Writes the front of `buf` up to the file's last [`ALIGN`] boundary it reaches and keeps
    /// the rest in `buf` (moved to its start) for the next write; writes it all when it reaches
    /// no boundary, or when the file is not a regular one.
    pub(super) fn write_to_boundary(&mut self, buf: &mut Vec<u8>) -> std::io::Result<()> {
        // Below `ALIGN` (64 KiB): fits any `usize`.
        let past = ((self.end + buf.len() as u64) % ALIGN) as usize;
        let cut = match self.behind.is_some() && past < buf.len() {
            true => buf.len() - past,
            false => buf.len(),
        };
        let written = self.write_all(&buf[..cut]);
        buf.drain(..cut);
        written
    }

    pub(super) fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let len = buf.len() as u64;
        if let Some(room) = self.room {
            self.room = match room >= len {
                true => Some(room - len),
                false => self.reserve().map(|reserved| reserved.saturating_sub(len)),
            };
        }
        let written = self.file.write_all(buf);
        self.end += len;
        if let Some(behind) = &mut self.behind {
            behind.after_write(&self.file, self.end);
        }
        written
    }

    /// Reserves [`RESERVE`] bytes past the current end (the end read now: another process
    /// may have truncated the file, as logrotate's `copytruncate` does); the room made, or
    /// `None` when the filesystem does not support it.
    fn reserve(&mut self) -> Option<u64> {
        let end = self.file.metadata().ok()?.len();
        self.end = end;
        let (offset, size) = (i64::try_from(end).ok()?, i64::try_from(RESERVE).ok()?);
        // SAFETY: `fallocate` on a descriptor this struct owns; no memory is passed.
        let done = unsafe {
            libc::fallocate(
                self.file.as_raw_fd(),
                libc::FALLOC_FL_KEEP_SIZE,
                offset,
                size,
            )
        };
        (done == 0).then_some(RESERVE)
    }

    /// Gives back the reserved space past the end (truncating to the current size keeps
    /// every byte written).
    pub(super) fn release(&mut self) {
        if self.room.is_some_and(|room| room > 0)
            && let Ok(meta) = self.file.metadata()
        {
            let _ = self.file.set_len(meta.len());
        }
        self.room = self.room.map(|_| 0);
    }

    pub(super) fn reopen(&mut self) {
        match open_append(&self.path).and_then(|file| Ok((file.metadata()?, file))) {
            Ok((meta, file)) => {
                self.release();
                self.file = file;
                self.end = meta.len();
                self.behind = DropBehind::for_file(&meta);
            }
            Err(e) => tracing::warn!("access log: cannot reopen {}: {e}", self.path.display()),
        }
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        self.release();
    }
}

fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// Lets a file's pages go from the page cache once they are more than `keep` bytes behind its
/// end, `step` bytes at a time (see the module's doc).
struct DropBehind {
    /// The pages before this offset were let go (or were there before the writer came).
    settled: u64,
    step: u64,
    keep: u64,
}

impl DropBehind {
    /// For a file just opened: from its end, with the production sizes; `None` unless it is
    /// a regular file.
    fn for_file(meta: &std::fs::Metadata) -> Option<DropBehind> {
        meta.is_file()
            .then(|| DropBehind::new(meta.len(), STEP, KEEP))
    }

    fn new(end: u64, step: u64, keep: u64) -> DropBehind {
        DropBehind {
            settled: end / step * step,
            step,
            keep,
        }
    }

    /// After a write that left the file's end at `end`. Each step more than `keep` and one
    /// more step behind the end is dropped (its writeback was started one step earlier), and
    /// the writeback of the step after it starts. A file truncated under the writer (logrotate's
    /// `copytruncate`, seen at the next reservation) starts over from its new end. Failures
    /// are ignored: the pages then stay cached, as without this.
    fn after_write(&mut self, file: &std::fs::File, end: u64) {
        if end < self.settled {
            self.settled = end / self.step * self.step;
        }
        while end >= self.settled + self.keep + 2 * self.step {
            let (Ok(at), Ok(step)) = (i64::try_from(self.settled), i64::try_from(self.step)) else {
                return;
            };
            let fd = file.as_raw_fd();
            // SAFETY: system calls on a descriptor the caller owns; no memory is passed.
            unsafe {
                libc::sync_file_range(fd, at + step, step, libc::SYNC_FILE_RANGE_WRITE);
                libc::posix_fadvise(fd, at, step, libc::POSIX_FADV_DONTNEED);
            }
            self.settled += self.step;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of the file's first `len` bytes that are in the page cache (`mincore` on a fresh
    /// read-only mapping, which faults nothing in).
    fn resident_pages(path: &Path, len: usize) -> usize {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{e}"));
        let page = 4096;
        let pages = len.div_ceil(page);
        let mut vec = vec![0u8; pages];
        // SAFETY: a private read-only mapping of `len` bytes of a file this test owns, only
        // passed to `mincore` (which writes one byte per page into `vec`, sized for them) and
        // unmapped before returning.
        unsafe {
            let addr = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            );
            assert_ne!(addr, libc::MAP_FAILED, "mmap");
            let done = libc::mincore(addr, len, vec.as_mut_ptr());
            libc::munmap(addr, len);
            assert_eq!(done, 0, "mincore");
        }
        vec.iter().filter(|&&b| b & 1 == 1).count()
    }

    /// Written past several reservations and past where pages are let go (the production
    /// sizes: about 150 MB), the file reads back whole, without space reserved past its end.
    #[test]
    fn a_log_file_written_past_several_reservations_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("access.log");
        let mut log = LogFile::open(path.clone()).unwrap_or_else(|e| panic!("{e}"));
        let mut sent = Vec::new();
        let mut i = 0u64;
        while (sent.len() as u64) < KEEP + 3 * STEP {
            // Writes of uneven sizes, as the writer's rounds are.
            let line = format!("line {i} {}\n", "x".repeat((i % 61) as usize * 997));
            log.write_all(line.as_bytes())
                .unwrap_or_else(|e| panic!("{e}"));
            sent.extend_from_slice(line.as_bytes());
            i += 1;
        }
        let settled = log.behind.as_ref().map_or(0, |b| b.settled);
        assert!(settled >= STEP, "pages were let go: {settled}");
        drop(log);
        let back = std::fs::read(&path).unwrap_or_default();
        assert_eq!(back.len(), sent.len(), "the size is what was written");
        assert!(back == sent, "the bytes are what was written");
        let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{e}"));
        use std::os::unix::fs::MetadataExt;
        assert!(
            meta.blocks() * 512 < sent.len() as u64 + 64 * 1024,
            "reserved space given back at close: {} blocks for {} bytes",
            meta.blocks(),
            sent.len()
        );
    }

    #[test]
    fn a_log_file_with_space_reserved_ahead_reads_back_exactly_what_was_written() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let mut file = LogFile::open(path.clone()).unwrap();
        for line in ["one\n", "two\n", "three\n"] {
            file.write_all(line.as_bytes()).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\nthree\n");
        // Logrotate renames the file; the reopened writer leaves the old one without the
        // space it had reserved past its end.
        let rotated = dir.path().join("access.log.1");
        std::fs::rename(&path, &rotated).unwrap();
        file.reopen();
        file.write_all(b"four\n").unwrap();
        let old = std::fs::metadata(&rotated).unwrap();
        assert_eq!(old.len(), 14);
        assert!(old.blocks() * 512 < RESERVE, "{} blocks kept", old.blocks());
        drop(file);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "four\n");
        assert!(std::fs::metadata(&path).unwrap().blocks() * 512 < RESERVE);
    }

    #[test]
    fn writes_end_on_64_kib_boundaries_and_what_reaches_none_is_written_whole() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("access.log");
        let mut file = LogFile::open(path.clone()).unwrap_or_else(|e| panic!("{e}"));
        let bytes: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut buf = bytes[..100_000].to_vec();
        file.write_to_boundary(&mut buf)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(std::fs::metadata(&path).map(|m| m.len()).ok(), Some(ALIGN));
        assert_eq!(
            buf,
            bytes[ALIGN as usize..100_000],
            "the rest is kept, moved to the front"
        );
        // The kept rest and 20 000 bytes more reach no boundary (65 536 + 54 464 < 131 072).
        buf.extend_from_slice(&bytes[100_000..120_000]);
        file.write_to_boundary(&mut buf)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(buf.is_empty());
        // Then a write across two boundaries ends on the second.
        buf.extend_from_slice(&bytes[120_000..]);
        file.write_to_boundary(&mut buf)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            std::fs::metadata(&path).map(|m| m.len()).ok(),
            Some(3 * ALIGN)
        );
        file.write_all(&buf).unwrap_or_else(|e| panic!("{e}"));
        file.release();
        assert_eq!(std::fs::read(&path).ok(), Some(bytes));
    }

    #[test]
    fn a_log_that_is_not_a_regular_file_is_written_whole() {
        let mut file = LogFile::open(PathBuf::from("/dev/null")).unwrap_or_else(|e| panic!("{e}"));
        let mut buf = vec![b'x'; 100_000];
        file.write_to_boundary(&mut buf)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(buf.is_empty());
    }

    /// The pages far enough behind the end leave the page cache; the last `keep` bytes stay,
    /// and the file reads back whole. With small steps, and the file written back first
    /// (`sync_data`), so that what is dropped does not depend on the flusher's timing.
    #[test]
    fn pages_far_behind_the_end_leave_the_page_cache_and_the_file_stays_whole() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("access.log");
        let file = open_append(&path).unwrap_or_else(|e| panic!("{e}"));
        let (step, keep) = (64 * 1024, 256 * 1024);
        let mut behind = DropBehind::new(0, step, keep);
        let mut sent = Vec::new();
        let total = 2 * 1024 * 1024;
        let mut i = 0;
        while sent.len() < total {
            let line = format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "y".repeat(i % 900));
            (&file)
                .write_all(line.as_bytes())
                .unwrap_or_else(|e| panic!("{e}"));
            sent.extend_from_slice(line.as_bytes());
            i += 1;
            if i % 64 == 0 {
                file.sync_data().unwrap_or_else(|e| panic!("{e}"));
                behind.after_write(&file, sent.len() as u64);
            }
        }
        file.sync_data().unwrap_or_else(|e| panic!("{e}"));
        behind.after_write(&file, sent.len() as u64);
        let end = sent.len() as u64;
        assert!(
            behind.settled + keep + 2 * step > end && behind.settled + keep + step <= end,
            "let go up to `keep` and two steps behind the end: {} of {end}",
            behind.settled
        );
        // Everything let go is out of the cache (it was written back before); the last `keep`
        // bytes are in.
        let gone = usize::try_from(behind.settled).unwrap_or(0);
        assert_eq!(resident_pages(&path, gone), 0, "{gone} bytes let go");
        let kept_from = usize::try_from(end - keep).unwrap_or(0) / 4096 * 4096;
        let tail = resident_pages(&path, sent.len()) - resident_pages(&path, kept_from);
        assert_eq!(
            tail,
            sent.len().div_ceil(4096) - kept_from / 4096,
            "the kept tail"
        );
        let back = std::fs::read(&path).unwrap_or_default();
        assert!(back == sent, "the bytes are what was written");
    }

    #[test]
    fn a_file_truncated_under_the_writer_is_let_go_from_its_new_end() {
        let mut behind = DropBehind::new(100 << 20, STEP, KEEP);
        assert_eq!(behind.settled, 96 << 20);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = open_append(&dir.path().join("a.log")).unwrap_or_else(|e| panic!("{e}"));
        behind.after_write(&file, 5 << 20);
        assert_eq!(behind.settled, 0, "copytruncate: from the start again");
    }
}
