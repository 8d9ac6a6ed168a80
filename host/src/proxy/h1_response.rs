//! Writing a response head for the own HTTP/1.1 server (`h1_server`), with the framing and
//! connection rules of hyper's server (`proto::h1::role::Server::encode`), so a client sees the
//! same bytes whichever server answered:
//!
//! - to an HTTP/1.0 client the status line says `HTTP/1.0`; a kept-alive 1.0 connection gets
//!   `Connection: keep-alive`; a 1.1 connection that closes after this response gets
//!   `Connection: close`;
//! - the body's length comes from `Content-Length` if set, else from the body's exact size;
//!   an unknown length is chunked (1.1) or close-delimited (1.0); `HEAD`, 204 and 304 have no
//!   body; an empty body gets `content-length: 0` where allowed;
//! - `Date` is added when missing (`h1_date`).
//!
//! Runs once per response on the connection's task; cost: one pass over the header fields into
//! the connection's write buffer.

use std::io::Write;

use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, StatusCode, Version};

use super::h1_request_head::{HeadFacts, has_token};

/// How the response body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// Exactly this many bytes (0: no body at all).
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the connection closes (an unknown length to an HTTP/1.0 client).
    CloseDelimited,
}

/// What the body looks like before it is written (hyper's `BodyLength`).
#[derive(Debug, Clone, Copy)]
pub(super) enum BodyLength {
    /// The body is already at its end.
    Empty,
    /// The body's exact size.
    Known(u64),
    /// Not known.
    Unknown,
}

/// The head's framing and whether the connection closes after this response.
#[derive(Debug, Clone, Copy)]
pub(super) struct Encoded {
    pub(super) framing: Framing,
    pub(super) close: bool,
}

/// A response head hyper would refuse to write (conflicting or invalid length fields): the
/// connection is closed without an answer, as with hyper.
#[derive(Debug)]
pub(super) struct InvalidHead(pub(super) &'static str);

/// Encodes the head of `status`/`version`/`headers` into `dst`. `keep_alive`: the connection
/// may stay open after this exchange (the request allows it and the gateway is not closing).
/// `headers` is left empty with its memory (the caller recycles it, `upstream::spares`).
pub(super) fn encode_head(
    mut status: StatusCode,
    version: Version,
    headers: &mut HeaderMap,
    body: BodyLength,
    request: HeadFacts,
    keep_alive: bool,
    dst: &mut Vec<u8>,
) -> Result<Encoded, InvalidHead> {
    let mut body = body;
    let mut keep_alive = keep_alive;
    if status.is_informational() && status != StatusCode::SWITCHING_PROTOCOLS {
        // hyper answers 500 to a 1xx response it cannot send, and closes.
        status = StatusCode::INTERNAL_SERVER_ERROR;
        headers.clear();
        body = BodyLength::Empty;
        keep_alive = false;
    }
    let http10 = enforce_version(request, version, headers, &mut keep_alive);
    let mut close = !keep_alive || status == StatusCode::SWITCHING_PROTOCOLS;
    let method = match request.head {
        true => Some(&Method::HEAD),
        false => None,
    };
    let can_chunk = can_chunk(method, status);
    if !http10 && status == StatusCode::OK {
        dst.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    } else {
        dst.extend_from_slice(match http10 {
            true => b"HTTP/1.0 ",
            false => b"HTTP/1.1 ",
        });
        dst.extend_from_slice(status.as_str().as_bytes());
        dst.push(b' ');
        let reason = status.canonical_reason().unwrap_or("<none>");
        dst.extend_from_slice(reason.as_bytes());
        dst.extend_from_slice(b"\r\n");
    }

    let mut framing = Framing::Length(0);
    let mut wrote_len = false;
    let mut wrote_date = false;
    // The line of a field whose values are joined on one line is still open.
    let mut open_line = false;
    let mut must_add_chunked = false;
    let mut previous_len = None;
    let mut name = None;
    for (next, value) in headers.drain() {
        if let Some(next) = next {
            end_line(dst, &mut open_line, &mut must_add_chunked);
            name = Some(next);
        }
        let Some(name) = name.as_ref() else { continue };
        match *name {
            header::CONTENT_LENGTH => {
                if wrote_len && !open_line {
                    return Err(InvalidHead("content-length after the length was decided"));
                }
                match body {
                    BodyLength::Known(len) => {
                        if !open_line {
                            framing = Framing::Length(len);
                            start_line(dst, b"content-length: ", &value);
                            wrote_len = true;
                            open_line = true;
                        }
                        continue;
                    }
                    BodyLength::Unknown => {
                        let Some(len) = content_length(&value) else {
                            return Err(InvalidHead("an invalid content-length"));
                        };
                        match previous_len {
                            Some(previous) if previous != len => {
                                return Err(InvalidHead("differing content-length values"));
                            }
                            Some(_) => {}
                            None => {
                                framing = Framing::Length(len);
                                start_line(dst, b"content-length: ", &value);
                                wrote_len = true;
                                open_line = true;
                                previous_len = Some(len);
                            }
                        }
                        continue;
                    }
                    // No body: the field stays only on the answer to HEAD.
                    BodyLength::Empty if !request.head => continue,
                    BodyLength::Empty => wrote_len = true,
                }
            }
            header::TRANSFER_ENCODING => {
                if wrote_len && !open_line {
                    return Err(InvalidHead(
                        "transfer-encoding after the length was decided",
                    ));
                }
                if http10 || !can_chunk {
                    continue;
                }
                wrote_len = true;
                must_add_chunked = !is_chunked(&value);
                if open_line {
                    dst.extend_from_slice(b", ");
                    dst.extend_from_slice(value.as_bytes());
                } else {
                    framing = Framing::Chunked;
                    start_line(dst, b"transfer-encoding: ", &value);
                    open_line = true;
                }
                continue;
            }
            header::CONNECTION | header::TRAILER => {
                if *name == header::CONNECTION {
                    close |= has_token(value.as_bytes(), b"close");
                } else if http10 || !can_chunk {
                    continue;
                }
                if open_line {
                    dst.extend_from_slice(b", ");
                    dst.extend_from_slice(value.as_bytes());
                } else {
                    dst.extend_from_slice(name.as_str().as_bytes());
                    dst.extend_from_slice(b": ");
                    dst.extend_from_slice(value.as_bytes());
                    open_line = true;
                }
                continue;
            }
            header::DATE => wrote_date = true,
            _ => {}
        }
        dst.extend_from_slice(name.as_str().as_bytes());
        dst.extend_from_slice(b": ");
        dst.extend_from_slice(value.as_bytes());
        dst.extend_from_slice(b"\r\n");
    }
    end_line(dst, &mut open_line, &mut must_add_chunked);

    if !wrote_len {
        framing = match body {
            BodyLength::Unknown if http10 || !can_chunk => Framing::CloseDelimited,
            BodyLength::Unknown => {
                dst.extend_from_slice(b"transfer-encoding: chunked\r\n");
                Framing::Chunked
            }
            BodyLength::Empty | BodyLength::Known(0) => {
                if can_have_length(method, status) && !request.head {
                    dst.extend_from_slice(b"content-length: 0\r\n");
                }
                Framing::Length(0)
            }
            BodyLength::Known(len) if can_have_length(method, status) => {
                // Writing into a `Vec` cannot fail.
                let _ = write!(dst, "content-length: {len}\r\n");
                Framing::Length(len)
            }
            BodyLength::Known(_) => Framing::Length(0),
        };
    }
    if !can_chunk {
        // HEAD, 204, 304 (and 1xx): no body whatever the fields say.
        framing = Framing::Length(0);
    }
    if !wrote_date {
        dst.extend_from_slice(b"date: ");
        super::h1_date::extend(dst);
        dst.extend_from_slice(b"\r\n");
    }
    dst.extend_from_slice(b"\r\n");
    close |= framing == Framing::CloseDelimited;
    Ok(Encoded { framing, close })
}

/// hyper's `enforce_version`: the HTTP/1.0 client's keep-alive and version, the 1.1 client's
/// `Connection: close`. Returns whether the status line says HTTP/1.0.
fn enforce_version(
    request: HeadFacts,
    version: Version,
    headers: &mut HeaderMap,
    keep_alive: &mut bool,
) -> bool {
    if request.http10 {
        let says_keep_alive = headers
            .get_all(header::CONNECTION)
            .iter()
            .any(|v| has_token(v.as_bytes(), b"keep-alive"));
        if !says_keep_alive {
            match version {
                Version::HTTP_10 => *keep_alive = false,
                Version::HTTP_11 if *keep_alive => {
                    headers.append(header::CONNECTION, HeaderValue::from_static("keep-alive"));
                }
                _ => {}
            }
        }
        return true;
    }
    if !*keep_alive
        && !headers
            .get_all(header::CONNECTION)
            .iter()
            .any(|v| has_token(v.as_bytes(), b"close"))
    {
        headers.append(header::CONNECTION, HeaderValue::from_static("close"));
    }
    version == Version::HTTP_10
}

fn start_line(dst: &mut Vec<u8>, name: &[u8], value: &HeaderValue) {
    dst.extend_from_slice(name);
    dst.extend_from_slice(value.as_bytes());
}

fn end_line(dst: &mut Vec<u8>, open_line: &mut bool, must_add_chunked: &mut bool) {
    if *open_line {
        match *must_add_chunked {
            true => dst.extend_from_slice(b", chunked\r\n"),
            false => dst.extend_from_slice(b"\r\n"),
        }
    }
    *open_line = false;
    *must_add_chunked = false;
}

/// hyper's `can_chunked` (and `can_have_body`): HEAD, a successful CONNECT, 1xx, 204 and 304
/// have no body.
fn can_chunk(method: Option<&Method>, status: StatusCode) -> bool {
    if method == Some(&Method::HEAD) || status.is_informational() {
        return false;
    }
    !matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED)
}

fn can_have_length(_method: Option<&Method>, status: StatusCode) -> bool {
    !status.is_informational()
        && !matches!(status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED)
}

/// Whether `chunked` is the last coding of a `Transfer-Encoding` value.
fn is_chunked(value: &HeaderValue) -> bool {
    value
        .as_bytes()
        .rsplit(|&b| b == b',')
        .next()
        .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}

/// A `Content-Length` value (a list of equal values counts as one), as hyper reads it.
fn content_length(value: &HeaderValue) -> Option<u64> {
    let mut found = None;
    for part in value.as_bytes().split(|&b| b == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let len: u64 = std::str::from_utf8(part).ok()?.parse().ok()?;
        if found.is_some_and(|f| f != len) {
            return None;
        }
        found = Some(len);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET11: HeadFacts = HeadFacts {
        http10: false,
        keep_alive: true,
        head: false,
    };

    fn encode(
        status: u16,
        fields: &[(&'static str, &'static str)],
        body: BodyLength,
        request: HeadFacts,
        keep_alive: bool,
    ) -> (String, Encoded) {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(*name, HeaderValue::from_static(value));
        }
        let mut dst = Vec::new();
        let status = StatusCode::from_u16(status).unwrap();
        let encoded = encode_head(
            status,
            Version::HTTP_11,
            &mut headers,
            body,
            request,
            keep_alive,
            &mut dst,
        )
        .unwrap();
        let text = String::from_utf8(dst).unwrap();
        // The date varies: cut it out.
        let text = match text.find("date: ") {
            Some(at) => format!("{}{}", &text[..at], &text[at + 6 + 29 + 2..]),
            None => text,
        };
        (text, encoded)
    }

    #[test]
    fn a_known_length_is_written_and_a_date_added() {
        let (text, enc) = encode(200, &[("x-a", "1")], BodyLength::Known(5), GET11, true);
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nx-a: 1\r\ncontent-length: 5\r\n\r\n"
        );
        assert_eq!(enc.framing, Framing::Length(5));
        assert!(!enc.close);
    }

    #[test]
    fn an_unknown_length_is_chunked_for_1_1_and_close_delimited_for_1_0() {
        let (text, enc) = encode(200, &[], BodyLength::Unknown, GET11, true);
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        assert_eq!(enc.framing, Framing::Chunked);
        let get10 = HeadFacts {
            http10: true,
            keep_alive: true,
            ..GET11
        };
        let (text, enc) = encode(200, &[], BodyLength::Unknown, get10, true);
        assert_eq!(text, "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\n\r\n");
        assert_eq!(enc.framing, Framing::CloseDelimited);
        assert!(enc.close);
    }

    #[test]
    fn head_204_and_304_have_no_body() {
        let head = HeadFacts {
            head: true,
            ..GET11
        };
        let fields = [("content-length", "7")];
        let (text, enc) = encode(200, &fields, BodyLength::Empty, head, true);
        assert_eq!(text, "HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\n");
        assert_eq!(enc.framing, Framing::Length(0));
        let (text, enc) = encode(204, &[], BodyLength::Unknown, GET11, true);
        assert_eq!(text, "HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(enc.framing, Framing::Length(0));
        let (_, enc) = encode(304, &fields, BodyLength::Known(7), GET11, true);
        assert_eq!(enc.framing, Framing::Length(0));
    }

    #[test]
    fn a_closing_1_1_connection_says_close_and_an_empty_body_says_zero() {
        let (text, enc) = encode(404, &[], BodyLength::Empty, GET11, false);
        assert_eq!(
            text,
            "HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
        );
        assert!(enc.close);
        let (_, enc) = encode(
            200,
            &[("connection", "close")],
            BodyLength::Empty,
            GET11,
            true,
        );
        assert!(enc.close, "the response's own close is honoured");
    }

    #[test]
    fn conflicting_length_fields_are_refused() {
        let mut headers = HeaderMap::new();
        headers.append("content-length", HeaderValue::from_static("3"));
        headers.append("content-length", HeaderValue::from_static("4"));
        let mut dst = Vec::new();
        let status = StatusCode::OK;
        let body = BodyLength::Unknown;
        let result = encode_head(
            status,
            Version::HTTP_11,
            &mut headers,
            body,
            GET11,
            true,
            &mut dst,
        );
        assert!(result.is_err());
    }
}
