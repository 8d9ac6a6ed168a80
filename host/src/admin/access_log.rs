//! The access log: Traefik's Common Log Format line or JSON object (Traefik's field names),
//! formatted when the request finishes and written off the request path.
//!
//! A finished request formats its [`AccessRecord`] into its thread's line buffer
//! ([`Shards`]: one uncontended lock, never waits); when that buffer is full the line is counted
//! as dropped (`wasmgate_accesslog_dropped_lines_total`). One writer thread polls the buffers
//! (every 5 ms while lines come, 50 ms when idle), swapping each for an empty one and writing
//! what it took; requests never wake it. `SIGUSR1` reopens the file (after logrotate renamed
//! it), as Traefik does; lines formatted before the writer takes the signal go to the old file,
//! later ones to the new.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc;
use std::time::Duration;

use crate::config::{AccessLogConfig, AccessLogFormat, FieldMode};

use super::access_log_shards::Shards;
pub use super::access_record::AccessRecord;
use super::access_record::{REDACTED, protocol};
use super::timefmt::Clock;

/// What the writer is asked besides writing lines.
enum Control {
    /// Reopen the file (`SIGUSR1`).
    Reopen,
    /// Write every line formatted so far, then answer.
    Flush(mpsc::Sender<()>),
}

/// The handle requests log through; cheap to share.
#[derive(Debug)]
pub struct AccessLog {
    pub(super) config: Arc<AccessLogConfig>,
    shards: Arc<Shards>,
    control: mpsc::Sender<Control>,
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
        let shards = Arc::new(Shards::new(config.buffering_size));
        let (control, rx) = mpsc::channel();
        let writer_shards = shards.clone();
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_lines(rx, &writer_shards, out))?;
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
            config: Arc::new(config),
            shards,
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

    /// Formats the line of a finished request into this thread's buffer; never waits. When
    /// the writer is behind (the buffer is full) the line is dropped and counted.
    pub fn log(&self, record: &AccessRecord) {
        let config = &*self.config;
        if !self
            .shards
            .append(|out, clock| format_line(out, record, config, clock))
        {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    /// Waits (blocking, up to `limit`) until every line formatted so far is written.
    pub fn flush(&self, limit: Duration) {
        let (done, wait) = mpsc::channel();
        if self.control.send(Control::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(limit);
        }
    }
}

enum Output {
    Stdout,
    File(PathBuf, std::fs::File),
}

impl Output {
    fn open(path: Option<PathBuf>) -> std::io::Result<Output> {
        Ok(match path {
            None => Output::Stdout,
            Some(path) => {
                let file = open_append(&path)?;
                Output::File(path, file)
            }
        })
    }

    /// Writes a batch of whole lines (one `write` for a file, most of the time).
    fn write(&mut self, lines: &[u8]) {
        let written = match self {
            Output::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(lines).and_then(|()| out.flush())
            }
            Output::File(_, file) => file.write_all(lines),
        };
        if let Err(e) = written {
            tracing::warn!("access log: cannot write: {e}");
        }
    }

    fn reopen(&mut self) {
        if let Output::File(path, file) = self {
            match open_append(path) {
                Ok(new) => *file = new,
                Err(e) => tracing::warn!("access log: cannot reopen {}: {e}", path.display()),
            }
        }
    }
}

fn open_append(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// The writer thread: until the log's handle is gone.
///
/// It polls the buffers instead of waiting to be woken: waking it for every line would cost
/// each request a futex call and a context switch (measured as +10 µs of system time per
/// request on the plain proxy path, when the lines went through a channel). Each round takes
/// every buffer's lines and writes them, one `write` per buffer, and sleeps [`POLL_BUSY`] after
/// a round that wrote lines, else [`POLL_IDLE`].
fn write_lines(control: mpsc::Receiver<Control>, shards: &Shards, mut out: Output) {
    let mut spares: Vec<String> = (0..shards.count()).map(|_| String::new()).collect();
    loop {
        let wrote = drain(shards, &mut spares, &mut out);
        loop {
            match control.try_recv() {
                Ok(Control::Reopen) => {
                    drain(shards, &mut spares, &mut out);
                    out.reopen();
                }
                Ok(Control::Flush(done)) => {
                    drain(shards, &mut spares, &mut out);
                    let _ = done.send(());
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    drain(shards, &mut spares, &mut out);
                    return;
                }
            }
        }
        std::thread::sleep(if wrote { POLL_BUSY } else { POLL_IDLE });
    }
}

/// Takes every buffer's lines and writes them; whether there were any.
fn drain(shards: &Shards, spares: &mut [String], out: &mut Output) -> bool {
    let mut wrote = false;
    for (i, spare) in spares.iter_mut().enumerate() {
        shards.take(i, spare);
        if !spare.is_empty() {
            out.write(spare.as_bytes());
            spare.clear();
            wrote = true;
        }
    }
    wrote
}

/// The writer's pause after a round that wrote lines.
const POLL_BUSY: Duration = Duration::from_millis(5);
/// The writer's pause after a round that found nothing.
const POLL_IDLE: Duration = Duration::from_millis(50);

/// One line (with its newline) in the configured format, appended to `out`; `clock` spells
/// the start time.
pub(super) fn format_line(
    out: &mut String,
    r: &AccessRecord,
    config: &AccessLogConfig,
    clock: &mut Clock,
) {
    match config.format {
        AccessLogFormat::Common => common_line(out, r, config, clock),
        AccessLogFormat::Json => super::access_log_json::json_line(out, r, config, clock),
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
fn common_line(out: &mut String, r: &AccessRecord, config: &AccessLogConfig, clock: &mut Clock) {
    use std::fmt::Write as _;
    let dash = |v: Option<&str>| v.map_or("-".to_string(), str::to_string);
    let quoted = |v: Option<&str>| v.map_or("\"-\"".to_string(), |v| format!("\"{v}\""));
    let client = r.client.ip().to_string();
    let status = r.status.to_string();
    let size = r.response_bytes.to_string();
    let count = r.request_count.to_string();
    let _ = writeln!(
        out,
        "{} - - [{}] \"{} {} {}\" {} {} {} {} {} {} {} {}ms",
        dash(field(config, "ClientHost", &client)),
        clock.clf(r.start),
        dash(field(config, "RequestMethod", r.method.as_str())),
        dash(field(config, "RequestPath", &r.path)),
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
    use std::time::SystemTime;

    fn record() -> AccessRecord {
        AccessRecord {
            start: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            client: SocketAddr::from(([10, 0, 0, 1], 5555)),
            method: http::Method::GET,
            path: "/a?b=1".into(),
            version: http::Version::HTTP_11,
            host: Some("example.com:8080".into()),
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
        let mut line = String::new();
        format_line(
            &mut line,
            &record(),
            &config(AccessLogFormat::Common),
            &mut Clock::default(),
        );
        assert_eq!(
            line,
            "10.0.0.1 - - [14/Nov/2023:22:13:20 +0000] \"GET /a?b=1 HTTP/1.1\" 200 12 \"-\" \"curl/8\" 3 \"api\" \"http://10.0.0.2:80\" 7ms\n"
        );
    }

    #[test]
    fn json_line_has_traefik_field_names_and_redacts_headers() {
        let mut line = String::new();
        format_line(
            &mut line,
            &record(),
            &config(AccessLogFormat::Json),
            &mut Clock::default(),
        );
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
        let v6 = AccessRecord {
            client: "[2001:db8::1]:443".parse().unwrap_or(record().client),
            ..record()
        };
        line.clear();
        format_line(
            &mut line,
            &v6,
            &config(AccessLogFormat::Json),
            &mut Clock::default(),
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(v["ClientHost"], "2001:db8::1");
        assert_eq!(v["ClientPort"], "443");
        assert_eq!(v["ClientAddr"], "[2001:db8::1]:443");
    }

    #[test]
    fn a_full_buffer_drops_and_counts_lines_instead_of_waiting() {
        let dropped = Arc::new(AtomicU64::new(0));
        let log = AccessLog {
            config: Arc::new(config(AccessLogFormat::Json)),
            shards: Arc::new(Shards::new(2)),
            control: mpsc::channel().0,
            dropped: dropped.clone(),
            requests: AtomicU64::new(0),
        };
        for _ in 0..5 {
            log.log(&record());
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
