//! The access log's JSON line, with Traefik's field names (`pkg/middlewares/accesslog`), written
//! straight into the writer thread's line buffer: no map, no intermediate values, so a line
//! costs a few small formatting allocations. Runs on the writer thread, never on the request
//! path.

use std::fmt::Write as _;

use super::access_record::{AccessRecord, REDACTED, protocol};
use super::rfc3339_utc;
use crate::config::{AccessLogConfig, FieldMode};

/// A field value.
enum V<'a> {
    S(&'a str),
    N(u64),
}

/// One JSON object being written.
struct Object<'o> {
    out: &'o mut String,
    first: bool,
}

impl Object<'_> {
    fn raw(&mut self, key: &str, value: V<'_>) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        // Keys are this file's own field names: plain ASCII words, nothing to escape.
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        match value {
            V::S(s) => json_string(self.out, s),
            V::N(n) => push_u64(self.out, n),
        }
    }

    /// A request header as Traefik names it: `request_<Canonical-Name>` (header names are
    /// lower-case tokens: no escaping needed).
    fn header(&mut self, lower: &str, value: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push_str("\"request_");
        push_canonical(self.out, lower);
        self.out.push_str("\":");
        json_string(self.out, value);
    }

    /// A named field under its `fields.names` mode.
    fn field(&mut self, config: &AccessLogConfig, name: &str, value: V<'_>) {
        match config.fields.field_mode(name) {
            FieldMode::Keep => self.raw(name, value),
            FieldMode::Drop => {}
            FieldMode::Redact => self.raw(name, V::S(REDACTED)),
        }
    }
}

/// `s` as a JSON string (quotes, backslashes and control characters escaped). Runs of bytes
/// that need no escape (nearly every value) are copied whole.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut copied = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 => "",
            _ => continue,
        };
        // Every byte matched above is ASCII, so `i` is a character boundary.
        out.push_str(&s[copied..i]);
        if escaped.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escaped);
        }
        copied = i + 1;
    }
    out.push_str(&s[copied..]);
    out.push('"');
}

/// `n` in decimal, without the formatting machinery (a JSON line has eight numbers).
fn push_u64(out: &mut String, mut n: u64) {
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
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

/// One JSON line (with its newline).
pub(super) fn json_line(out: &mut String, r: &AccessRecord, config: &AccessLogConfig) {
    let (host, port) = match r.host.as_deref().map(|h| h.rsplit_once(':')) {
        Some(Some((h, p))) if !h.ends_with(']') || h.starts_with('[') => (h, p),
        _ => (r.host.as_deref().unwrap_or(""), ""),
    };
    // One formatting of the client address; host and port are its two halves (`[v6]:port`).
    let client = r.client.to_string();
    let (client_host, client_port) = client
        .rsplit_once(':')
        .map_or((client.as_str(), ""), |(h, p)| {
            (h.trim_start_matches('[').trim_end_matches(']'), p)
        });
    let start = rfc3339_utc(r.start);
    out.push('{');
    let mut o = Object { out, first: true };
    o.field(config, "ClientAddr", V::S(&client));
    o.field(config, "ClientHost", V::S(client_host));
    o.field(config, "ClientPort", V::S(client_port));
    o.field(config, "ClientUsername", V::S("-"));
    o.field(config, "DownstreamContentSize", V::N(r.response_bytes));
    o.field(config, "DownstreamStatus", V::N(u64::from(r.status)));
    let nanos = u64::try_from(r.duration.as_nanos()).unwrap_or(u64::MAX);
    o.field(config, "Duration", V::N(nanos));
    if let Some(origin) = r.origin_status {
        o.field(config, "OriginStatus", V::N(u64::from(origin)));
    }
    o.field(config, "RequestAddr", V::S(r.host.as_deref().unwrap_or("")));
    o.field(config, "RequestContentSize", V::N(r.request_bytes));
    o.field(config, "RequestCount", V::N(r.request_count));
    o.field(config, "RequestHost", V::S(host));
    o.field(config, "RequestMethod", V::S(r.method.as_str()));
    o.field(config, "RequestPath", V::S(&r.path));
    let port = if port.is_empty() { "-" } else { port };
    o.field(config, "RequestPort", V::S(port));
    o.field(config, "RequestProtocol", V::S(protocol(r.version)));
    o.field(
        config,
        "RequestScheme",
        V::S(if r.tls { "https" } else { "http" }),
    );
    o.field(config, "RetryAttempts", V::N(u64::from(r.retry_attempts)));
    if let Some(router) = &r.router {
        o.field(config, "RouterName", V::S(router));
    }
    if let Some(service) = &r.service {
        o.field(config, "ServiceName", V::S(service));
    }
    if let Some(url) = &r.service_url {
        let addr = url.split_once("://").map_or(&**url, |(_, rest)| rest);
        o.field(config, "ServiceAddr", V::S(addr.trim_end_matches('/')));
        o.field(config, "ServiceURL", V::S(url));
    }
    o.field(config, "StartLocal", V::S(&start));
    o.field(config, "StartUTC", V::S(&start));
    o.field(config, "entryPointName", V::S(&r.entrypoint));
    o.raw("level", V::S("info"));
    o.raw("msg", V::S(""));
    o.raw("time", V::S(&start));
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
    o.out.push_str("}\n");
}

/// `user-agent` -> `User-Agent`, the spelling Traefik's (Go's) header keys have, appended.
fn push_canonical(out: &mut String, name: &str) {
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_json() {
        let mut out = String::new();
        json_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
        let parsed: String = serde_json::from_str(&out).expect("valid JSON");
        assert_eq!(parsed, "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0, 7, 10, 200, 1_234_567, u64::MAX] {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }
}
