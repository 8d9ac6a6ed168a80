//! The access log: Traefik's Common Log Format line or JSON object (Traefik's field names),
//! written off the request path.
//!
//! A request pushes its [`AccessRecord`] onto the log's inbox (a `Vec` behind a mutex held for
//! the push: no allocation, no wake-up); when the inbox holds `bufferingSize` lines the line is
//! counted as dropped (`wasmgate_accesslog_dropped_lines_total`). One writer thread swaps the
//! inbox for its own empty `Vec` every 5 ms while lines come (50 ms when idle), formats and
//! writes what it took with one `write` per 64 KiB (ending on the file's 64 KiB boundaries
//! while lines come fast: what lies past the last one waits one round); requests never wake it.
//! `SIGUSR1` reopens the file (after logrotate renamed it), as Traefik does; lines sent before
//! the signal go to the old file, later ones to the new.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

use crate::config::{AccessLogConfig, AccessLogFormat, FieldMode};

use super::access_log_file::LogFile;
pub use super::access_record::AccessRecord;
use super::access_record::{REDACTED, header_text, protocol};
use super::metrics::lock;
use super::timefmt::{WallClock, clf_time, local_offset, rfc3339_local_seconds};

/// What the writer is told besides lines (rare: a signal, a shutdown).
enum Control {
    /// Write what came so far to the current file, then reopen its path.
    Reopen,
    /// Write what came so far, then answer.
    Flush(std::sync::mpsc::Sender<()>),
}

/// The lines requests hand over, taken whole by the writer each round.
#[derive(Debug)]
struct Inbox {
    lines: Mutex<Vec<AccessRecord>>,
    /// `bufferingSize`: lines beyond it are dropped (and counted) until the writer takes them.
    limit: usize,
}

impl Inbox {
    fn new(limit: usize) -> Inbox {
        let limit = limit.max(1);
        Inbox {
            lines: Mutex::new(Vec::with_capacity(limit.min(PREALLOCATED))),
            limit,
        }
    }
}

/// Lines the inbox (and the writer's swapped-out copy) has room for from the start: a
/// round's worth at tens of thousands of requests a second, without growing on the request
/// path; a larger `bufferingSize` grows them when it is used.
const PREALLOCATED: usize = 4096;

/// The handle requests log through; cheap to share.
#[derive(Debug)]
pub struct AccessLog {
    pub(super) config: Arc<AccessLogConfig>,
    inbox: Arc<Inbox>,
    control: mpsc::UnboundedSender<Control>,
    dropped: Arc<AtomicU64>,
    requests: AtomicU64,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Control")
    }
}

impl AccessLog {
    /// Opens the output and starts the writer thread; with a file, `SIGUSR1` reopens it. Must
    /// run inside the tokio runtime (the signal listener).
    pub fn start(config: AccessLogConfig, dropped: Arc<AtomicU64>) -> std::io::Result<AccessLog> {
        let out = Output::open(config.file_path.clone())?;
        let inbox = Arc::new(Inbox::new(config.buffering_size));
        let (control, control_rx) = mpsc::unbounded_channel();
        let config = Arc::new(config);
        let writer_config = config.clone();
        let writer_inbox = inbox.clone();
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_lines(&writer_inbox, control_rx, out, &writer_config))?;
        if config.file_path.is_some() {
            let reopen = control.clone();
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()) {
                Ok(mut usr1) => {
                    tokio::spawn(async move {
                        while usr1.recv().await.is_some() {
                            if reopen.send(Control::Reopen).is_err() {
                                return;
                            }
                        }
                    });
                }
                Err(e) => tracing::warn!("cannot listen for SIGUSR1 (access-log reopen): {e}"),
            }
        }
        Ok(AccessLog {
            config,
            inbox,
            control,
            dropped,
            requests: AtomicU64::new(0),
        })
    }

    /// Counts a request (Traefik's `RequestCount`); returns its number.
    pub fn next_request(&self) -> u64 {
        self.requests.fetch_add(1, Relaxed) + 1
    }

    /// Whether the filters keep a request with this outcome.
    pub fn keeps(&self, status: u16, retries: u32, duration: Duration) -> bool {
        self.config
            .filters
            .as_ref()
            .is_none_or(|f| f.keeps(status, retries, duration))
    }

    /// Hands the line in `record` (taken, left `None`) to the writer: a push under a short
    /// lock, never a wait on the writer. When the writer is `bufferingSize` lines behind the
    /// line is dropped and counted.
    #[inline]
    pub fn send(&self, record: &mut Option<AccessRecord>) {
        let mut lines = lock(&self.inbox.lines);
        if lines.len() >= self.inbox.limit {
            drop(lines);
            if record.take().is_some() {
                self.dropped.fetch_add(1, Relaxed);
            }
            return;
        }
        if let Some(record) = record.take() {
            lines.push(record);
        }
    }

    /// Waits (blocking, up to `limit`) until every line sent so far is written.
    pub fn flush(&self, limit: Duration) {
        let (done, wait) = std::sync::mpsc::channel();
        if self.control.send(Control::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(limit);
        }
    }
}

enum Output {
    Stdout(std::io::Stdout),
    File(LogFile),
}

impl Output {
    fn open(path: Option<PathBuf>) -> std::io::Result<Output> {
        Ok(match path {
            None => Output::Stdout(std::io::stdout()),
            Some(path) => Output::File(LogFile::open(path)?),
        })
    }

    /// Writes out and empties `buf` (the lines formatted so far).
    fn write_out(&mut self, buf: &mut Vec<u8>) {
        self.write(buf, false);
    }

    /// Writes out `buf`; to a file, only up to its last 64 KiB boundary when `to_boundary`
    /// and the lines reach one (the rest stays in `buf`: `LogFile::write_to_boundary`).
    fn write(&mut self, buf: &mut Vec<u8>, to_boundary: bool) {
        if buf.is_empty() {
            return;
        }
        let written = match self {
            Output::Stdout(w) => w.lock().write_all(buf).and_then(|()| w.lock().flush()),
            Output::File(f) if to_boundary => return report(f.write_to_boundary(buf)),
            Output::File(f) => f.write_all(buf),
        };
        buf.clear();
        report(written);
    }

    /// Opens the file's path again (logrotate renamed the file we write to).
    fn reopen(&mut self) {
        if let Output::File(f) = self {
            f.reopen();
        }
    }

    /// Gives back the file's reserved space (the next write reserves again).
    fn release(&mut self) {
        if let Output::File(f) = self {
            f.release();
        }
    }
}

/// Logs a failed write (the lines are lost; the writer goes on with the next).
fn report(written: std::io::Result<()>) {
    if let Err(e) = written {
        tracing::warn!("access log: cannot write: {e}");
    }
}

/// The writer thread's state: the output, its buffer and the lines taken from the inbox.
struct Writer<'a> {
    inbox: &'a Inbox,
    config: &'a AccessLogConfig,
    out: Output,
    /// Formatted lines not yet written.
    buf: Vec<u8>,
    /// The inbox's lines of this round (swapped with the inbox's empty `Vec`, so neither side
    /// allocates once both have grown to a round's size).
    taken: Vec<AccessRecord>,
    json: super::access_log_json::Renderer,
}

impl Writer<'_> {
    /// Takes the inbox's lines and writes them, but for what lies past the file's last 64 KiB
    /// boundary they reach (written by the next round); how many lines there were.
    fn drain(&mut self, clock: &WallClock) -> usize {
        std::mem::swap(&mut *lock(&self.inbox.lines), &mut self.taken);
        let n = self.taken.len();
        // logrus' `time` (JSON): when the lines were taken, formatted once for the round.
        let written = match self.config.format {
            AccessLogFormat::Json if n > 0 => rfc3339_local_seconds(clock.read_at()),
            _ => String::new(),
        };
        // Read where they lie (a record is a few hundred bytes: moving each out to format it
        // was a copy per line), dropped together once written.
        for record in &self.taken {
            match self.config.format {
                AccessLogFormat::Json => {
                    let start = clock.since_epoch(record.started);
                    self.json.line(
                        &mut self.buf,
                        record,
                        self.config,
                        start,
                        written.as_bytes(),
                    );
                }
                AccessLogFormat::Common | AccessLogFormat::GenericClf => {
                    format_line(&mut self.buf, record, self.config, clock)
                }
            }
            if self.buf.len() >= WRITE_BUFFER {
                self.out.write(&mut self.buf, true);
            }
        }
        // What lies past the last 64 KiB boundary waits for the next round, which writes
        // it whether or not its lines reach the next boundary.
        self.out.write(&mut self.buf, true);
        // The records are freed here: their `Arc`s released; nothing to free for a short
        // target (kept inline).
        self.taken.clear();
        n
    }

    /// [`Writer::drain`], then what it kept back too: before a reopen, a flush or the end.
    fn drain_all(&mut self, clock: &WallClock) {
        self.drain(clock);
        self.out.write_out(&mut self.buf);
    }
}

/// The writer thread: until the log's handle is gone.
///
/// It polls the inbox instead of waiting on it: a parked writer would make every request wake
/// it (a futex call and a context switch per line, measured as +10 µs of system time per
/// request on the plain proxy path). Each round takes the inbox's lines whole (one lock),
/// formats them straight into one buffer written out whenever it nears [`WRITE_BUFFER`] and at
/// the round's end, and sleeps [`POLL_BUSY`] after a round that wrote lines, else
/// [`POLL_IDLE`]: at the default 4096-line `bufferingSize` that holds up to ~80 000 lines a
/// second coming out of idle before any is dropped.
fn write_lines(
    inbox: &Inbox,
    mut control: mpsc::UnboundedReceiver<Control>,
    out: Output,
    config: &AccessLogConfig,
) {
    let mut w = Writer {
        inbox,
        config,
        out,
        buf: Vec::with_capacity(WRITE_BUFFER + 4096),
        taken: Vec::with_capacity(inbox.limit.min(PREALLOCATED)),
        json: super::access_log_json::Renderer::default(),
    };
    loop {
        // One wall-clock reading per round turns the requests' arrival instants into times.
        let clock = WallClock::now();
        loop {
            match control.try_recv() {
                Ok(Control::Reopen) => {
                    w.drain_all(&clock);
                    w.out.reopen();
                }
                Ok(Control::Flush(done)) => {
                    w.drain_all(&clock);
                    // At shutdown: the file is left without space reserved past its end.
                    w.out.release();
                    let _ = done.send(());
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    w.drain_all(&clock);
                    return;
                }
            }
        }
        let wrote = w.drain(&clock) > 0;
        std::thread::sleep(if wrote { POLL_BUSY } else { POLL_IDLE });
    }
}

/// Lines are written out once this many bytes of them are formatted (a JSON line is
/// ~0.9 KiB), and at the end of each round.
const WRITE_BUFFER: usize = 64 * 1024;

/// The writer's pause after a round that wrote lines.
const POLL_BUSY: Duration = Duration::from_millis(5);
/// The writer's pause after a round that found nothing.
const POLL_IDLE: Duration = Duration::from_millis(50);

/// One line (with its newline) in the configured format, appended to `out`; `clock` turns
/// the request's arrival into wall-clock time.
pub fn format_line(
    out: &mut Vec<u8>,
    r: &AccessRecord,
    config: &AccessLogConfig,
    clock: &WallClock,
) {
    match config.format {
        AccessLogFormat::Common => common_line(out, r, config, clock.wall(r.started), true),
        AccessLogFormat::GenericClf => common_line(out, r, config, clock.wall(r.started), false),
        AccessLogFormat::Json => super::access_log_json::Renderer::default().line(
            out,
            r,
            config,
            clock.since_epoch(r.started),
            rfc3339_local_seconds(clock.read_at()).as_bytes(),
        ),
    }
}

/// A field's value under its mode: `None` when dropped.
fn field<'a>(config: &AccessLogConfig, name: &str, value: &'a str) -> Option<&'a str> {
    match config.fields.field_mode(name) {
        FieldMode::Keep => Some(value),
        FieldMode::Drop => None,
        FieldMode::Redact => Some(REDACTED),
    }
}

/// [`field`] of a value that may be missing.
fn optional<'a>(config: &AccessLogConfig, name: &str, value: Option<&'a str>) -> Option<&'a str> {
    value.and_then(|v| field(config, name, v))
}

/// A request header's value under its mode (`None` when dropped, absent or empty, which the
/// CLF line writes `-`, as Traefik's `toLog`).
fn header(config: &AccessLogConfig, r: &AccessRecord, name: &str) -> Option<String> {
    let values = r.headers.iter().filter(|(n, _)| n.as_str() == name);
    header_text(&config.fields, name, values.map(|(_, v)| v)).filter(|v| !v.is_empty())
}

/// The CLF line's time, as Traefik picks it: `StartUTC` in UTC, or where that field is
/// dropped `StartLocal` at the local offset, or `-` where both are.
fn clf_start(config: &AccessLogConfig, start: SystemTime) -> String {
    let kept = |name| config.fields.field_mode(name) != FieldMode::Drop;
    if kept("StartUTC") {
        clf_time(start, 0)
    } else if kept("StartLocal") {
        clf_time(start, local_offset(start))
    } else {
        "-".to_string()
    }
}

/// Traefik's CLF: `ClientHost - ClientUsername [StartUTC] "RequestMethod RequestPath
/// RequestProtocol" DownstreamStatus DownstreamContentSize "Referer" "User-Agent"`, then, with
/// `traefik_tail` (`common`; not for `genericCLF`), ` RequestCount "RouterName" "ServiceURL"
/// Durationms`.
fn common_line(
    out: &mut Vec<u8>,
    r: &AccessRecord,
    config: &AccessLogConfig,
    start: SystemTime,
    traefik_tail: bool,
) {
    let dash = |v: Option<&str>| v.map_or("-".to_string(), str::to_string);
    let quoted = |v: Option<&str>| v.map_or("\"-\"".to_string(), |v| format!("\"{v}\""));
    let client = r
        .forwarded_client_host()
        .map_or_else(|| r.client.ip().to_string(), str::to_string);
    let status = r.status.to_string();
    let size = r.response_bytes.to_string();
    let _ = write!(
        out,
        "{} - {} [{}] \"{} {} {}\" {} {} {} {}",
        dash(field(config, "ClientHost", &client)),
        dash(optional(config, "ClientUsername", r.user.as_deref())),
        clf_start(config, start),
        dash(field(config, "RequestMethod", r.method.as_str())),
        dash(field(config, "RequestPath", r.path())),
        dash(field(config, "RequestProtocol", protocol(r.version))),
        dash(field(config, "DownstreamStatus", &status)),
        dash(field(config, "DownstreamContentSize", &size)),
        quoted(header(config, r, "referer").as_deref()),
        quoted(header(config, r, "user-agent").as_deref()),
    );
    if traefik_tail {
        let count = r.request_count.to_string();
        let _ = write!(
            out,
            " {} {} {} {}ms",
            dash(field(config, "RequestCount", &count)),
            quoted(optional(config, "RouterName", r.router.as_deref())),
            quoted(optional(config, "ServiceURL", r.service_url.as_deref())),
            r.duration.as_millis(),
        );
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AccessLogFields, AccessLogFilters};
    use std::net::SocketAddr;
    use std::sync::LazyLock;
    use std::time::Instant;

    /// The instant the test records arrive at, and a clock that reads 2023-11-14T22:13:20Z then.
    static ARRIVAL: LazyLock<Instant> = LazyLock::new(Instant::now);

    fn clock() -> WallClock {
        WallClock::at(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            *ARRIVAL,
        )
    }

    fn formatted(r: &AccessRecord, format: AccessLogFormat) -> String {
        let mut out = Vec::new();
        format_line(&mut out, r, &config(format), &clock());
        String::from_utf8(out).unwrap_or_default()
    }

    fn record() -> AccessRecord {
        AccessRecord {
            started: *ARRIVAL,
            client: SocketAddr::from(([10, 0, 0, 1], 5555)),
            method: http::Method::GET,
            target: AccessRecord::target(Some("example.com:8080"), "/a?b=1").0,
            host_len: Some("example.com:8080".len()),
            version: http::Version::HTTP_11,
            headers: vec![
                (
                    http::header::USER_AGENT,
                    http::HeaderValue::from_static("curl/8"),
                ),
                (
                    http::header::AUTHORIZATION,
                    http::HeaderValue::from_static("Basic x"),
                ),
            ],
            entrypoint: Arc::from("web"),
            tls: false,
            status: 200,
            origin_status: Some(200),
            request_bytes: 0,
            response_bytes: 12,
            origin_bytes: None,
            duration: Duration::from_millis(7),
            router: Some(Arc::from("api")),
            service: Some(Arc::from("backend")),
            service_url: Some(Arc::from("http://10.0.0.2:80")),
            retry_attempts: 0,
            user: None,
            request_count: 3,
            tls_facts: None,
            forwarded_for: None,
            forwarded_at: None,
            response_headers: None,
        }
    }

    fn config(format: AccessLogFormat) -> AccessLogConfig {
        let mut fields = AccessLogFields {
            headers_default_mode: FieldMode::Keep,
            ..AccessLogFields::default()
        };
        fields
            .headers
            .insert("authorization".into(), FieldMode::Redact);
        AccessLogConfig {
            format,
            fields,
            ..AccessLogConfig::default()
        }
    }

    #[test]
    fn common_log_format_line() {
        let line = formatted(&record(), AccessLogFormat::Common);
        assert_eq!(
            line,
            "10.0.0.1 - - [14/Nov/2023:22:13:20 +0000] \"GET /a?b=1 HTTP/1.1\" 200 12 \"-\" \"curl/8\" 3 \"api\" \"http://10.0.0.2:80\" 7ms\n"
        );
    }

    #[test]
    fn generic_clf_is_the_common_line_without_traefiks_tail() {
        let line = formatted(&record(), AccessLogFormat::GenericClf);
        assert_eq!(
            line,
            "10.0.0.1 - - [14/Nov/2023:22:13:20 +0000] \"GET /a?b=1 HTTP/1.1\" 200 12 \"-\" \"curl/8\"\n"
        );
        // A repeated header's values joined, an empty one as `-`, as Traefik's `toLog`.
        let mut r = record();
        r.headers.push((
            http::header::USER_AGENT,
            http::HeaderValue::from_static("extra"),
        ));
        r.headers
            .push((http::header::REFERER, http::HeaderValue::from_static("")));
        let line = formatted(&r, AccessLogFormat::GenericClf);
        assert!(line.ends_with(" \"-\" \"curl/8,extra\"\n"), "{line}");
    }

    #[test]
    fn a_named_user_fills_client_username_in_both_formats() {
        let named = AccessRecord {
            user: Some("alice".into()),
            ..record()
        };
        let common = formatted(&named, AccessLogFormat::Common);
        assert!(
            common.starts_with("10.0.0.1 - alice [14/Nov/2023"),
            "{common}"
        );
        let line = formatted(&named, AccessLogFormat::Json);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(v["ClientUsername"], "alice");
    }

    #[test]
    fn a_trusted_forwarders_x_forwarded_for_is_the_client_host_in_both_formats() {
        let forwarded = AccessRecord {
            forwarded_for: Some(http::HeaderValue::from_static("203.0.113.7, 10.0.0.9")),
            ..record()
        };
        let common = formatted(&forwarded, AccessLogFormat::Common);
        assert!(
            common.starts_with("203.0.113.7, 10.0.0.9 - - ["),
            "{common}"
        );
        let line = formatted(&forwarded, AccessLogFormat::Json);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(v["ClientHost"], "203.0.113.7, 10.0.0.9");
        // The peer's own address stays in `ClientAddr` and `ClientPort`.
        assert_eq!(v["ClientAddr"], "10.0.0.1:5555");
        assert_eq!(v["ClientPort"], "5555");
        // Sent text: a quote in it is escaped, never breaks the line.
        let quoted = AccessRecord {
            forwarded_for: Some(http::HeaderValue::from_static("1.2.3.4\", \"x")),
            ..record()
        };
        let line = formatted(&quoted, AccessLogFormat::Json);
        let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(v["ClientHost"], "1.2.3.4\", \"x");
    }

    #[test]
    fn json_line_has_traefik_field_names_and_redacts_headers() {
        let line = formatted(&record(), AccessLogFormat::Json);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(v["ClientHost"], "10.0.0.1");
        assert_eq!(v["DownstreamStatus"], 200);
        assert_eq!(v["RouterName"], "api");
        assert_eq!(v["ServiceName"], "backend");
        assert_eq!(v["ServiceURL"], "http://10.0.0.2:80");
        assert_eq!(v["ServiceAddr"], "10.0.0.2:80");
        assert_eq!(v["Duration"], 7_000_000);
        assert_eq!(v["RequestHost"], "example.com");
        assert_eq!(v["StartUTC"], "2023-11-14T22:13:20Z");
        assert_eq!(v["request_User-Agent"], "curl/8");
        assert_eq!(v["request_Authorization"], "REDACTED");
        assert_eq!(v["ClientPort"], "5555");
        assert_eq!(v["ClientAddr"], "10.0.0.1:5555");
        assert_eq!(v["ClientUsername"], "-", "nobody named");
        let v6 = AccessRecord {
            client: "[2001:db8::1]:443".parse().unwrap_or(record().client),
            ..record()
        };
        let line = formatted(&v6, AccessLogFormat::Json);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(v["ClientHost"], "2001:db8::1");
        assert_eq!(v["ClientPort"], "443");
        assert_eq!(v["ClientAddr"], "[2001:db8::1]:443");
    }

    #[test]
    fn a_full_queue_drops_and_counts_lines_instead_of_waiting() {
        let (control, _rx) = mpsc::unbounded_channel();
        let dropped = Arc::new(AtomicU64::new(0));
        let log = AccessLog {
            config: Arc::new(config(AccessLogFormat::Json)),
            inbox: Arc::new(Inbox::new(2)),
            control,
            dropped: dropped.clone(),
            requests: AtomicU64::new(0),
        };
        for _ in 0..5 {
            log.send(&mut Some(record()));
        }
        assert_eq!(dropped.load(Relaxed), 3);
    }

    #[tokio::test]
    async fn lines_past_the_files_last_64_kib_boundary_are_written_by_the_next_round() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("access.json");
        let mut config = config(AccessLogFormat::Json);
        config.file_path = Some(path.clone());
        config.buffering_size = 4096;
        let log =
            AccessLog::start(config, Arc::new(AtomicU64::new(0))).unwrap_or_else(|e| panic!("{e}"));
        // About 300 lines of ~0.7 KiB: they reach past the first boundary, not to the end.
        for _ in 0..300 {
            log.send(&mut Some(record()));
        }
        let lines = || {
            std::fs::read_to_string(&path)
                .map(|text| text.lines().count())
                .unwrap_or(0)
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while lines() < 300 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(lines(), 300, "every line is written without a flush");
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(
            len > 64 << 10,
            "the lines reached past the boundary ({len} bytes)"
        );
    }

    #[test]
    fn filters_keep_a_request_when_any_filter_matches() {
        let f = AccessLogFilters {
            status_codes: vec![500..=599],
            retry_attempts: true,
            min_duration: Some(Duration::from_millis(100)),
        };
        assert!(f.keeps(502, 0, Duration::ZERO));
        assert!(f.keeps(200, 1, Duration::ZERO));
        assert!(f.keeps(200, 0, Duration::from_millis(200)));
        assert!(!f.keeps(200, 0, Duration::from_millis(10)));
    }
}
