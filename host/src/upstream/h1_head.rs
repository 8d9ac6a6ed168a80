//! The heads of the gateway's own HTTP/1.1 client (`h1_conn`): a request head written into one
//! buffer, and a response head parsed (httparse) into `http`'s types with how its body is
//! framed (RFC 9112 §6.3).
//!
//! Runs once per request on the request's task. Cost: the request head is one buffer (a
//! recycled one, `spares`; reused on a retry); a response head is parsed in place, its header values are
//! slices of the received bytes (no copy), a non-standard header name is one allocation.

use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};

/// Room left in a parsed response's header map for the headers a response hook or the
/// gateway adds (a `headers` middleware's custom header, CORS or security headers): without
/// it the map is built full and the first insert regrows it (two allocations and a rehash,
/// ~0.17 µs per request in the bench's `hdr` and `b` profiles). A few empty slots per response.
const ADDED_HEADERS_ROOM: usize = 4;

/// More header lines than this in a response head: refused (502), as hyper's client does.
pub(super) const MAX_HEADERS: usize = 100;

/// A response head longer than this is refused (502), as hyper's client's default buffer.
pub(super) const MAX_HEAD_BYTES: usize = 400 * 1024;

/// A malformed or unacceptable response head; the connection is closed.
#[derive(Debug, thiserror::Error)]
pub(super) enum HeadError {
    #[error("malformed response head: {0}")]
    Parse(httparse::Error),
    #[error("response head over {MAX_HEAD_BYTES} bytes")]
    TooLarge,
    #[error("invalid response header value")]
    Value,
    #[error("invalid or conflicting Content-Length")]
    ContentLength,
    #[error("Transfer-Encoding in an HTTP/1.0 response")]
    TransferEncoding10,
    #[error("unexpected 101 Switching Protocols (no upgrade was asked for)")]
    Switching,
}

/// The request head: `METHOD target HTTP/1.1`, the headers as they are (lowercase names), a
/// blank line. The body is empty (the own client carries body-less requests only), so a
/// `Transfer-Encoding` is left out, as hyper's client does for an empty body.
pub(super) fn encode_request(method: &Method, target: &str, headers: &HeaderMap) -> Vec<u8> {
    let guess = 32 + target.len() + headers.len() * 40;
    // A recycled buffer (`spares`), given back by the pool once the exchange is over.
    let mut out = super::spares::buf(guess);
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        if name == TRANSFER_ENCODING {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// How a response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body (HEAD, 204, 304, `Content-Length: 0`).
    Empty,
    Length(u64),
    Chunked,
    /// Until the server closes the connection (never reused).
    Eof,
}

/// A parsed response head.
#[derive(Debug)]
pub(super) struct ResponseHead {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub framing: Framing,
    /// The connection may carry another request once the body is read.
    pub keep_alive: bool,
}

/// Where one header's name and value sit in a head: name offset and length, value offset and
/// length.
pub(super) type Span = (usize, usize, usize, usize);

/// Parses a response head from the front of `buf`, removing it from `buf` when complete.
/// `Ok(None)`: incomplete, read more. A 1xx interim response (100, 103) is returned like any
/// other; the caller skips it. `spans` is scratch space kept by the connection (so no
/// per-parse table is initialised).
pub(super) fn parse_response(
    buf: &mut BytesMut,
    method: &Method,
    spans: &mut Vec<Span>,
) -> Result<Option<ResponseHead>, HeadError> {
    let mut slots =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut resp,
        &buf[..],
        &mut slots,
    );
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
            return Err(HeadError::TooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(HeadError::Parse(e)),
    };
    let version = if resp.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    let status = StatusCode::from_u16(resp.code.unwrap_or(0))
        .map_err(|_| HeadError::Parse(httparse::Error::Status))?;
    // Where each header sits in `buf`, so names and values become slices of the frozen head.
    let base = buf.as_ptr() as usize;
    spans.clear();
    spans.extend(resp.headers.iter().map(|h| {
        let name = h.name.as_ptr() as usize - base;
        let value = h.value.as_ptr() as usize - base;
        (name, h.name.len(), value, h.value.len())
    }));
    let head: Bytes = buf.split_to(len).freeze();
    let mut headers = super::spares::map(spans.len() + ADDED_HEADERS_ROOM);
    let mut seen = FramingHeaders::default();
    for &(name, name_len, value, value_len) in spans.iter() {
        let name = HeaderName::from_bytes(&head[name..name + name_len])
            .map_err(|_| HeadError::Parse(httparse::Error::HeaderName))?;
        let value = HeaderValue::from_maybe_shared(head.slice(value..value + value_len))
            .map_err(|_| HeadError::Value)?;
        seen.note(&name, value.as_bytes());
        headers.append(name, value);
    }
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return Err(HeadError::Switching);
    }
    let framing = framing(method, status, version, &headers, seen)?;
    let keep_alive = version == Version::HTTP_11
        && framing != Framing::Eof
        && !(seen.connection && has_token(&headers, &CONNECTION, "close"))
        && !(seen.transfer_encoding && seen.content_length);
    Ok(Some(ResponseHead {
        status,
        version,
        headers,
        framing,
        keep_alive,
    }))
}

/// Which of the headers that decide a response's framing and keep-alive its head carries,
/// noted as the headers are appended: the common response (`Content-Length`, no
/// `Transfer-Encoding`, no `Connection`) then needs one look-up in the map, not four (each
/// hashes the name; ≈ 360 instructions a response, `bench/harness/instructions.py`).
#[derive(Debug, Default, Clone, Copy)]
struct FramingHeaders {
    transfer_encoding: bool,
    content_length: bool,
    connection: bool,
    /// The length when the head has exactly one `Content-Length` and it is plain digits (the
    /// common response): read here, without the general reading's look-up, split and trim
    /// (≈ 250 instructions). `None` otherwise, and [`framing`] reads the field in full.
    single_length: Option<u64>,
}

impl FramingHeaders {
    fn note(&mut self, name: &HeaderName, value: &[u8]) {
        // Standard names compare as their variant, no bytes.
        if name == TRANSFER_ENCODING {
            self.transfer_encoding = true;
        } else if name == CONTENT_LENGTH {
            self.single_length = match self.content_length {
                false => plain_length(value),
                true => None,
            };
            self.content_length = true;
        } else if name == CONNECTION {
            self.connection = true;
        }
    }
}

/// A `Content-Length` value of 1 to 19 ASCII digits (so it fits a `u64`); `None` for anything
/// else, which the general reading in [`framing`] then accepts or refuses.
fn plain_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// RFC 9112 §6.3, in its order.
fn framing(
    method: &Method,
    status: StatusCode,
    version: Version,
    headers: &HeaderMap,
    seen: FramingHeaders,
) -> Result<Framing, HeadError> {
    if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || *method == Method::HEAD
    {
        return Ok(Framing::Empty);
    }
    if seen.transfer_encoding {
        if version == Version::HTTP_10 {
            return Err(HeadError::TransferEncoding10);
        }
        // Only a final `chunked` delimits the body; anything else reads to the close. (The
        // proxy refuses both with 502 before relaying, `proxy::framing::check_response`.)
        let last_chunked = headers
            .get_all(TRANSFER_ENCODING)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"));
        return Ok(if last_chunked {
            Framing::Chunked
        } else {
            Framing::Eof
        });
    }
    if !seen.content_length {
        return Ok(Framing::Eof);
    }
    if let Some(n) = seen.single_length {
        return Ok(match n {
            0 => Framing::Empty,
            n => Framing::Length(n),
        });
    }
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        let text = value.to_str().map_err(|_| HeadError::ContentLength)?;
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HeadError::ContentLength);
            }
            let n: u64 = part.parse().map_err(|_| HeadError::ContentLength)?;
            if length.is_some_and(|l| l != n) {
                return Err(HeadError::ContentLength);
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
        None => Framing::Eof,
    })
}

/// Whether a comma-separated header (`Connection`) lists `token`.
fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8], method: Method) -> Result<Option<ResponseHead>, HeadError> {
        let mut buf = BytesMut::from(bytes);
        parse_response(&mut buf, &method, &mut Vec::new())
    }

    #[test]
    fn the_request_head_is_one_buffer_without_transfer_encoding() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("a.test"));
        headers.append("x-a", HeaderValue::from_static("1"));
        headers.append("x-a", HeaderValue::from_static("2"));
        headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        let head = encode_request(&Method::GET, "/p?q=1", &headers);
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "GET /p?q=1 HTTP/1.1\r\nhost: a.test\r\nx-a: 1\r\nx-a: 2\r\n\r\n"
        );
    }

    #[test]
    fn a_head_and_the_start_of_its_body_leave_the_body_in_the_buffer() {
        let mut buf =
            BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhel"[..]);
        let head = parse_response(&mut buf, &Method::GET, &mut Vec::new())
            .unwrap()
            .unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.framing, Framing::Length(5));
        assert!(head.keep_alive);
        assert_eq!(head.headers["x-a"], "b");
        assert_eq!(&buf[..], b"hel");
    }

    #[test]
    fn a_parsed_response_has_room_for_the_headers_a_response_hook_adds() {
        let head = parse(
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Type: text/plain\r\nDate: x\r\n\r\n",
            Method::GET,
        )
        .unwrap()
        .unwrap();
        assert_eq!(head.headers.len(), 3);
        assert!(
            head.headers.capacity() >= head.headers.len() + ADDED_HEADERS_ROOM,
            "capacity {} for 3 headers",
            head.headers.capacity()
        );
    }

    #[test]
    fn an_incomplete_head_asks_for_more() {
        assert!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Le", Method::GET)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn bodies_are_framed_as_rfc_9112_says() {
        let f = |raw: &[u8], m: Method| parse(raw, m).unwrap().unwrap().framing;
        assert_eq!(
            f(
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
                Method::HEAD
            ),
            Framing::Empty
        );
        assert_eq!(
            f(b"HTTP/1.1 204 No Content\r\n\r\n", Method::GET),
            Framing::Empty
        );
        assert_eq!(
            f(
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
                Method::GET
            ),
            Framing::Empty
        );
        assert_eq!(
            f(b"HTTP/1.1 103 Early Hints\r\n\r\n", Method::GET),
            Framing::Empty
        );
        assert_eq!(
            f(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                Method::GET
            ),
            Framing::Chunked
        );
        assert_eq!(
            f(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                Method::GET
            ),
            Framing::Eof
        );
        assert_eq!(f(b"HTTP/1.1 200 OK\r\n\r\n", Method::GET), Framing::Eof);
        assert_eq!(
            f(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", Method::GET),
            Framing::Empty
        );
        assert_eq!(
            f(
                b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n",
                Method::GET
            ),
            Framing::Length(3)
        );
        // One plain value is read while appending (`FramingHeaders::single_length`); a second
        // field, leading zeros and the longest plain value agree with the general reading.
        for (raw, framing) in [
            (&b"Content-Length: 1024\r\n"[..], Framing::Length(1024)),
            (b"Content-Length: 0012\r\n", Framing::Length(12)),
            (
                b"Content-Length: 7\r\nContent-Length: 7\r\n",
                Framing::Length(7),
            ),
            (
                b"Content-Length: 7\r\nX-A: b\r\ncontent-length: 7\r\n",
                Framing::Length(7),
            ),
            (
                b"Content-Length: 9999999999999999999\r\n",
                Framing::Length(9_999_999_999_999_999_999),
            ),
        ] {
            let head = [&b"HTTP/1.1 200 OK\r\n"[..], raw, b"\r\n"].concat();
            assert_eq!(
                f(&head, Method::GET),
                framing,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn close_and_http_1_0_end_the_connection() {
        let ka = |raw: &[u8]| parse(raw, Method::GET).unwrap().unwrap().keep_alive;
        assert!(!ka(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(!ka(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
        assert!(!ka(b"HTTP/1.1 200 OK\r\n\r\n"));
        assert!(!ka(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
        assert!(ka(
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
        ));
        // Names in any case are the framing headers (noted while appending, `FramingHeaders`).
        assert!(!ka(
            b"HTTP/1.1 200 OK\r\ncOnNeCtIoN: Close\r\ncontent-length: 0\r\n\r\n"
        ));
        assert!(!ka(
            b"HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 1\r\ntransfer-encoding: chunked\r\n\r\n"
        ));
    }

    #[test]
    fn malformed_heads_are_refused() {
        for raw in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3, 4\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"NOT HTTP\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        ] {
            assert!(
                parse(raw, Method::GET).is_err(),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn an_endless_head_is_refused() {
        let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
        while raw.len() <= MAX_HEAD_BYTES {
            raw.extend_from_slice(b"x-filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert!(matches!(
            parse(&raw, Method::GET),
            Err(HeadError::TooLarge | HeadError::Parse(httparse::Error::TooManyHeaders))
        ));
    }
}
