//! The response body of the own HTTP/1.1 client (`h1_conn`): read from the connection it
//! holds, delimited by `Content-Length`, chunked coding (trailers passed on as a trailers
//! frame) or the connection's close. Once the body ended cleanly the connection goes back to
//! its idle list at once, in the poll that yields the last bytes; on any error, or when the
//! body is dropped before its end, the connection is closed. A server closing mid-body is an
//! error, never a silent end, so the client sees its response broken, not truncated.
//!
//! Runs on the task that relays the response (the client connection's). Cost: data frames
//! are slices of the connection's read buffer (no copy).

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body::{Body, Frame, SizeHint};

use super::body::BodyError;
use super::h1_conn::H1Conn;
use super::h1_head::Framing;

/// A chunk-size line (size and extensions) longer than this is refused.
const MAX_CHUNK_LINE: usize = 4096;
/// Trailer sections longer than this are refused.
const MAX_TRAILERS: usize = 16 * 1024;
/// Trailer fields at most.
const MAX_TRAILER_FIELDS: usize = 64;

/// A response body that is broken.
#[derive(Debug, thiserror::Error)]
pub(super) enum BodyBroken {
    #[error("the upstream closed the connection mid-body")]
    Closed,
    #[error("reading the upstream body: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed chunked body from the upstream: {0}")]
    Chunked(&'static str),
}

/// The body of one response of the own client.
pub struct H1Body {
    /// `None` once the body has ended (or failed).
    conn: Option<H1Conn>,
    state: State,
    keep_alive: bool,
}

enum State {
    Length(u64),
    Chunked(Chunked),
    Eof,
}

impl H1Body {
    /// The body of a response whose head was just read from `conn`. A body-less response
    /// hands the connection back at once.
    pub(super) fn new(conn: H1Conn, framing: Framing, keep_alive: bool) -> Self {
        let state = match framing {
            Framing::Empty => {
                if keep_alive {
                    conn.release();
                }
                return H1Body {
                    conn: None,
                    state: State::Length(0),
                    keep_alive,
                };
            }
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Chunked::default()),
            Framing::Eof => State::Eof,
        };
        H1Body {
            conn: Some(conn),
            state,
            keep_alive,
        }
    }

    /// The body ended cleanly: the connection goes back to its list.
    fn finish(&mut self) {
        if let Some(conn) = self.conn.take()
            && self.keep_alive
        {
            conn.release();
        }
    }

    fn fail(&mut self, e: BodyBroken) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.conn = None;
        Poll::Ready(Some(Err(Box::new(e))))
    }
}

/// What the body does after looking at its buffer.
enum Next {
    Yield(Frame<Bytes>, bool),
    End,
    Read,
}

impl Body for H1Body {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            let next = match &mut this.state {
                State::Length(rem) if conn.buf.is_empty() => {
                    if *rem == 0 {
                        Next::End
                    } else {
                        Next::Read
                    }
                }
                State::Length(rem) => {
                    let n = (*rem).min(conn.buf.len() as u64);
                    *rem -= n;
                    // `n` fits: it is at most the buffer's length.
                    let data = conn.buf.split_to(n as usize).freeze();
                    Next::Yield(Frame::data(data), *rem == 0)
                }
                State::Eof if conn.buf.is_empty() => Next::Read,
                State::Eof => Next::Yield(Frame::data(conn.buf.split().freeze()), false),
                State::Chunked(decoder) => match decoder.step(&mut conn.buf) {
                    Ok(Step::Data(data)) => Next::Yield(Frame::data(data), false),
                    Ok(Step::Trailers(map)) => Next::Yield(Frame::trailers(map), true),
                    Ok(Step::End) => Next::End,
                    Ok(Step::More) => Next::Read,
                    Err(e) => return this.fail(BodyBroken::Chunked(e)),
                },
            };
            match next {
                Next::Yield(frame, last) => {
                    if last {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Next::End => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Next::Read => match ready!(conn.poll_fill(cx)) {
                    Ok(0) if matches!(this.state, State::Eof) => {
                        this.conn = None;
                        return Poll::Ready(None);
                    }
                    Ok(0) => return this.fail(BodyBroken::Closed),
                    Ok(_) => {}
                    Err(e) => return this.fail(BodyBroken::Io(e)),
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.conn.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.conn, &self.state) {
            (None, _) => SizeHint::with_exact(0),
            (Some(_), State::Length(rem)) => SizeHint::with_exact(*rem),
            _ => SizeHint::default(),
        }
    }
}

/// Where the chunked decoder is.
#[derive(Default)]
enum ChunkState {
    #[default]
    Size,
    Data(u64),
    DataEnd,
    Trailers,
    Done,
}

/// A chunked-coding decoder over the connection's buffer (RFC 9112 §7.1).
#[derive(Default)]
pub(super) struct Chunked {
    state: ChunkState,
}

/// One step of the decoder.
pub(super) enum Step {
    Data(Bytes),
    Trailers(HeaderMap),
    End,
    /// The buffer holds no complete next piece: read more.
    More,
}

impl Chunked {
    /// Decodes what `buf` holds, consuming it, up to the next data piece or the end.
    pub fn step(&mut self, buf: &mut BytesMut) -> Result<Step, &'static str> {
        loop {
            match self.state {
                ChunkState::Size => {
                    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
                        if buf.len() > MAX_CHUNK_LINE {
                            return Err("chunk-size line too long");
                        }
                        return Ok(Step::More);
                    };
                    let line = buf[..nl]
                        .strip_suffix(b"\r")
                        .ok_or("chunk-size line without CRLF")?;
                    let size = chunk_size(line)?;
                    buf.advance(nl + 1);
                    self.state = if size == 0 {
                        ChunkState::Trailers
                    } else {
                        ChunkState::Data(size)
                    };
                }
                ChunkState::Data(rem) => {
                    if buf.is_empty() {
                        return Ok(Step::More);
                    }
                    let n = rem.min(buf.len() as u64);
                    self.state = if n == rem {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(rem - n)
                    };
                    return Ok(Step::Data(buf.split_to(n as usize).freeze()));
                }
                ChunkState::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Step::More);
                    }
                    if buf[..2] != *b"\r\n" {
                        return Err("chunk data not followed by CRLF");
                    }
                    buf.advance(2);
                    self.state = ChunkState::Size;
                }
                ChunkState::Trailers => return self.trailers(buf),
                ChunkState::Done => return Ok(Step::End),
            }
        }
    }

    fn trailers(&mut self, buf: &mut BytesMut) -> Result<Step, &'static str> {
        if buf.starts_with(b"\r\n") {
            buf.advance(2);
            self.state = ChunkState::Done;
            return Ok(Step::End);
        }
        let mut slots = [httparse::EMPTY_HEADER; MAX_TRAILER_FIELDS];
        let (len, fields) = match httparse::parse_headers(&buf[..], &mut slots) {
            Ok(httparse::Status::Complete(done)) => done,
            Ok(httparse::Status::Partial) if buf.len() > MAX_TRAILERS => {
                return Err("trailer section too long");
            }
            Ok(httparse::Status::Partial) => return Ok(Step::More),
            Err(_) => return Err("malformed trailer section"),
        };
        let mut map = HeaderMap::with_capacity(fields.len());
        for field in fields {
            let name = HeaderName::from_bytes(field.name.as_bytes())
                .map_err(|_| "malformed trailer name")?;
            let value =
                HeaderValue::from_bytes(field.value).map_err(|_| "malformed trailer value")?;
            map.append(name, value);
        }
        buf.advance(len);
        self.state = ChunkState::Done;
        Ok(if map.is_empty() {
            Step::End
        } else {
            Step::Trailers(map)
        })
    }
}

/// The size of a chunk-size line (`hex [ BWS ; extensions ]`).
fn chunk_size(line: &[u8]) -> Result<u64, &'static str> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err("bad chunk size");
    }
    let rest = line[digits..].iter().find(|&&b| b != b' ' && b != b'\t');
    if rest.is_some_and(|&b| b != b';') {
        return Err("bad chunk size");
    }
    let text = std::str::from_utf8(&line[..digits]).map_err(|_| "bad chunk size")?;
    u64::from_str_radix(text, 16).map_err(|_| "bad chunk size")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `piece` bytes: the data, the trailers, or the error.
    fn decode(input: &[u8], piece: usize) -> Result<(Vec<u8>, Option<HeaderMap>), &'static str> {
        let mut decoder = Chunked::default();
        let mut buf = BytesMut::new();
        let mut rest = input;
        let mut data = Vec::new();
        loop {
            match decoder.step(&mut buf)? {
                Step::Data(d) => data.extend_from_slice(&d),
                Step::Trailers(t) => return Ok((data, Some(t))),
                Step::End => return Ok((data, None)),
                Step::More if rest.is_empty() => return Err("incomplete"),
                Step::More => {
                    let n = piece.min(rest.len());
                    buf.extend_from_slice(&rest[..n]);
                    rest = &rest[n..];
                }
            }
        }
    }

    #[test]
    fn chunked_bodies_decode_whatever_the_read_boundaries() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
        for piece in [1, 2, 3, 7, 64] {
            assert_eq!(
                decode(body, piece).unwrap(),
                (b"hello, world".to_vec(), None),
                "{piece}"
            );
        }
    }

    #[test]
    fn chunked_trailers_become_a_trailers_frame() {
        let body = b"3\r\nabc\r\n0\r\ngrpc-status: 0\r\nx-t: 1\r\n\r\n";
        for piece in [1, 5, 64] {
            let (data, trailers) = decode(body, piece).unwrap();
            assert_eq!(data, b"abc");
            let trailers = trailers.unwrap();
            assert_eq!(trailers["grpc-status"], "0");
            assert_eq!(trailers["x-t"], "1");
        }
    }

    #[test]
    fn malformed_chunked_bodies_are_errors() {
        for body in [
            &b"zz\r\nhello\r\n0\r\n\r\n"[..],
            b"5\r\nhelloXX0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"11111111111111111\r\n",
            b"5 x\r\nhello\r\n0\r\n\r\n",
            b"0\r\nbad trailer\r\n\r\n",
        ] {
            assert!(
                decode(body, 64).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
