//! A raw HTTP/1.1 connection for the suites that write exact bytes: send anything, read back
//! whole responses (Content-Length or chunked bodies), keep-alive and pipelining included.
//! Blocking std sockets: run it inside `spawn_blocking` or a thread.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One response as read off the wire.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    /// The head, lines as sent (status line included).
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// What reading a response gave.
#[derive(Debug)]
pub enum Answer {
    Response(RawResponse),
    /// The connection was closed (EOF or reset) before a complete response.
    Closed,
    /// Nothing complete within the read timeout.
    TimedOut,
}

pub struct RawH1 {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawH1 {
    /// Connects; every read waits at most `timeout` for more bytes.
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<RawH1> {
        RawH1::over(TcpStream::connect(addr)?, timeout)
    }

    /// Connects from the local address `from` (e.g. `127.0.0.2`, another client IP on the
    /// loopback interface); every read waits at most `timeout` for more bytes.
    pub fn connect_from(
        from: std::net::IpAddr,
        addr: SocketAddr,
        timeout: Duration,
    ) -> io::Result<RawH1> {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )?;
        socket.bind(&SocketAddr::new(from, 0).into())?;
        socket.connect(&addr.into())?;
        RawH1::over(TcpStream::from(socket), timeout)
    }

    /// A connected `stream` whose reads wait at most `timeout` for more bytes.
    fn over(stream: TcpStream, timeout: Duration) -> io::Result<RawH1> {
        stream.set_read_timeout(Some(timeout))?;
        Ok(RawH1 {
            stream,
            buf: Vec::new(),
        })
    }

    /// Writes `bytes`; an error (the gateway already closed) is returned, not a panic.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// The socket, for reads beyond whole responses (a HEAD answer's head, a close-delimited
    /// body). Bytes already buffered by `read_response` are not in it.
    pub fn stream_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Closes the connection abruptly (the client hangs up).
    pub fn hang_up(self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }

    /// Reads one whole response.
    pub fn read_response(&mut self) -> Answer {
        let head_end = match self.fill_until(|b| find(b, b"\r\n\r\n").map(|i| i + 4)) {
            Ok(Some(i)) => i,
            Ok(None) => return Answer::Closed,
            Err(_) => return Answer::TimedOut,
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut resp = RawResponse {
            status,
            head,
            body: Vec::new(),
        };
        self.buf.drain(..head_end);
        let chunked = resp
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        if chunked {
            loop {
                let line_end = match self.fill_until(|b| find(b, b"\r\n").map(|i| i + 2)) {
                    Ok(Some(i)) => i,
                    Ok(None) => return Answer::Closed,
                    Err(_) => return Answer::TimedOut,
                };
                let line = String::from_utf8_lossy(&self.buf[..line_end - 2]).into_owned();
                let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                    .unwrap_or(0);
                self.buf.drain(..line_end);
                // The chunk and its CRLF (for the last chunk: the empty trailer line).
                match self.fill_until(|b| (b.len() >= size + 2).then_some(size + 2)) {
                    Ok(Some(_)) => {}
                    Ok(None) => return Answer::Closed,
                    Err(_) => return Answer::TimedOut,
                }
                resp.body.extend_from_slice(&self.buf[..size]);
                self.buf.drain(..size + 2);
                if size == 0 {
                    return Answer::Response(resp);
                }
            }
        }
        let len: usize = resp
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        match self.fill_until(|b| (b.len() >= len).then_some(len)) {
            Ok(Some(_)) => {}
            Ok(None) => return Answer::Closed,
            Err(_) => return Answer::TimedOut,
        }
        resp.body = self.buf.drain(..len).collect();
        Answer::Response(resp)
    }

    /// Whether the gateway closes the connection (EOF or reset) within the read timeout,
    /// with nothing more sent.
    pub fn closed_by_peer(&mut self) -> bool {
        matches!(self.fill_until(|_| None::<usize>), Ok(None))
    }

    /// Reads until `done` finds what it wants in the buffer: `Ok(Some(n))`; `Ok(None)` at EOF
    /// or reset; `Err` on timeout.
    fn fill_until(&mut self, done: impl Fn(&[u8]) -> Option<usize>) -> io::Result<Option<usize>> {
        loop {
            if let Some(n) = done(&self.buf) {
                return Ok(Some(n));
            }
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends one keep-alive GET and reads until the gateway closes or 5 s pass; returns what came
/// back and whether the connection was closed (2 s without data counts as open).
pub fn get_until_closed(addr: SocketAddr) -> (String, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    let closed = loop {
        match s.read(&mut chunk) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}
