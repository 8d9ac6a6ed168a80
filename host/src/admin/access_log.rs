//! The access log: Traefik's Common Log Format line or JSON object (Traefik's field names),
//! written off the request path.
//!
//! A request hands an [`AccessRecord`] to a bounded channel (`try_send`: never waits); when the
//! channel is full the line is counted as dropped (`wasmgate_accesslog_dropped_lines_total`).
//! One writer thread polls the channel (every 5 ms while lines come, 50 ms when idle), formats
//! and writes what it finds with one flush per round; requests never wake it.
//! `SIGUSR1` reopens the file (after logrotate renamed it), as Traefik does; lines sent before
//! the signal go to the old file, later ones to the new.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

use crate::config::{AccessLogConfig, AccessLogFormat, FieldMode};

pub use super::access_record::AccessRecord;
use super::access_record::{REDACTED, protocol};
use super::timefmt::{WallClock, clf_time};

#[expect(
    clippy::large_enum_variant,
    reason = "lines are nearly every message: boxing them would cost an allocation per request, \
              and a free on the writer thread, to save channel slot space"
)]
enum Msg {
    /// A record by value: the channel's slots hold it, no allocation of its own.
    Line(AccessRecord),
    Reopen,
    Flush(std::sync::mpsc::Sender<()>),
}

/// The handle requests log through; cheap to share.
#[derive(Debug)]
pub struct AccessLog {
    pub(super) config: Arc<AccessLogConfig>,
    tx: mpsc::Sender<Msg>,
    dropped: Arc<AtomicU64>,
    requests: AtomicU64,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Msg")
    }
}

impl AccessLog {
    /// Opens the output and starts the writer thread; with a file, `SIGUSR1` reopens it. Must
    /// run inside the tokio runtime (the signal listener).
    pub fn start(config: AccessLogConfig, dropped: Arc<AtomicU64>) -> std::io::Result<AccessLog> {
        let out = Output::open(config.file_path.clone())?;
        let (tx, rx) = mpsc::channel(config.buffering_size.max(1));
        let config = Arc::new(config);
        let writer_config = config.clone();
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_lines(rx, out, &writer_config))?;
        if config.file_path.is_some() {
            let reopen = tx.clone();
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()) {
                Ok(mut usr1) => {
                    tokio::spawn(async move {
                        while usr1.recv().await.is_some() {
                            if reopen.send(Msg::Reopen).await.is_err() {
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
            tx,
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

    /// Hands a line to the writer; never waits. When the writer is behind the line is dropped
    /// and counted.
    pub fn send(&self, record: AccessRecord) {
        if self.tx.try_send(Msg::Line(record)).is_err() {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    /// Waits (blocking, up to `limit`) until every line sent so far is written.
    pub fn flush(&self, limit: Duration) {
        let (done, wait) = std::sync::mpsc::channel();
        if self.tx.blocking_send(Msg::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(limit);
        }
    }
}

enum Output {
    Stdout(std::io::Stdout),
    File(PathBuf, std::fs::File),
}

impl Output {
    fn open(path: Option<PathBuf>) -> std::io::Result<Output> {
        Ok(match path {
            None => Output::Stdout(std::io::stdout()),
            Some(path) => {
                let file = open_append(&path)?;
                Output::File(path, file)
            }
        })
    }

    /// Writes out and empties `buf` (the lines formatted so far).
    fn write_out(&mut self, buf: &mut Vec<u8>) {
        if buf.is_empty() {
            return;
        }
        let written = match self {
            Output::Stdout(w) => w.lock().write_all(buf).and_then(|()| w.lock().flush()),
            Output::File(_, w) => w.write_all(buf),
        };
        if let Err(e) = written {
            tracing::warn!("access log: cannot write: {e}");
        }
        buf.clear();
    }
}

fn open_append(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// The writer thread: until every sender is gone.
///
/// It polls the channel instead of waiting on it: a parked receiver would make every request's
/// `try_send` wake it (a futex call and a context switch per line, measured as +10 µs of system
/// time per request on the plain proxy path). Each round drains what came, formats the lines
/// straight into one buffer written out whenever it nears [`WRITE_BUFFER`] and at the round's
/// end, and sleeps [`POLL_BUSY`] after a round that wrote lines, else [`POLL_IDLE`]: at the
/// default 4096-line channel that holds up to ~80 000 lines a second coming out of idle
/// before any is dropped.
fn write_lines(mut rx: mpsc::Receiver<Msg>, mut out: Output, config: &AccessLogConfig) {
    let mut buf = Vec::with_capacity(WRITE_BUFFER + 4096);
    loop {
        let mut wrote = false;
        // One wall-clock reading per round turns the requests' arrival instants into times.
        let clock = WallClock::now();
        loop {
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    out.write_out(&mut buf);
                    return;
                }
            };
            match msg {
                Msg::Line(record) => {
                    format_line(&mut buf, &record, config, &clock);
                    // The record is freed here, on the writer thread.
                    drop(record);
                    if buf.len() >= WRITE_BUFFER {
                        out.write_out(&mut buf);
                    }
                    wrote = true;
                }
                Msg::Reopen => {
                    out.write_out(&mut buf);
                    if let Output::File(path, w) = &mut out {
                        match open_append(path) {
                            Ok(file) => *w = file,
                            Err(e) => {
                                tracing::warn!("access log: cannot reopen {}: {e}", path.display())
                            }
                        }
                    }
                }
                Msg::Flush(done) => {
                    out.write_out(&mut buf);
                    let _ = done.send(());
                }
            }
        }
        out.write_out(&mut buf);
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
    let start = clock.wall(r.started);
    match config.format {
        AccessLogFormat::Common => common_line(out, r, config, start),
        AccessLogFormat::Json => super::access_log_json::json_line(out, r, config, start),
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

fn header<'a>(config: &AccessLogConfig, r: &'a AccessRecord, name: &str) -> Option<&'a str> {
    let (n, v) = r.headers.iter().find(|(n, _)| n.as_str() == name)?;
    match config.fields.header_mode(n.as_str()) {
        FieldMode::Keep => Some(v.to_str().unwrap_or("-")),
        FieldMode::Drop => None,
        FieldMode::Redact => Some(REDACTED),
    }
}

/// Traefik's CLF: `ClientHost - ClientUsername [StartLocal] "RequestMethod RequestPath
/// RequestProtocol" DownstreamStatus DownstreamContentSize "Referer" "User-Agent" RequestCount
/// "RouterName" "ServiceURL" Durationms`.
fn common_line(out: &mut Vec<u8>, r: &AccessRecord, config: &AccessLogConfig, start: SystemTime) {
    let dash = |v: Option<&str>| v.map_or("-".to_string(), str::to_string);
    let quoted = |v: Option<&str>| v.map_or("\"-\"".to_string(), |v| format!("\"{v}\""));
    let client = r.client.ip().to_string();
    let status = r.status.to_string();
    let size = r.response_bytes.to_string();
    let count = r.request_count.to_string();
    let _ = writeln!(
        out,
        "{} - {} [{}] \"{} {} {}\" {} {} {} {} {} {} {} {}ms",
        dash(field(config, "ClientHost", &client)),
        dash(
            r.user
                .as_deref()
                .and_then(|u| field(config, "ClientUsername", u))
        ),
        clf_time(start),
        dash(field(config, "RequestMethod", r.method.as_str())),
        dash(field(config, "RequestPath", r.path())),
        dash(field(config, "RequestProtocol", protocol(r.version))),
        dash(field(config, "DownstreamStatus", &status)),
        dash(field(config, "DownstreamContentSize", &size)),
        quoted(header(config, r, "referer")),
        quoted(header(config, r, "user-agent")),
        dash(field(config, "RequestCount", &count)),
        quoted(
            r.router
                .as_deref()
                .and_then(|v| field(config, "RouterName", v))
        ),
        quoted(
            r.service_url
                .as_deref()
                .and_then(|v| field(config, "ServiceURL", v))
        ),
        r.duration.as_millis(),
    );
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
            target: "example.com:8080/a?b=1".into(),
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
            duration: Duration::from_millis(7),
            router: Some(Arc::from("api")),
            service: Some(Arc::from("backend")),
            service_url: Some(Arc::from("http://10.0.0.2:80")),
            retry_attempts: 0,
            user: None,
            request_count: 3,
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
        let (tx, _rx) = mpsc::channel(2);
        let dropped = Arc::new(AtomicU64::new(0));
        let log = AccessLog {
            config: Arc::new(config(AccessLogFormat::Json)),
            tx,
            dropped: dropped.clone(),
            requests: AtomicU64::new(0),
        };
        for _ in 0..5 {
            log.send(record());
        }
        assert_eq!(dropped.load(Relaxed), 3);
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
