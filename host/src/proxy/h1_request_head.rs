//! Reading one HTTP/1.x request head for the gateway's own server (`h1_server`): `httparse`
//! over the connection's read buffer, then the decision whether the own server serves the
//! request or hands the connection to hyper.
//!
//! The own server serves the common case only: HTTP/1.0 or 1.1, no request body (no
//! `Transfer-Encoding`, no `Content-Length` or `0`), no `Upgrade` / `Connection: upgrade` /
//! `CONNECT`, no `Expect`, no `TE` (trailers), a head of at most [`MAX_HEADERS`] fields. Anything
//! else (a malformed head included: hyper answers 400, 414 or 431 as it always did) is
//! [`Unserved::Hyper`].
//!
//! Runs once per request head on the connection's task. Cost: one `httparse` pass, one copy
//! of the head into its own allocation (the URI and header values share it), one header-name
//! lookup per field; the header map is a recycled one (`upstream::spares`).

use std::mem::MaybeUninit;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderName, HeaderValue};
use http::{Method, Request, Uri, Version};

use super::request_body::RequestBody;
use crate::upstream::spares;

/// Header fields a head may have for the own server (hyper's default limit too).
pub(super) const MAX_HEADERS: usize = 100;

/// Room in the request's header map beyond its fields: the five forwarding headers
/// (`headers::set_forwarded`) and a `Host` the transport may add. Without it the map was built
/// full and regrown at the first forwarding header (a `realloc` and a `malloc` per request).
const ADDED_HEADERS_ROOM: usize = 6;

/// hyper answers 414 beyond this request-target length; such heads go to hyper.
const MAX_URI_LEN: usize = (u16::MAX - 1) as usize;

/// What a request head asks of the connection beyond the `http::Request`.
#[derive(Debug, Clone, Copy)]
pub(super) struct HeadFacts {
    /// HTTP/1.0 (else 1.1).
    pub(super) http10: bool,
    /// The client keeps the connection open after this exchange (1.1 without
    /// `Connection: close`; 1.0 with `Connection: keep-alive`).
    pub(super) keep_alive: bool,
    /// A `HEAD` request: the response has no body.
    pub(super) head: bool,
}

/// A whole head the own server serves.
pub(super) struct Parsed {
    pub(super) request: Request<RequestBody>,
    pub(super) facts: HeadFacts,
    /// Bytes of the buffer the head took.
    pub(super) len: usize,
}

/// Why the buffer holds no head the own server serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unserved {
    /// Not a whole head yet.
    Partial,
    /// A head (or the start of one) the own server leaves to hyper.
    Hyper,
}

/// Parses the head at the start of `buf`; the request's URI and header values are slices of a
/// copy of it kept in `store`, the connection's (see [`head_bytes`]).
pub(super) fn parse(buf: &[u8], store: &mut BytesMut) -> Result<Parsed, Unserved> {
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_request_with_uninit_headers(
        &mut req,
        buf,
        &mut fields,
    ) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Err(Unserved::Partial),
        Err(_) => return Err(Unserved::Hyper),
    };
    let (Some(method), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(Unserved::Hyper);
    };
    if path.len() > MAX_URI_LEN {
        return Err(Unserved::Hyper);
    }
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return Err(Unserved::Hyper);
    };
    if method == Method::CONNECT {
        return Err(Unserved::Hyper);
    }
    let http10 = minor == 0;
    let mut keep_alive = !http10;
    let shared = head_bytes(store, &buf[..len]);
    // From the thread's spares (`upstream::spares`), with room for the forwarding
    // headers the proxy adds (`headers::set_forwarded`) and a `Host`, so they do not regrow it.
    let mut headers = spares::map(req.headers.len() + ADDED_HEADERS_ROOM);
    for field in req.headers.iter() {
        let Ok(name) = HeaderName::from_bytes(field.name.as_bytes()) else {
            return Err(Unserved::Hyper);
        };
        match name {
            header::TRANSFER_ENCODING | header::UPGRADE | header::EXPECT | header::TE => {
                return Err(Unserved::Hyper);
            }
            header::CONTENT_LENGTH
                if field.value != b"0" || headers.contains_key(header::CONTENT_LENGTH) =>
            {
                return Err(Unserved::Hyper);
            }
            header::CONNECTION => {
                if has_token(field.value, b"upgrade") {
                    return Err(Unserved::Hyper);
                }
                // As hyper: for 1.1 any `close` ends keep-alive; for 1.0 each field decides.
                keep_alive = match http10 {
                    false => keep_alive && !has_token(field.value, b"close"),
                    true => has_token(field.value, b"keep-alive"),
                };
            }
            _ => {}
        }
        // httparse checked the value's bytes: what `HeaderValue` allows.
        let value = HeaderValue::from_maybe_shared(shared.slice(within(buf, field.value)));
        let Ok(value) = value else {
            return Err(Unserved::Hyper);
        };
        headers.append(name, value);
    }
    let Ok(uri) = Uri::from_maybe_shared(shared.slice(within(buf, path.as_bytes()))) else {
        return Err(Unserved::Hyper);
    };
    let head = method == Method::HEAD;
    let mut request = Request::new(RequestBody::Empty);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = match http10 {
        true => Version::HTTP_10,
        false => Version::HTTP_11,
    };
    *request.headers_mut() = headers;
    Ok(Parsed {
        request,
        facts: HeadFacts {
            http10,
            keep_alive,
            head,
        },
        len,
    })
}

/// The head's bytes as one shared `Bytes`, copied into the connection's `store`. Its buffer is
/// used again once the previous request's head (the URI and header values are slices of it) is
/// dropped, so a keep-alive request costs no allocation here; `Bytes::copy_from_slice` made two
/// (the copy, then the shared header at the first slice: ≈ 500 instructions a request with their
/// frees, `bench/harness/instructions.py`). The store holds one head's bytes between requests.
fn head_bytes(store: &mut BytesMut, head: &[u8]) -> Bytes {
    store.reserve(head.len());
    store.extend_from_slice(head);
    store.split().freeze()
}

/// Where `part` (a slice httparse returned) lies in `buf`.
fn within(buf: &[u8], part: &[u8]) -> std::ops::Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(buf.as_ptr() as usize);
    start..start + part.len()
}

/// Whether the comma-separated header value has `token` (ASCII case-insensitive).
pub(super) fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|part| part.trim_ascii().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(text: &str) -> (Request<RequestBody>, HeadFacts, usize) {
        match parse(text.as_bytes(), &mut BytesMut::new()) {
            Ok(Parsed {
                request,
                facts,
                len,
            }) => (request, facts, len),
            Err(unserved) => panic!("{unserved:?}: {text:?}"),
        }
    }

    fn left_to_hyper(text: &str) -> bool {
        matches!(
            parse(text.as_bytes(), &mut BytesMut::new()),
            Err(Unserved::Hyper)
        )
    }

    /// A connection's heads are copied into one store: a head still held (a request in flight)
    /// keeps its bytes when the next is parsed, and once dropped its buffer takes the next head
    /// in the same place (no allocation per keep-alive request).
    #[test]
    fn a_connections_heads_reuse_one_buffer_once_the_previous_is_dropped() {
        let mut store = BytesMut::new();
        let head = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-A: {path}\r\n\r\n");
        let Ok(first) = parse(head("/a").as_bytes(), &mut store) else {
            panic!("first head")
        };
        let Ok(second) = parse(head("/b").as_bytes(), &mut store) else {
            panic!("second head")
        };
        assert_eq!(first.request.uri().path(), "/a");
        assert_eq!(first.request.headers()["x-a"], "/a");
        assert_eq!(second.request.uri().path(), "/b");
        let at = second.request.uri().path().as_ptr();
        drop((first, second));
        let Ok(third) = parse(head("/c").as_bytes(), &mut store) else {
            panic!("third head")
        };
        assert_eq!(third.request.uri().path(), "/c");
        assert_eq!(third.request.headers()["x-a"], "/c");
        assert_eq!(third.request.uri().path().as_ptr(), at);
    }

    #[test]
    fn a_get_head_is_served_with_its_fields_and_length() {
        let text = "GET /a?b=1 HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-A: 2\r\n\r\nGET /next";
        let (req, facts, len) = served(text);
        assert_eq!(len, text.find("GET /next").unwrap());
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri().path(), "/a");
        assert_eq!(req.uri().query(), Some("b=1"));
        assert_eq!(req.headers().get_all("x-a").iter().count(), 2);
        assert!(facts.keep_alive && !facts.http10 && !facts.head);
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection_field() {
        assert!(
            !served("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n")
                .1
                .keep_alive
        );
        assert!(!served("GET / HTTP/1.0\r\n\r\n").1.keep_alive);
        let (_, facts, _) = served("GET / HTTP/1.0\r\nConnection: x, Keep-Alive\r\n\r\n");
        assert!(facts.keep_alive && facts.http10);
        assert!(served("HEAD / HTTP/1.1\r\n\r\n").1.head);
    }

    #[test]
    fn requests_with_a_body_an_upgrade_or_an_expectation_go_to_hyper() {
        assert!(left_to_hyper(
            "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
        ));
        assert!(left_to_hyper(
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
        assert!(left_to_hyper(
            "GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(left_to_hyper(
            "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"
        ));
        assert!(left_to_hyper(
            "GET / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n"
        ));
        assert!(left_to_hyper(
            "PUT / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"
        ));
        assert!(left_to_hyper("GET / HTTP/1.1\r\nTE: trailers\r\n\r\n"));
        assert!(left_to_hyper("CONNECT a:443 HTTP/1.1\r\n\r\n"));
        let (req, _, _) = served("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(req.method(), Method::POST);
    }

    #[test]
    fn malformed_heads_and_the_h2_preface_go_to_hyper() {
        assert!(left_to_hyper("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"));
        assert!(left_to_hyper("G\0T / HTTP/1.1\r\n\r\n"));
        assert!(left_to_hyper("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: v\r\n")).collect();
        assert!(left_to_hyper(&format!("GET / HTTP/1.1\r\n{many}\r\n")));
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nHost", &mut BytesMut::new()),
            Err(Unserved::Partial)
        ));
    }
}
