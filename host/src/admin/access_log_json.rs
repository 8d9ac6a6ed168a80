//! The access log's JSON line, with Traefik's field names (`pkg/middlewares/accesslog`), written
//! straight into the writer thread's output buffer: no map, no intermediate values, no
//! allocation for an IPv4 client (the usual case). Runs on the writer thread, never on the
//! request path.
//!
//! Each field is one constant copy for its key (with the comma, the quotes and the colon, and
//! a string value's opening quote) and one for its value. The route's block (`RouterName` to
//! `ServiceURL`: the same bytes for every request of a route and server) is kept rendered, per
//! route, in a few slots of the [`Renderer`]; so is the client's (`ClientAddr` to `ClientPort`),
//! per client address, in one of two slots of a set chosen by its port.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::access_record::{AccessRecord, REDACTED, header_text, protocol};
use super::timefmt::{local_offset_at, push_rfc3339, spell_u64};
use crate::config::{AccessLogConfig, FieldMode};

/// A string field: `,"Name":"` then the value's bytes, escaped, and its closing quote.
macro_rules! string {
    ($o:expr, $name:literal, $value:expr) => {
        $o.string(concat!(",\"", $name, "\":\""), $name, $value)
    };
}

/// A string field whose value needs no escaping (digits, an address this file spelt).
macro_rules! plain {
    ($o:expr, $name:literal, $value:expr) => {
        $o.plain(concat!(",\"", $name, "\":\""), $name, $value)
    };
}

/// A string field whose value the caller checked for escapes (`plain`: none needed).
macro_rules! text {
    ($o:expr, $name:literal, $value:expr, $plain:expr) => {
        $o.text(concat!(",\"", $name, "\":\""), $name, $value, $plain)
    };
}

/// A number field: `,"Name":` then the digits.
macro_rules! number {
    ($o:expr, $name:literal, $value:expr) => {
        $o.number(concat!(",\"", $name, "\":"), $name, $value)
    };
}

/// A fractional number field: `,"Name":` then the number as Go's `encoding/json` writes a
/// `float64`.
macro_rules! float {
    ($o:expr, $name:literal, $value:expr) => {
        $o.float(concat!(",\"", $name, "\":"), $name, $value)
    };
}

/// A time field: RFC 3339 with nanoseconds (Go's RFC3339Nano) at `offset` seconds east of UTC.
macro_rules! time {
    ($o:expr, $name:literal, $value:expr, $offset:expr) => {
        $o.time(concat!(",\"", $name, "\":\""), $name, $value, $offset)
    };
}

/// One JSON object being written: every field starts with a comma; the first one's becomes
/// the opening brace when the object is done.
struct Object<'o> {
    out: &'o mut Vec<u8>,
    config: &'o AccessLogConfig,
    /// No `fields.names` and `defaultMode: keep` (the default): every field is kept, no lookup.
    keep_all: bool,
    /// Where in `out` the last time field's text was written, and what it wrote (the time and
    /// its offset): a field with the same text copies it.
    stamp: Option<(std::ops::Range<usize>, (Duration, i32))>,
}

impl Object<'_> {
    /// Whether the field is written: `Some(redacted)`, or `None` when dropped.
    #[inline(always)]
    fn kept(&self, name: &str) -> Option<bool> {
        if self.keep_all {
            return Some(false);
        }
        match self.config.fields.field_mode(name) {
            FieldMode::Keep => Some(false),
            FieldMode::Drop => None,
            FieldMode::Redact => Some(true),
        }
    }

    /// `key` ends with the value's opening quote.
    #[inline(always)]
    fn string(&mut self, key: &str, name: &str, value: &[u8]) {
        let Some(redacted) = self.kept(name) else {
            return;
        };
        self.out.extend_from_slice(key.as_bytes());
        match redacted {
            false => json_string_body(self.out, value),
            true => self.out.extend_from_slice(REDACTED.as_bytes()),
        }
        self.out.push(b'"');
    }

    /// A string field known `plain` (nothing to escape, checked by the caller), else escaped.
    #[inline(always)]
    fn text(&mut self, key: &str, name: &str, value: &[u8], plain: bool) {
        match plain {
            true => self.plain(key, name, value),
            false => self.string(key, name, value),
        }
    }

    /// `key` ends with the value's opening quote.
    #[inline(always)]
    fn plain(&mut self, key: &str, name: &str, value: &[u8]) {
        let Some(redacted) = self.kept(name) else {
            return;
        };
        self.out.extend_from_slice(key.as_bytes());
        self.out
            .extend_from_slice(if redacted { REDACTED.as_bytes() } else { value });
        self.out.push(b'"');
    }

    #[inline(always)]
    fn number(&mut self, key: &str, name: &str, value: u64) {
        self.unquoted(key, name, |out| push_u64(out, value));
    }

    /// Rare (a line with a `GzipRatio`): not inlined.
    fn float(&mut self, key: &str, name: &str, value: f64) {
        self.unquoted(key, name, |out| push_go_float(out, value));
    }

    /// A field whose value `write` spells without quotes (a number); redacted, the value is
    /// the quoted `REDACTED`.
    #[inline(always)]
    fn unquoted(&mut self, key: &str, name: &str, write: impl FnOnce(&mut Vec<u8>)) {
        let Some(redacted) = self.kept(name) else {
            return;
        };
        self.out.extend_from_slice(key.as_bytes());
        match redacted {
            false => write(self.out),
            true => {
                self.out.push(b'"');
                self.out.extend_from_slice(REDACTED.as_bytes());
                self.out.push(b'"');
            }
        }
    }

    /// `key` ends with the value's opening quote.
    #[inline(always)]
    fn time(&mut self, key: &str, name: &str, t: Duration, offset: i32) {
        let Some(redacted) = self.kept(name) else {
            return;
        };
        self.out.extend_from_slice(key.as_bytes());
        if redacted {
            self.out.extend_from_slice(REDACTED.as_bytes());
        } else {
            let at = self.out.len();
            match self.stamp.clone() {
                // The start again in the same zone (`StartUTC` where the local zone is UTC).
                Some((first, same)) if same == (t, offset) => self.out.extend_from_within(first),
                _ => push_rfc3339(self.out, t, offset),
            }
            self.stamp = Some((at..self.out.len(), (t, offset)));
        }
        self.out.push(b'"');
    }

    /// `prefix<Name>` fields for `headers` under the log's header modes, as Traefik's
    /// `redactHeaders` writes them: names as Go's `CanonicalMIMEHeaderKey` spells them, in Go's
    /// key order, a repeated header once with its values joined by `,`, a redacted one as
    /// `REDACTED`. Runs only when the log logs headers (not Traefik's default); sorts and
    /// allocates a little for that.
    fn headers(&mut self, prefix: &str, headers: &[(http::HeaderName, http::HeaderValue)]) {
        if headers.is_empty() {
            return;
        }
        let mut keyed: Vec<(Vec<u8>, usize)> = headers
            .iter()
            .enumerate()
            .map(|(at, (name, _))| {
                let mut key = Vec::with_capacity(name.as_str().len());
                push_canonical(&mut key, name.as_str());
                (key, at)
            })
            .collect();
        // Stable on ties: a repeated header's values keep their order.
        keyed.sort();
        let mut rest = keyed.as_slice();
        while let Some((key, first)) = rest.first() {
            let same = rest.iter().take_while(|(k, _)| k == key).count();
            let (group, after) = rest.split_at(same);
            rest = after;
            let Some((name, _)) = headers.get(*first) else {
                continue;
            };
            let values = group.iter().filter_map(|(_, at)| headers.get(*at));
            let Some(text) =
                header_text(&self.config.fields, name.as_str(), values.map(|(_, v)| v))
            else {
                continue;
            };
            self.out.extend_from_slice(b",\"");
            self.out.extend_from_slice(prefix.as_bytes());
            self.out.extend_from_slice(key);
            self.out.extend_from_slice(b"\":\"");
            json_string_body(self.out, text.as_bytes());
            self.out.push(b'"');
        }
    }
}

/// Whether byte `b` must be escaped in a JSON string.
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether any byte of `bytes` must be escaped in a JSON string: eight bytes per step (a
/// 15-byte `Host` is two steps, where a byte at a time was fifteen), the last step overlapping
/// the one before; shorter values a byte at a time.
#[inline(always)]
fn any_needs_escape(bytes: &[u8]) -> bool {
    if bytes.len() < 8 {
        // A fold, not `any`: no early exit, so the check runs without a branch per byte.
        return bytes.iter().fold(false, |seen, &b| seen | needs_escape(b));
    }
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let last = bytes.len() - 8;
    let mut flags = escape_flags(word(last));
    let mut at = 0;
    while at < last {
        flags |= escape_flags(word(at));
        at += 8;
    }
    flags != 0
}

/// Non-zero exactly when a byte of `w` is below a space, a `"` or a `\`: the classic "has a
/// byte less than n" and "has a zero byte" word tests (a borrow may also flag a byte above a
/// flagged one, never a word with none), without branches.
#[inline(always)]
fn escape_flags(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (control | zero(quote) | zero(backslash)) & HIGHS
}

/// `s` as a JSON string (quotes, backslashes and control characters escaped).
#[cfg(test)]
fn json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    json_string_body(out, s.as_bytes());
    out.push(b'"');
}

/// `bytes` escaped for the inside of a JSON string. A value with nothing to escape (nearly
/// every one) is one check and one copy, inlined where the field is written.
#[inline(always)]
fn json_string_body(out: &mut Vec<u8>, bytes: &[u8]) {
    if any_needs_escape(bytes) {
        json_string_escaped(out, bytes);
    } else {
        out.extend_from_slice(bytes);
    }
}

/// `bytes` (which hold something to escape) escaped for the inside of a JSON string.
#[cold]
#[inline(never)]
fn json_string_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
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
}

/// `n` in decimal, without the formatting machinery (a JSON line has eight numbers).
fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let at = spell_u64(&mut digits, n);
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
        match addr {
            // By hand: the formatting machinery costs more than the rest of the line's numbers.
            SocketAddr::V4(v4) => {
                for (i, octet) in v4.ip().octets().into_iter().enumerate() {
                    if i > 0 {
                        c.push(b".");
                    }
                    c.push_number(u64::from(octet));
                }
                c.host = 0..c.len;
                c.push(b":");
                c.port = c.len;
                c.push_number(u64::from(v4.port()));
            }
            SocketAddr::V6(_) => {
                let mut cursor = &mut c.buf[..];
                // 64 bytes hold the longest `[v6%scope]:port` (58): the write cannot fail.
                let _ = write!(cursor, "{addr}");
                let rest = cursor.len();
                c.len = c.buf.len() - rest;
                let text = &c.buf[..c.len];
                let colon = text.iter().rposition(|&b| b == b':').unwrap_or(c.len);
                c.port = (colon + 1).min(c.len);
                // `[v6]:port`: the host is what the brackets hold.
                c.host = 1..colon.saturating_sub(1).max(1);
            }
        }
        c
    }

    /// Appends `bytes` (the caller keeps within the buffer: 21 bytes for IPv4 at most).
    fn push(&mut self, bytes: &[u8]) {
        if let Some(into) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            into.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }

    fn push_number(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let at = spell_u64(&mut digits, n);
        self.push(&digits[at..]);
    }

    fn text(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// Renders JSON lines on the writer thread, keeping each recent route's and client's block
/// rendered.
pub(super) struct Renderer {
    routes: [Option<KeptBlock<RouteKey>>; ROUTE_SLOTS],
    /// Each recent client address's block, in one of the two slots of the set its port
    /// chooses, the more recently used first.
    clients: Box<[[Option<KeptBlock<SocketAddr>>; 2]; CLIENT_SETS]>,
}

impl Default for Renderer {
    fn default() -> Renderer {
        Renderer {
            routes: Default::default(),
            clients: Box::new([const { [None, None] }; CLIENT_SETS]),
        }
    }
}

/// How many sets of two client addresses' blocks the renderer keeps, chosen by port. A
/// client's connections have ports near one another but not in a row (Linux steps its
/// ephemeral ports by small random amounts), so two in one set are common: with one slot per
/// set, 64 connections' lines missed their slot one time in three.
const CLIENT_SETS: usize = 256;

/// How many routes' blocks the renderer keeps: a slot per route (by its names' addresses),
/// replaced when another route lands on it.
const ROUTE_SLOTS: usize = 8;

/// Fields rendered once for `key` and copied into each later line with the same key: the
/// route's (`,"RouterName":…` to `ServiceURL`) or the client's (`,"ClientAddr":…` to
/// `ClientPort`).
struct KeptBlock<K> {
    key: K,
    json: Vec<u8>,
}

/// The router, service and server URL a route's block was rendered from; the `Arc`s are held,
/// so their addresses stay theirs.
type RouteKey = [Option<Arc<str>>; 3];

/// Appends `slot`'s block when `matches` its key; else renders the fields with `render`, and
/// keeps what it appended in `slot` (its buffer reused) under `key()`.
#[inline(always)]
fn copy_or_render<K>(
    slot: &mut Option<KeptBlock<K>>,
    o: &mut Object<'_>,
    matches: impl FnOnce(&K) -> bool,
    key: impl FnOnce() -> K,
    render: impl FnOnce(&mut Object<'_>),
) {
    if let Some(block) = slot.as_ref()
        && matches(&block.key)
    {
        o.out.extend_from_slice(&block.json);
        return;
    }
    let from = o.out.len();
    render(o);
    let rendered = o.out.get(from..).unwrap_or_default();
    let mut json = slot.take().map(|b| b.json).unwrap_or_default();
    json.clear();
    json.extend_from_slice(rendered);
    *slot = Some(KeptBlock { key: key(), json });
}

fn same(a: &Option<Arc<str>>, b: &Option<Arc<str>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn address(a: &Option<Arc<str>>) -> usize {
    a.as_ref()
        .map_or(0, |a| Arc::as_ptr(a).cast::<u8>() as usize)
}

impl Renderer {
    /// One JSON line (with its newline), `start` being the request's arrival in wall-clock
    /// time since the epoch ([`super::timefmt::WallClock::since_epoch`]) and `written` the text
    /// of logrus' `time` field: when the writer took the line, as Traefik's buffered log writes
    /// it (`timefmt::rfc3339_local_seconds`, once per round).
    pub(super) fn line(
        &mut self,
        out: &mut Vec<u8>,
        r: &AccessRecord,
        config: &AccessLogConfig,
        start: Duration,
        written: &[u8],
    ) {
        // The target's bytes: copied from two `&str`, so UTF-8 without a check (`as_str`'s).
        let target = r.target.as_bytes();
        let (addr, path) = match r.host_len {
            Some(n) => target.split_at_checked(n).unwrap_or((b"", target)),
            None => (b"".as_slice(), target),
        };
        let (host, port) = split_host_port(addr);
        let opened = out.len();
        let keep_all =
            config.fields.names.is_empty() && config.fields.default_mode == FieldMode::Keep;
        let mut o = Object {
            out,
            config,
            keep_all,
            stamp: None,
        };
        match r.forwarded_client_host() {
            None if keep_all => self.client_block(&mut o, r.client),
            forwarded => client_fields(&mut o, r.client, forwarded),
        }
        string!(
            o,
            "ClientUsername",
            r.user.as_deref().unwrap_or("-").as_bytes()
        );
        number!(o, "DownstreamContentSize", r.response_bytes);
        number!(o, "DownstreamStatus", u64::from(r.status));
        let nanos = u64::try_from(r.duration.as_nanos()).unwrap_or(u64::MAX);
        number!(o, "Duration", nanos);
        // Where a service answered: the bytes of its body (`OriginContentSize`), and how much
        // larger they were than those sent (`GzipRatio`, only when they differ and some were
        // sent, as Traefik writes it).
        let origin_bytes = r
            .origin_status
            .map(|_| r.origin_bytes.unwrap_or(r.response_bytes));
        if let Some(origin) = origin_bytes
            && origin != r.response_bytes
            && r.response_bytes != 0
        {
            float!(o, "GzipRatio", origin as f64 / r.response_bytes as f64);
        }
        if let Some(origin) = origin_bytes {
            number!(o, "OriginContentSize", origin);
        }
        let origin_nanos = r
            .origin_duration()
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        if let Some(origin) = origin_nanos {
            number!(o, "OriginDuration", origin);
        }
        if let Some(origin) = r.origin_status {
            number!(o, "OriginStatus", u64::from(origin));
        }
        number!(
            o,
            "Overhead",
            nanos.saturating_sub(origin_nanos.unwrap_or(0))
        );
        // `RequestHost` and `RequestPort` are parts of `RequestAddr`: checked for escapes once.
        let addr_plain = !any_needs_escape(addr);
        text!(o, "RequestAddr", addr, addr_plain);
        number!(o, "RequestContentSize", r.request_bytes);
        number!(o, "RequestCount", r.request_count);
        text!(o, "RequestHost", host, addr_plain);
        // A method is a token (`http::Method` holds no quote, backslash or control byte).
        plain!(o, "RequestMethod", r.method.as_str().as_bytes());
        string!(o, "RequestPath", path);
        let port = if port.is_empty() { b"-" } else { port };
        text!(o, "RequestPort", port, addr_plain);
        plain!(o, "RequestProtocol", protocol(r.version).as_bytes());
        plain!(
            o,
            "RequestScheme",
            if r.tls { b"https".as_slice() } else { b"http" }
        );
        number!(o, "RetryAttempts", u64::from(r.retry_attempts));
        if keep_all {
            self.route_block(&mut o, r);
        } else {
            route_fields(&mut o, r);
        }
        // Traefik's `StartLocal` is the start in the process's time zone, `StartUTC` in UTC.
        let local = local_offset_at(start.as_secs());
        time!(o, "StartLocal", start, local);
        time!(o, "StartUTC", start, 0);
        if let Some(tls) = &r.tls_facts {
            plain!(o, "TLSCipher", tls.cipher.as_bytes());
            if let Some(subject) = &tls.client_subject {
                string!(o, "TLSClientSubject", subject.as_bytes());
            }
            plain!(o, "TLSVersion", tls.version.as_bytes());
        }
        // The headers and the lower-case keys, in Go's key order: `downstream_…`,
        // `entryPointName`, `level`, `msg`, `origin_…`, `request_…`, `time`.
        let responses = r.response_headers.as_deref();
        if let Some(h) = responses {
            o.headers("downstream_", &h.downstream);
        }
        string!(o, "entryPointName", r.entrypoint.as_bytes());
        o.out.extend_from_slice(b",\"level\":\"info\",\"msg\":\"\"");
        if let Some(h) = responses {
            o.headers("origin_", &h.origin);
        }
        o.headers("request_", &r.headers);
        o.keep_all = true;
        // logrus' own field: when the line was written, local, in whole seconds (RFC3339).
        plain!(o, "time", written);
        // `level` always comes: the first field's comma is there to become the brace.
        if let Some(first) = o.out.get_mut(opened) {
            *first = b'{';
        }
        o.out.extend_from_slice(b"}\n");
    }

    /// The client's block (`ClientAddr`, `ClientHost`, `ClientPort`), copied when this
    /// address's was rendered before, else rendered and kept: the requests of a keep-alive
    /// connection come from one address.
    fn client_block(&mut self, o: &mut Object<'_>, client: SocketAddr) {
        let set = &mut self.clients[usize::from(client.port()) % CLIENT_SETS];
        // Unless the first slot is this address's, the second comes first: it is the one
        // copied when it is this address's, else the one replaced (its buffer reused).
        if set[0].as_ref().map(|b| b.key) != Some(client) {
            set.swap(0, 1);
        }
        copy_or_render(
            &mut set[0],
            o,
            |addr| *addr == client,
            || client,
            |o| client_fields(o, client, None),
        );
    }

    /// The route's block, copied when it was rendered before, else rendered and kept.
    fn route_block(&mut self, o: &mut Object<'_>, r: &AccessRecord) {
        let slot = ((address(&r.router) >> 4) ^ (address(&r.service_url) >> 4)) % ROUTE_SLOTS;
        copy_or_render(
            &mut self.routes[slot],
            o,
            |[router, service, url]| {
                same(router, &r.router) && same(service, &r.service) && same(url, &r.service_url)
            },
            || [r.router.clone(), r.service.clone(), r.service_url.clone()],
            |o| route_fields(o, r),
        );
    }
}

/// `value` as Go's `encoding/json` writes a `float64`: the shortest decimal that reads back
/// as the same number (Rust's `Display` and `LowerExp` print the same digits), in exponent
/// form below 1e-6 and from 1e21 on, with the exponent's sign and no leading zero (`1e-7`,
/// `1e+21`). Not finite (JSON has no such number): `0`.
fn push_go_float(out: &mut Vec<u8>, value: f64) {
    let magnitude = value.abs();
    let written = if !value.is_finite() {
        write!(out, "0")
    } else if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        let text = format!("{value:e}");
        match text.split_once('e') {
            Some((digits, exponent)) if !exponent.starts_with('-') => {
                write!(out, "{digits}e+{exponent}")
            }
            _ => write!(out, "{text}"),
        }
    } else {
        write!(out, "{value}")
    };
    // Writing into a `Vec` cannot fail.
    debug_assert!(written.is_ok());
}

/// `RequestHost` and `RequestPort` of a `Host`, as Traefik splits it (Go's
/// `net.SplitHostPort`, the whole value and no port when that fails): `[::1]:80` is `::1`
/// and `80`, `example.com` has no port, nor has a bare IPv6 address.
fn split_host_port(addr: &[u8]) -> (&[u8], &[u8]) {
    // Byte scans: `str::split_once(char)` builds a searcher that costs more than the host.
    let split = if addr.first() == Some(&b'[') {
        addr.iter().position(|&c| c == b']').and_then(|close| {
            let port = (addr.get(close + 1) == Some(&b':')).then(|| addr.get(close + 2..))??;
            Some((addr.get(1..close)?, port))
        })
    } else {
        addr.iter().position(|&c| c == b':').and_then(|colon| {
            let port = addr.get(colon + 1..)?;
            match port.contains(&b':') {
                true => None,
                false => Some((addr.get(..colon)?, port)),
            }
        })
    };
    split.unwrap_or((addr, b""))
}

/// `ClientAddr`, `ClientHost` (`forwarded`: a trusted forwarder's `X-Forwarded-For`, as
/// Traefik logs it, escaped: sent text) and `ClientPort`, each under its mode.
fn client_fields(o: &mut Object<'_>, client: SocketAddr, forwarded: Option<&str>) {
    let client = ClientText::of(client);
    let text = client.text();
    plain!(o, "ClientAddr", text);
    match forwarded {
        Some(forwarded) => string!(o, "ClientHost", forwarded.as_bytes()),
        None => plain!(
            o,
            "ClientHost",
            text.get(client.host.clone()).unwrap_or(b"")
        ),
    }
    plain!(o, "ClientPort", text.get(client.port..).unwrap_or(b""));
}

/// `RouterName`, `ServiceAddr`, `ServiceName`, `ServiceURL`, each under its mode.
fn route_fields(o: &mut Object<'_>, r: &AccessRecord) {
    if let Some(router) = &r.router {
        string!(o, "RouterName", router.as_bytes());
    }
    // In Traefik's order (Go writes a map's keys sorted): `ServiceAddr` before `ServiceName`.
    let url = r.service_url.as_deref();
    if let Some(url) = url {
        let addr = url.split_once("://").map_or(url, |(_, rest)| rest);
        string!(o, "ServiceAddr", addr.trim_end_matches('/').as_bytes());
    }
    if let Some(service) = &r.service {
        string!(o, "ServiceName", service.as_bytes());
    }
    if let Some(url) = url {
        string!(o, "ServiceURL", url.as_bytes());
    }
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
    fn the_word_at_a_time_escape_check_agrees_with_the_byte_at_a_time_one() {
        // Every byte value at every place of values 1 to 24 bytes long, among bytes that
        // need no escape: below, at and above the 8-byte words and their overlapping last one.
        for len in 1..=24 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    assert_eq!(
                        any_needs_escape(&bytes),
                        needs_escape(b),
                        "byte {b:#04x} at {at} of {len}"
                    );
                }
            }
        }
        // Bytes just past a flagged one, and UTF-8's high bytes, flag nothing themselves.
        assert!(!any_needs_escape("ééééé/é?q=é".as_bytes()));
        assert!(any_needs_escape(b"\x1f\x20\x21\x22\x23"));
        assert!(!any_needs_escape(b""));
    }

    #[test]
    fn numbers_are_spelt_as_the_standard_library_spells_them() {
        let mut samples = vec![0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, u64::MAX];
        samples.extend((0..20).map(|p| 10u64.pow(p)));
        samples.extend((1..20).map(|p| 10u64.pow(p) - 1));
        samples.extend((0..64).map(|s| 0x9e37_79b9_7f4a_7c15u64 >> s));
        for n in samples {
            let mut out = Vec::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes(), "{n}");
        }
    }

    #[test]
    fn ipv4_clients_are_spelt_as_the_standard_library_spells_them() {
        for addr in ["0.0.0.0:0", "10.0.0.1:5555", "255.255.255.255:65535"] {
            let addr: SocketAddr = addr.parse().expect("an address");
            let c = ClientText::of(addr);
            assert_eq!(c.text(), addr.to_string().as_bytes());
            assert_eq!(&c.text()[c.host.clone()], addr.ip().to_string().as_bytes());
            assert_eq!(&c.text()[c.port..], addr.port().to_string().as_bytes());
        }
    }

    fn record(router: &Arc<str>, url: &Arc<str>) -> AccessRecord {
        AccessRecord {
            started: std::time::Instant::now(),
            client: SocketAddr::from(([10, 0, 0, 1], 5555)),
            method: http::Method::GET,
            target: AccessRecord::target(Some("example.com"), "/a").0,
            host_len: Some("example.com".len()),
            version: http::Version::HTTP_11,
            headers: Vec::new(),
            entrypoint: Arc::from("web"),
            tls: false,
            status: 200,
            origin_status: Some(200),
            request_bytes: 0,
            response_bytes: 12,
            origin_bytes: None,
            duration: std::time::Duration::from_millis(7),
            router: Some(router.clone()),
            service: Some(Arc::from("svc")),
            service_url: Some(url.clone()),
            retry_attempts: 0,
            user: None,
            request_count: 3,
            tls_facts: None,
            forwarded_for: None,
            forwarded_at: None,
            response_headers: None,
        }
    }

    /// Asserts that the line's keys come in Go's order (sorted bytes); returns them.
    fn assert_keys_sorted(line: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(line);
        // A key starts after `{` or `,` and ends at `":` (no value in these tests holds `,"`).
        let keys: Vec<String> = text
            .match_indices(['{', ','])
            .filter_map(|(at, _)| text.get(at + 1..)?.strip_prefix('"'))
            .filter_map(|rest| rest.split_once("\":").map(|(key, _)| key))
            .filter(|key| !key.contains('"'))
            .map(str::to_string)
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted, "{text}");
        keys
    }

    /// `r`'s line from a fresh renderer, started and written at the epoch.
    fn rendered(r: &AccessRecord, config: &AccessLogConfig) -> Vec<u8> {
        let mut out = Vec::new();
        Renderer::default().line(&mut out, r, config, Duration::ZERO, b"1970-01-01T00:00:00Z");
        out
    }

    fn parsed(line: &[u8]) -> serde_json::Value {
        serde_json::from_slice(line).expect("a JSON line")
    }

    /// `r` rendered by `renderer` (with what it kept from earlier lines), checked to be the
    /// line a fresh renderer writes; parsed.
    fn kept_as_fresh(renderer: &mut Renderer, r: &AccessRecord) -> serde_json::Value {
        let (config, start) = (AccessLogConfig::default(), Duration::ZERO);
        let mut kept = Vec::new();
        renderer.line(&mut kept, r, &config, start, b"");
        let mut fresh = Vec::new();
        Renderer::default().line(&mut fresh, r, &config, start, b"");
        assert_eq!(kept, fresh);
        parsed(&kept)
    }

    #[test]
    fn a_kept_route_block_renders_as_a_fresh_one() {
        let mut renderer = Renderer::default();
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a\"quoted\""), Arc::from("b"));
        let url: Arc<str> = Arc::from("http://10.0.0.2:80/");
        for router in [&a, &b, &a, &b] {
            let v = kept_as_fresh(&mut renderer, &record(router, &url));
            assert_eq!(v["RouterName"], &**router);
            assert_eq!(v["ServiceAddr"], "10.0.0.2:80");
        }
    }

    #[test]
    fn a_kept_client_block_renders_as_a_fresh_one_and_a_forwarded_client_host_bypasses_it() {
        let mut renderer = Renderer::default();
        let url: Arc<str> = Arc::from("http://10.0.0.2:80/");
        let router: Arc<str> = Arc::from("r");
        let v4 = SocketAddr::from(([10, 0, 0, 1], 5555));
        // The same slot (ports 256 apart), another address family, then the first again.
        let clients = [
            (v4, None),
            (SocketAddr::from(([10, 0, 0, 9], 5555 + 256)), None),
            ("[2001:db8::1]:5555".parse().unwrap_or(v4), None),
            (v4, None),
            (v4, Some("203.0.113.7")),
            (v4, None),
        ];
        for (client, forwarded) in clients {
            let mut r = record(&router, &url);
            r.client = client;
            r.forwarded_for = forwarded.map(http::HeaderValue::from_static);
            let v = kept_as_fresh(&mut renderer, &r);
            assert_eq!(v["ClientAddr"], client.to_string());
            let host = forwarded.map_or_else(|| client.ip().to_string(), str::to_string);
            assert_eq!(v["ClientHost"], host);
            assert_eq!(v["ClientPort"], client.port().to_string());
        }
    }

    #[test]
    fn two_clients_whose_ports_share_a_set_are_both_kept_and_a_third_replaces_the_older() {
        let mut renderer = Renderer::default();
        let (router, url): (Arc<str>, Arc<str>) = (Arc::from("r"), Arc::from("http://u"));
        let port = |p: u16| SocketAddr::from(([127, 0, 0, 1], p));
        let kept = |renderer: &Renderer| {
            let set = &renderer.clients[40_000 % CLIENT_SETS];
            set.each_ref()
                .map(|slot| slot.as_ref().map(|b| b.key.port()))
        };
        // Ports 256 apart share a set.
        for (client, after) in [
            (40_000, [Some(40_000), None]),
            (40_256, [Some(40_256), Some(40_000)]),
            (40_000, [Some(40_000), Some(40_256)]),
            (40_000, [Some(40_000), Some(40_256)]),
            (40_512, [Some(40_512), Some(40_000)]),
        ] {
            let mut r = record(&router, &url);
            r.client = port(client);
            let v = kept_as_fresh(&mut renderer, &r);
            assert_eq!(v["ClientPort"], client.to_string());
            assert_eq!(kept(&renderer), after, "after {client}");
        }
    }

    #[test]
    fn a_tls_request_names_its_version_cipher_and_client_subject_in_traefiks_key_order() {
        let config = AccessLogConfig::default();
        let mut r = record(&Arc::from("r"), &Arc::from("http://u"));
        r.tls = true;
        r.forwarded_at = Some(r.started + std::time::Duration::from_millis(2));
        r.tls_facts = Some(Arc::new(crate::admin::TlsFacts {
            version: "1.3",
            cipher: "TLS_AES_128_GCM_SHA256",
            client_subject: Some("CN=client\\, one,O=Example".into()),
        }));
        let out = rendered(&r, &config);
        let v = parsed(&out);
        assert_eq!(v["TLSVersion"], "1.3");
        assert_eq!(v["TLSCipher"], "TLS_AES_128_GCM_SHA256");
        assert_eq!(v["TLSClientSubject"], "CN=client\\, one,O=Example");
        assert_eq!(v["RequestScheme"], "https");
        // Traefik's JSON keys come sorted (Go's encoding of a map): so do ours.
        assert_keys_sorted(&out);

        // Without a client certificate: no subject; a plain request: none of the three.
        if let Some(facts) = r.tls_facts.as_mut().and_then(Arc::get_mut) {
            facts.client_subject = None;
        }
        let out = rendered(&r, &config);
        let v = parsed(&out);
        assert!(v.get("TLSClientSubject").is_none(), "{v}");
        assert_eq!(v["TLSVersion"], "1.3");
        r.tls_facts = None;
        let out = rendered(&r, &config);
        let v = parsed(&out);
        assert!(
            v.get("TLSVersion").is_none() && v.get("TLSCipher").is_none(),
            "{v}"
        );
    }

    #[test]
    fn origin_duration_runs_from_the_forward_and_overhead_is_the_rest() {
        let config = AccessLogConfig::default();
        let mut r = record(&Arc::from("r"), &Arc::from("http://u"));
        r.forwarded_at = Some(r.started + std::time::Duration::from_millis(2));
        let out = rendered(&r, &config);
        let v = parsed(&out);
        assert_eq!(v["Duration"], 7_000_000);
        assert_eq!(v["OriginDuration"], 5_000_000);
        assert_eq!(v["Overhead"], 2_000_000);
        // Answered before any service (a middleware, no route): all of it is overhead.
        r.forwarded_at = None;
        r.origin_status = None;
        let out = rendered(&r, &config);
        let v = parsed(&out);
        assert!(v.get("OriginDuration").is_none(), "{v}");
        assert_eq!(v["Overhead"], 7_000_000);
    }

    #[test]
    fn origin_content_size_is_the_upstreams_bytes_and_gzip_ratio_comes_when_they_differ() {
        let config = AccessLogConfig::default();
        let mut r = record(&Arc::from("r"), &Arc::from("http://u"));
        let line = |r: &AccessRecord| {
            let out = rendered(r, &config);
            parsed(&out)
        };
        // The same bytes both ways (no middleware changed the body): no ratio.
        let v = line(&r);
        assert_eq!(v["OriginContentSize"], 12);
        assert!(v.get("GzipRatio").is_none(), "{v}");
        // Compressed 1000 -> 12: Traefik's float, origin over sent.
        r.origin_bytes = Some(1000);
        let v = line(&r);
        assert_eq!(v["OriginContentSize"], 1000);
        assert_eq!(v["DownstreamContentSize"], 12);
        assert_eq!(v["GzipRatio"].as_f64(), Some(1000.0 / 12.0));
        // Nothing sent: no ratio (Traefik divides only by a size it has).
        r.response_bytes = 0;
        assert!(line(&r).get("GzipRatio").is_none());
        // No service answered (a middleware did): neither field.
        r.origin_status = None;
        let v = line(&r);
        assert!(v.get("OriginContentSize").is_none() && v.get("GzipRatio").is_none());
    }

    #[test]
    fn request_origin_and_downstream_headers_are_logged_as_traefik_logs_them() {
        let mut config = AccessLogConfig::default();
        config.fields.headers_default_mode = FieldMode::Keep;
        config
            .fields
            .headers
            .insert("authorization".into(), FieldMode::Redact);
        config
            .fields
            .headers
            .insert("x-cache".into(), FieldMode::Drop);
        let list = |pairs: &[(&'static str, &'static str)]| -> super::super::HeaderList {
            pairs
                .iter()
                .map(|(n, v)| {
                    (
                        http::HeaderName::from_static(n),
                        http::HeaderValue::from_static(v),
                    )
                })
                .collect()
        };
        let mut r = record(&Arc::from("r"), &Arc::from("http://u"));
        r.headers = list(&[
            ("x-b", "1"),
            ("accept", "*/*"),
            ("x-b", "2"),
            ("authorization", "Basic c2VjcmV0"),
            ("x_a", "under"),
        ]);
        r.response_headers = Some(Box::new(super::super::ResponseHeaders {
            origin: list(&[("content-type", "text/plain"), ("x-cache", "HIT")]),
            downstream: list(&[("vary", "Accept-Encoding"), ("content-type", "text/plain")]),
        }));
        let out = rendered(&r, &config);
        let keys = assert_keys_sorted(&out);
        let v = parsed(&out);
        // A repeated header once, its values joined (Go's `strings.Join(Values(k), ",")`).
        assert_eq!(v["request_X-B"], "1,2", "{v}");
        assert_eq!(v["request_Authorization"], "REDACTED");
        assert_eq!(v["request_Accept"], "*/*");
        // Go's canonical form capitalises only the first letter and those after `-`.
        assert_eq!(v["request_X_a"], "under");
        assert_eq!(v["origin_Content-Type"], "text/plain");
        assert!(v.get("origin_X-Cache").is_none(), "dropped: {v}");
        assert_eq!(v["downstream_Vary"], "Accept-Encoding");
        assert_eq!(v["downstream_Content-Type"], "text/plain");
        let tail: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .skip_while(|k| k.starts_with(char::is_uppercase))
            .collect();
        assert_eq!(
            tail,
            [
                "downstream_Content-Type",
                "downstream_Vary",
                "entryPointName",
                "level",
                "msg",
                "origin_Content-Type",
                "request_Accept",
                "request_Authorization",
                "request_X-B",
                "request_X_a",
                "time",
            ]
        );
    }

    #[test]
    fn ratios_are_written_as_gos_json_writes_a_float64() {
        // As Go 1.27's `json.Marshal(float64)` prints them.
        for (value, go) in [
            (1000.0 / 12.0, "83.33333333333333"),
            (2.0, "2"),
            (0.5, "0.5"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e-7, "1e-7"),
            (1.5e-9, "1.5e-9"),
            (0.000001, "0.000001"),
            (1e21, "1e+21"),
            (123456789012345680000.0, "123456789012345680000"),
            (0.0, "0"),
        ] {
            let mut out = Vec::new();
            push_go_float(&mut out, value);
            assert_eq!(String::from_utf8(out).expect("ascii"), go, "{value}");
        }
    }

    #[test]
    fn dropped_and_redacted_fields_leave_valid_json() {
        let mut config = AccessLogConfig::default();
        config.fields.default_mode = FieldMode::Drop;
        config
            .fields
            .names
            .insert("DownstreamStatus".into(), FieldMode::Redact);
        let r = record(&Arc::from("r"), &Arc::from("http://u"));
        let out = rendered(&r, &config);
        let v = parsed(&out);
        assert_eq!(v["DownstreamStatus"], "REDACTED");
        assert_eq!(v["level"], "info");
        assert!(v.get("RouterName").is_none(), "{v}");
        config.fields.names.clear();
        let out = rendered(&r, &config);
        let v = parsed(&out);
        assert_eq!(
            v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["level".into(), "msg".into(), "time".into()])
        );
    }

    #[test]
    fn hosts_split_into_host_and_port_as_traefik_splits_them() {
        for (addr, want) in [
            ("example.com:8080", ("example.com", "8080")),
            ("example.com", ("example.com", "")),
            ("[::1]:443", ("::1", "443")),
            ("[::1]", ("[::1]", "")),
            ("::1", ("::1", "")),
            ("", ("", "")),
        ] {
            let want = (want.0.as_bytes(), want.1.as_bytes());
            assert_eq!(split_host_port(addr.as_bytes()), want, "{addr}");
        }
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
