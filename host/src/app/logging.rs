//! The gateway's own log (Traefik's static `log` section): its level, text or JSON lines, and
//! standard error or a file reopened on `SIGUSR1` (logrotate renames it, the signal makes a
//! new one, as Traefik does). Set up once at start, before the first line; `RUST_LOG`, when
//! set, overrides `log.level`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogConfig;

/// Installs the process's log as `log` says; returns the file it writes to, if any (for
/// [`reopen_on_sigusr1`]). A file that cannot be opened is reported on standard error and the
/// log goes there instead.
pub fn init(log: &LogConfig) -> Option<Arc<LogFile>> {
    let filter =
        || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.level));
    if let Some(path) = &log.file_path {
        match LogFile::open(path) {
            Ok(file) => {
                let file = Arc::new(file);
                install(filter(), SharedLogFile(file.clone()), log.json, false);
                return Some(file);
            }
            Err(e) => eprintln!("wasmgate: cannot open log.filePath {}: {e}", path.display()),
        }
    }
    use std::io::IsTerminal;
    let ansi = !log.no_color && io::stderr().is_terminal();
    install(filter(), io::stderr, log.json, ansi);
    None
}

/// The subscriber: text lines (with `ansi` colours), or one flat JSON object per event.
fn install<W>(filter: EnvFilter, writer: W, json: bool, ansi: bool)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // A second install (tests, a library user's own subscriber) keeps the first.
    let _ = match json {
        true => builder.json().flatten_event(true).try_init(),
        false => builder.with_ansi(ansi).try_init(),
    };
}

/// Reopens `file` at its path on every `SIGUSR1`. Call inside the runtime.
pub fn reopen_on_sigusr1(file: Arc<LogFile>) {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::user_defined1()) {
        Ok(mut usr1) => {
            tokio::spawn(async move {
                while usr1.recv().await.is_some() {
                    file.reopen();
                }
            });
        }
        Err(e) => tracing::warn!("cannot listen for SIGUSR1 (log file reopen): {e}"),
    }
}

/// The log's file: appended to, swapped for a new one at the same path on reopen.
pub struct LogFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl LogFile {
    fn open(path: &Path) -> io::Result<LogFile> {
        Ok(LogFile {
            path: path.to_path_buf(),
            file: Mutex::new(append(path)?),
        })
    }

    /// Opens the path again (after logrotate renamed the file); on failure the old file
    /// stays in use and the reason goes to standard error.
    pub fn reopen(&self) {
        match append(&self.path) {
            Ok(new) => *self.lock() = new,
            Err(e) => eprintln!("wasmgate: cannot reopen {}: {e}", self.path.display()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, File> {
        self.file.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The subscriber's handle on the [`LogFile`]: each event's line is written under its lock,
/// so a reopen never splits a line between two files.
struct SharedLogFile(Arc<LogFile>);

/// One event's writes, to the file locked for them.
pub struct LogLine<'a>(MutexGuard<'a, File>);

impl Write for LogLine<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a> MakeWriter<'a> for SharedLogFile {
    type Writer = LogLine<'a>;

    fn make_writer(&'a self) -> LogLine<'a> {
        LogLine(self.0.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reopened_log_file_writes_to_the_new_file_at_its_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wasmgate.log");
        let log = LogFile::open(&path).expect("open");
        let shared = SharedLogFile(Arc::new(log));
        writeln!(shared.make_writer(), "one").expect("write");
        let rotated = dir.path().join("wasmgate.log.1");
        std::fs::rename(&path, &rotated).expect("rename");
        writeln!(shared.make_writer(), "two").expect("write");
        shared.0.reopen();
        writeln!(shared.make_writer(), "three").expect("write");
        assert_eq!(
            std::fs::read_to_string(&rotated).ok().as_deref(),
            Some("one\ntwo\n")
        );
        assert_eq!(
            std::fs::read_to_string(&path).ok().as_deref(),
            Some("three\n")
        );
    }
}
