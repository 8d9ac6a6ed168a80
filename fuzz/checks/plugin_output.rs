//! Plugin output: whatever a plugin replies with or edits, the host never panics, accepts
//! exactly what HTTP allows within the middleware's budget, leaves a head unchanged when it
//! refuses an edit, and every accepted reply or edit yields a head that re-parses as valid
//! HTTP/1.1 with `httparse` (the parser hyper uses) with the same status, target and fields.
//!
//! The input is a small script, one step per line (`\n`), so that seeds are readable and
//! libFuzzer's mutations stay meaningful. The first byte of a line picks the step:
//!
//! ```text
//! S<status>          reply status (decimal; default 200)
//! H<name>:<value>    a reply header            B<bytes>   bytes appended to the reply body
//! G<count>           <count> generated reply headers x-g0, x-g1... (count capped at 70 000)
//! L<headers> <body>  the budget: max headers, max reply body bytes (default: the defaults)
//! U<target>          the request target before any edit (default /start?x=1; ignored if
//!                    invalid); an authority-form target (`a.test:443`) makes it a CONNECT
//! s<name>:<value>    request head set-header   a<name>:<value>  request head append-header
//! r<name>            request head remove-header
//! n<count>           <count> request head appends of generated names (capped at 70 000)
//! p<path>            request head set-path     q<query>   set-query(some)   Q  set-query(none)
//! t<name>:<value>    response head set-header  u<name>:<value>  response head append-header
//! c<status>          response head set-status
//! P<count>           pads the next header value with <count> bytes `a` (capped at 64 KiB)
//! ```
//! In names and values `\n`, `\r`, `\t`, `\0`, `\\` and `\xHH` are escapes; a name is cut at the
//! first `:` before unescaping, so `\x3a` puts a colon in a name. Other first bytes are ignored.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderMap, Request, Response, Uri};
use wasmgate::plugins::MiddlewareBudget;
use wasmgate::plugins::bindings::Reply;
use wasmgate::plugins::head_edits::{HeaderEdits, header_name, header_value};
use wasmgate::plugins::heads::{MAX_HEADER_VALUE_BYTES, RequestHead, ResponseHead};
use wasmgate::plugins::reply::validate_reply;

/// Distinct header names a `HeaderMap` can hold.
const HEADER_MAP_MAX_NAMES: usize = 24_576;
/// Upper bound of a generated count: past `HeaderMap`'s 32 768-entry capacity.
const MAX_COUNT: usize = 70_000;
/// Upper bound of `P` padding: past the 16 KiB header value limit.
const MAX_PAD: usize = 64 * 1024;

/// The check libFuzzer and the corpus regression test run on one input. Panics when a property
/// fails.
pub fn check_plugin_output(data: &[u8]) {
    let mut script = Script::default();
    for line in data.split(|&b| b == b'\n') {
        if let Some((&op, arg)) = line.split_first() {
            script.step(op, arg);
        }
    }
    script.finish();
}

struct Script {
    budget: MiddlewareBudget,
    reply: Reply,
    request: RequestHead,
    response: ResponseHead,
    target_set: bool,
    pad: usize,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            budget: MiddlewareBudget::default(),
            reply: Reply {
                status: 200,
                headers: Vec::new(),
                body: Vec::new(),
            },
            request: request_head(Uri::from_static("/start?x=1")),
            response: ResponseHead::new(Response::new(()).into_parts().0),
            target_set: false,
            pad: 0,
        }
    }
}

impl Script {
    fn step(&mut self, op: u8, arg: &[u8]) {
        match op {
            b'S' => self.reply.status = decimal(arg) as u16,
            b'H' => {
                let (name, value) = self.header(arg);
                self.reply.headers.push((name, value));
            }
            b'B' => self.reply.body.extend_from_slice(arg),
            b'G' => {
                for i in 0..decimal(arg).min(MAX_COUNT) {
                    self.reply.headers.push((format!("x-g{i}"), b"1".to_vec()));
                }
            }
            b'L' => {
                let text = String::from_utf8_lossy(arg);
                let mut numbers = text.split(' ').map(|n| decimal(n.as_bytes()));
                self.budget.max_headers = numbers.next().unwrap_or(0);
                self.budget.max_reply_body_size = numbers.next().unwrap_or(0);
            }
            b'U' => self.set_target(arg),
            b's' | b'a' => {
                let (name, value) = self.header(arg);
                let max = self.budget.max_headers;
                check_header_edit(
                    &mut self.request.parts.headers,
                    max,
                    op == b's',
                    &name,
                    value,
                );
                check_request_wire(&self.request);
            }
            b'r' => {
                let name = String::from_utf8_lossy(&unescape(arg)).into_owned();
                HeaderEdits::remove(&mut self.request.parts.headers, &name);
                if header_name(&name).is_ok() {
                    assert!(HeaderEdits::get(&self.request.parts.headers, &name).is_none());
                }
                check_request_wire(&self.request);
            }
            b'n' => {
                let max = self.budget.max_headers;
                for i in 0..decimal(arg).min(MAX_COUNT) {
                    let headers = &mut self.request.parts.headers;
                    let _ = HeaderEdits::append(headers, max, &format!("x-n{i}"), b"1".to_vec());
                }
                check_request_wire(&self.request);
            }
            b'p' => self.set_path(arg),
            b'q' => self.set_query(Some(arg)),
            b'Q' => self.set_query(None),
            b't' | b'u' => {
                let (name, value) = self.header(arg);
                let max = self.budget.max_headers;
                check_header_edit(
                    &mut self.response.parts.headers,
                    max,
                    op == b't',
                    &name,
                    value,
                );
                check_response_wire(&self.response.parts, "response head");
            }
            b'c' => {
                let status = decimal(arg) as u16;
                let before = self.response.parts.status;
                match self.response.set_status(status) {
                    Ok(()) => {
                        assert!((200..=599).contains(&status), "set-status took {status}");
                        assert_eq!(self.response.parts.status.as_u16(), status);
                    }
                    Err(_) => {
                        assert!(
                            !(200..=599).contains(&status),
                            "set-status refused {status}"
                        );
                        assert_eq!(self.response.parts.status, before);
                    }
                }
                check_response_wire(&self.response.parts, "response head");
            }
            b'P' => self.pad = decimal(arg).min(MAX_PAD),
            _ => {}
        }
    }

    /// A header step's name and value, the value padded as a `P` step asked.
    fn header(&mut self, arg: &[u8]) -> (String, Vec<u8>) {
        let (name, value) = match arg.iter().position(|&b| b == b':') {
            Some(colon) => (&arg[..colon], &arg[colon + 1..]),
            None => (arg, &[][..]),
        };
        let name = String::from_utf8_lossy(&unescape(name)).into_owned();
        let mut value = unescape(value);
        value.resize(value.len() + std::mem::take(&mut self.pad), b'a');
        assert_eq!(
            header_name(&name).is_ok(),
            is_field_name(name.as_bytes()),
            "{name:?}"
        );
        assert_eq!(
            header_value(value.clone()).is_ok(),
            is_field_value(&value),
            "value {:?}",
            String::from_utf8_lossy(&value)
        );
        (name, value)
    }

    fn set_target(&mut self, arg: &[u8]) {
        if self.target_set {
            return;
        }
        self.target_set = true;
        let Ok(uri) = Uri::try_from(arg) else {
            return;
        };
        let connect = uri.scheme().is_none() && uri.path_and_query().is_none();
        self.request = request_head(uri);
        if connect {
            self.request.parts.method = http::Method::CONNECT;
        }
        check_request_wire(&self.request);
    }

    fn set_path(&mut self, arg: &[u8]) {
        let path = String::from_utf8_lossy(&unescape(arg)).into_owned();
        let before = self.request.parts.uri.clone();
        match self.request.set_path(&path) {
            Ok(()) => {
                assert_eq!(
                    self.request.path(),
                    path,
                    "set-path({path:?}) from {before}"
                );
                assert_eq!(self.request.query(), before.query(), "set-path({path:?})");
            }
            Err(_) => assert_eq!(self.request.parts.uri, before, "a refused set-path edited"),
        }
        check_request_wire(&self.request);
    }

    fn set_query(&mut self, arg: Option<&[u8]>) {
        let query = arg.map(|q| String::from_utf8_lossy(&unescape(q)).into_owned());
        let before = self.request.parts.uri.clone();
        match self.request.set_query(query.as_deref()) {
            Ok(()) => {
                assert_eq!(
                    self.request.query(),
                    query.as_deref(),
                    "set-query from {before}"
                );
                assert_eq!(self.request.path(), before.path(), "set-query({query:?})");
            }
            Err(_) => assert_eq!(self.request.parts.uri, before, "a refused set-query edited"),
        }
        check_request_wire(&self.request);
    }

    /// Validates the reply built from the script: accepted exactly when valid, and then as sent.
    fn finish(self) {
        let budget = self.budget;
        let reply = self.reply;
        // `HeaderMap` holds at most 24 576 distinct names (3/4 of its 32 768 slots; repeated
        // values of one name do not count); more is refused whatever the budget says.
        let distinct_names: HashSet<String> = reply
            .headers
            .iter()
            .map(|(name, _)| name.to_ascii_lowercase())
            .collect();
        let valid = (200..=599).contains(&reply.status)
            && reply.headers.len() <= budget.max_headers
            && distinct_names.len() <= HEADER_MAP_MAX_NAMES
            && reply.body.len() <= budget.max_reply_body_size
            && reply
                .headers
                .iter()
                .all(|(n, v)| is_field_name(n.as_bytes()) && is_field_value(v));
        let expected = (reply.status, reply.headers.clone(), reply.body.clone());
        match validate_reply(reply, &budget) {
            Ok(got) => {
                assert!(valid, "validate-reply accepted an invalid reply");
                assert_eq!(got.status.as_u16(), expected.0);
                assert_eq!(got.body.as_ref(), expected.2.as_slice());
                assert_eq!(got.headers.len(), expected.1.len());
                let mut parts = Response::new(()).into_parts().0;
                parts.status = got.status;
                parts.headers = got.headers;
                check_response_wire(&parts, "reply");
            }
            Err(error) => assert!(!valid, "validate-reply refused a valid reply: {error}"),
        }
    }
}

fn request_head(uri: Uri) -> RequestHead {
    let mut parts = Request::new(()).into_parts().0;
    parts.uri = uri;
    parts
        .headers
        .insert(http::header::HOST, http::HeaderValue::from_static("a.test"));
    let client = SocketAddr::from(([192, 0, 2, 1], 40000));
    let connection = Arc::new(wasmgate::plugins::ConnectionFacts::at(SocketAddr::from((
        [192, 0, 2, 2],
        80,
    ))));
    RequestHead::new(
        parts,
        "/start".into(),
        client,
        false,
        connection,
        Arc::from("fuzz"),
        1,
    )
}

/// One set-header (`set`) or append-header edit: accepted exactly when the name, value and
/// header budget allow it; then it reads back, else the headers are unchanged.
fn check_header_edit(headers: &mut HeaderMap, max: usize, set: bool, name: &str, value: Vec<u8>) {
    let before = headers.clone();
    let valid = is_field_name(name.as_bytes()) && is_field_value(&value);
    let count = HeaderEdits::get_all(headers, name).len();
    let result = if set {
        HeaderEdits::set(headers, max, name, value.clone())
    } else {
        HeaderEdits::append(headers, max, name, value.clone())
    };
    match result {
        Ok(()) => {
            assert!(
                valid,
                "an edit of {name:?} with an invalid name or value was accepted"
            );
            assert!(
                headers.len() <= max,
                "an accepted edit left {} > {max} headers",
                headers.len()
            );
            let values = HeaderEdits::get_all(headers, name);
            if set {
                assert_eq!(
                    values,
                    vec![value],
                    "set-header({name:?}) reads back otherwise"
                );
            } else {
                assert_eq!(values.len(), count + 1, "append-header({name:?}) count");
                assert_eq!(
                    values.last(),
                    Some(&value),
                    "append-header({name:?}) reads back"
                );
            }
        }
        Err(_) => assert_eq!(
            *headers, before,
            "a refused edit of {name:?} changed the headers"
        ),
    }
}

/// Writes the request head as HTTP/1.1 and parses it back: same method, target and fields.
fn check_request_wire(head: &RequestHead) {
    let parts = &head.parts;
    let uri = &parts.uri;
    let target = match (uri.scheme(), uri.path_and_query(), uri.authority()) {
        (Some(_), _, _) => uri.to_string(),
        (None, Some(pq), _) => pq.as_str().to_owned(),
        (None, None, Some(authority)) => authority.as_str().to_owned(),
        (None, None, None) => "/".to_owned(),
    };
    let mut wire = format!("{} {target} HTTP/1.1\r\n", parts.method).into_bytes();
    write_fields(&mut wire, &parts.headers);
    let mut fields = vec![httparse::EMPTY_HEADER; parts.headers.len() + 1];
    let mut parsed = httparse::Request::new(&mut fields);
    let status = parsed.parse(&wire);
    let shown = String::from_utf8_lossy(&wire);
    assert!(
        matches!(status, Ok(httparse::Status::Complete(n)) if n == wire.len()),
        "the edited request head does not re-parse ({status:?}):\n{shown}"
    );
    assert_eq!(parsed.method, Some(parts.method.as_str()), "{shown}");
    assert_eq!(parsed.path, Some(target.as_str()), "{shown}");
    same_fields(parsed.headers, &parts.headers, &shown);
}

/// Writes a response head (an edited one, or a validated reply's) as HTTP/1.1 and parses it
/// back: same status and fields.
fn check_response_wire(parts: &http::response::Parts, what: &str) {
    let status = parts.status;
    let reason = status.canonical_reason().unwrap_or("");
    let mut wire = format!("HTTP/1.1 {} {reason}\r\n", status.as_u16()).into_bytes();
    write_fields(&mut wire, &parts.headers);
    let mut fields = vec![httparse::EMPTY_HEADER; parts.headers.len() + 1];
    let mut parsed = httparse::Response::new(&mut fields);
    let result = parsed.parse(&wire);
    let shown = String::from_utf8_lossy(&wire);
    assert!(
        matches!(result, Ok(httparse::Status::Complete(n)) if n == wire.len()),
        "the {what} does not re-parse ({result:?}):\n{shown}"
    );
    assert_eq!(parsed.code, Some(status.as_u16()), "{shown}");
    same_fields(parsed.headers, &parts.headers, &shown);
}

fn write_fields(wire: &mut Vec<u8>, headers: &HeaderMap) {
    for (name, value) in headers {
        wire.extend_from_slice(name.as_str().as_bytes());
        wire.extend_from_slice(b": ");
        wire.extend_from_slice(value.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"\r\n");
}

/// The parsed fields are the written ones, in order; a value loses only its surrounding
/// whitespace, which HTTP does not count as part of it (RFC 9110 §5.5).
fn same_fields(parsed: &[httparse::Header<'_>], headers: &HeaderMap, shown: &str) {
    let parsed: Vec<_> = parsed.iter().filter(|h| !h.name.is_empty()).collect();
    assert_eq!(parsed.len(), headers.len(), "field count differs:\n{shown}");
    for (field, (name, value)) in parsed.iter().zip(headers) {
        assert!(field.name.eq_ignore_ascii_case(name.as_str()), "{shown}");
        assert_eq!(field.value, trim_whitespace(value.as_bytes()), "{shown}");
    }
}

fn trim_whitespace(value: &[u8]) -> &[u8] {
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ws(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ws(b))
        .map_or(start, |i| i + 1);
    &value[start..end]
}

/// An RFC 9110 token (tchar+), within `http`'s 64 KiB name limit.
fn is_field_name(name: &[u8]) -> bool {
    let tchar = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    !name.is_empty() && name.len() < 1 << 16 && name.iter().all(tchar)
}

/// Visible ASCII, obs-text, SP and HTAB (no NUL, CR, LF, DEL or other controls), within the
/// host's per-value limit.
fn is_field_value(value: &[u8]) -> bool {
    value.len() <= MAX_HEADER_VALUE_BYTES
        && value
            .iter()
            .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Digits of `text` as a number (other bytes ignored, saturating): `S404`, `L5 100`.
fn decimal(text: &[u8]) -> usize {
    text.iter()
        .filter(|b| b.is_ascii_digit())
        .fold(0usize, |n, b| {
            n.saturating_mul(10).saturating_add(usize::from(b - b'0'))
        })
}

/// Undoes the escapes a script may use in names and values.
fn unescape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        i += 1;
        if b != b'\\' || i == text.len() {
            out.push(b);
            continue;
        }
        let escaped = text[i];
        i += 1;
        match escaped {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'x' => {
                let hex = text.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.extend_from_slice(b"\\x"),
                }
            }
            other => out.push(other),
        }
    }
    out
}
