//! The access log's JSON line, with Traefik's field names (`pkg/middlewares/accesslog`), written
//! straight into the writer thread's output buffer: no map, no intermediate values, no
//! allocation for an IPv4 client (the usual case). Runs on the writer thread, never on the
//! request path.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::SystemTime;

use super::access_record::{AccessRecord, REDACTED, protocol};
use super::timefmt::push_rfc3339_utc;
use crate::config::{AccessLogConfig, FieldMode};

/// A field value.
enum V<'a> {
    S(&'a str),
    /// Bytes that need no JSON escape (written by this file: digits, a timestamp).
    Plain(&'a [u8]),
    N(u64),
    /// The request's start, RFC 3339 in UTC (the same instant in every field that has it).
    Time(SystemTime),
}

/// One JSON object being written.
struct Object<'o> {
    out: &'o mut Vec<u8>,
    config: &'o AccessLogConfig,
    /// No `fields.names` and `defaultMode: keep` (the default): every field is kept, no lookup.
    keep_all: bool,
    first: bool,
    /// Where in `out` the start time was written first: later fields copy it.
    stamp: Option<std::ops::Range<usize>>,
}

impl Object<'_> {
    fn raw(&mut self, key: &str, value: V<'_>) {
        // Keys are this file's own field names: plain ASCII words, nothing to escape.
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        self.out
            .extend_from_slice(if self.first { b"\"" } else { b",\"" });
        self.first = false;
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        match value {
            V::S(s) => json_string(self.out, s),
            V::Plain(b) => {
                self.out.push(b'"');
                self.out.extend_from_slice(b);
                self.out.push(b'"');
            }
            V::N(n) => push_u64(self.out, n),
            V::Time(t) => {
                self.out.push(b'"');
                let at = self.out.len();
                match self.stamp.clone() {
                    Some(first) => self.out.extend_from_within(first),
                    None => push_rfc3339_utc(self.out, t),
                }
                self.stamp = Some(at..self.out.len());
                self.out.push(b'"');
            }
        }
    }

    /// A request header as Traefik names it: `request_<Canonical-Name>` (header names are
    /// lower-case tokens: no escaping needed).
    fn header(&mut self, lower: &str, value: &str) {
        self.out
            .extend_from_slice(if self.first { b"\"" } else { b",\"" });
        self.first = false;
        self.out.extend_from_slice(b"request_");
        push_canonical(self.out, lower);
        self.out.extend_from_slice(b"\":");
        json_string(self.out, value);
    }

    /// A named field under its `fields.names` mode.
    fn field(&mut self, name: &str, value: V<'_>) {
        let mode = match self.keep_all {
            true => FieldMode::Keep,
            false => self.config.fields.field_mode(name),
        };
        match mode {
            FieldMode::Keep => self.raw(name, value),
            FieldMode::Drop => {}
            FieldMode::Redact => self.raw(name, V::S(REDACTED)),
        }
    }
}

/// Whether byte `b` must be escaped in a JSON string.
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// `s` as a JSON string (quotes, backslashes and control characters escaped). A value with
/// nothing to escape (nearly every one) is one check and one copy.
fn json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // A fold, not `any`: no early exit, so the check runs over the bytes without a branch each.
    if !bytes.iter().fold(false, |seen, &b| seen | needs_escape(b)) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut copied = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..0x20 => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[copied..i]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.extend_from_slice(escaped);
        }
        copied = i + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
}

/// `n` in decimal, without the formatting machinery (a JSON line has eight numbers).
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// The client address spelt once on the stack (`1.2.3.4:5` or `[v6]:5`): its host and port
/// halves are the `ClientHost` and `ClientPort` fields.
struct ClientText {
    buf: [u8; 64],
    len: usize,
    host: std::ops::Range<usize>,
    port: usize,
}

impl ClientText {
    fn of(addr: SocketAddr) -> ClientText {
        let mut c = ClientText {
            buf: [0; 64],
            len: 0,
            host: 0..0,
            port: 0,
        };
        let mut cursor = &mut c.buf[..];
        // 64 bytes hold the longest `[v6%scope]:port` (58): the write cannot fail.
        let _ = write!(cursor, "{addr}");
        let rest = cursor.len();
        c.len = c.buf.len() - rest;
        let text = &c.buf[..c.len];
        let colon = text.iter().rposition(|&b| b == b':').unwrap_or(c.len);
        c.port = (colon + 1).min(c.len);
        c.host = match addr {
            SocketAddr::V4(_) => 0..colon,
            // `[v6]:port`: the host is what the brackets hold.
            SocketAddr::V6(_) => 1..colon.saturating_sub(1).max(1),
        };
        c
    }

    fn text(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// One JSON line (with its newline), `start` being the request's arrival in wall-clock time.
pub(super) fn json_line(
    out: &mut Vec<u8>,
    r: &AccessRecord,
    config: &AccessLogConfig,
    start: SystemTime,
) {
    let (host, port) = match r.host().map(|h| h.rsplit_once(':')) {
        Some(Some((h, p))) if !h.ends_with(']') || h.starts_with('[') => (h, p),
        _ => (r.host().unwrap_or(""), ""),
    };
    let client = ClientText::of(r.client);
    let client_text = client.text();
    out.push(b'{');
    let keep_all = config.fields.names.is_empty() && config.fields.default_mode == FieldMode::Keep;
    let mut o = Object {
        out,
        config,
        keep_all,
        first: true,
        stamp: None,
    };
    o.field("ClientAddr", V::Plain(client_text));
    o.field(
        "ClientHost",
        V::Plain(client_text.get(client.host.clone()).unwrap_or(b"")),
    );
    o.field(
        "ClientPort",
        V::Plain(client_text.get(client.port..).unwrap_or(b"")),
    );
    o.field("ClientUsername", V::S(r.user.as_deref().unwrap_or("-")));
    o.field("DownstreamContentSize", V::N(r.response_bytes));
    o.field("DownstreamStatus", V::N(u64::from(r.status)));
    let nanos = u64::try_from(r.duration.as_nanos()).unwrap_or(u64::MAX);
    o.field("Duration", V::N(nanos));
    if let Some(origin) = r.origin_status {
        o.field("OriginStatus", V::N(u64::from(origin)));
    }
    o.field("RequestAddr", V::S(r.host().unwrap_or("")));
    o.field("RequestContentSize", V::N(r.request_bytes));
    o.field("RequestCount", V::N(r.request_count));
    o.field("RequestHost", V::S(host));
    o.field("RequestMethod", V::S(r.method.as_str()));
    o.field("RequestPath", V::S(r.path()));
    let port = if port.is_empty() { "-" } else { port };
    o.field("RequestPort", V::S(port));
    o.field("RequestProtocol", V::S(protocol(r.version)));
    o.field("RequestScheme", V::S(if r.tls { "https" } else { "http" }));
    o.field("RetryAttempts", V::N(u64::from(r.retry_attempts)));
    if let Some(router) = &r.router {
        o.field("RouterName", V::S(router));
    }
    if let Some(service) = &r.service {
        o.field("ServiceName", V::S(service));
    }
    if let Some(url) = &r.service_url {
        let addr = url.split_once("://").map_or(&**url, |(_, rest)| rest);
        o.field("ServiceAddr", V::S(addr.trim_end_matches('/')));
        o.field("ServiceURL", V::S(url));
    }
    o.field("StartLocal", V::Time(start));
    o.field("StartUTC", V::Time(start));
    o.field("entryPointName", V::S(&r.entrypoint));
    o.raw("level", V::Plain(b"info"));
    o.raw("msg", V::Plain(b""));
    o.raw("time", V::Time(start));
    let mut headers = r.headers.iter().peekable();
    while let Some((name, value)) = headers.next() {
        // A repeated header: its last value, as one key.
        if headers.peek().is_some_and(|(next, _)| next == name) {
            continue;
        }
        let value = match config.fields.header_mode(name.as_str()) {
            FieldMode::Keep => value.to_str().unwrap_or(""),
            FieldMode::Drop => continue,
            FieldMode::Redact => REDACTED,
        };
        o.header(name.as_str(), value);
    }
    o.out.extend_from_slice(b"}\n");
}

/// `user-agent` -> `User-Agent`, the spelling Traefik's (Go's) header keys have, appended.
fn push_canonical(out: &mut Vec<u8>, name: &str) {
    let mut upper = true;
    for &c in name.as_bytes() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == b'-';
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_json() {
        let mut out = Vec::new();
        json_string(&mut out, "a\"b\\c\nd\u{1}é");
        let out = String::from_utf8(out).unwrap_or_default();
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
        let parsed: String = serde_json::from_str(&out).expect("valid JSON");
        assert_eq!(parsed, "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0, 7, 10, 200, 1_234_567, u64::MAX] {
            let mut out = Vec::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
