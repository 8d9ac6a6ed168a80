//! A raw HTTP/2 client over plain TCP (h2c prior knowledge) that writes exact frames and reads
//! the server's frames, for the flood suites. Blocking std sockets: run it inside
//! `spawn_blocking` or a thread. Header blocks are HPACK literals without indexing (no Huffman,
//! no dynamic table), so every byte sent is predictable.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;

/// SETTINGS identifiers (RFC 9113 §6.5.2).
pub const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
pub const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;

/// Error codes (RFC 9113 §7).
pub const CANCEL: u32 = 0x8;
pub const REFUSED_STREAM: u32 = 0x7;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// One frame as read from the wire.
#[derive(Debug, Clone)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// For RST_STREAM and GOAWAY: the error code.
    pub fn error_code(&self) -> Option<u32> {
        let at = match self.kind {
            RST_STREAM => 0,
            GOAWAY => 4,
            _ => return None,
        };
        self.payload
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// For GOAWAY: the last stream id the server says it processed.
    pub fn last_stream_id(&self) -> Option<u32> {
        (self.kind == GOAWAY).then_some(())?;
        self.payload
            .get(0..4)
            .map(|b| u32::from_be_bytes([b[0] & 0x7f, b[1], b[2], b[3]]))
    }

    /// For GOAWAY: the debug data (h2 names the limit there, e.g. `too_many_resets`).
    pub fn debug_data(&self) -> String {
        match self.kind {
            GOAWAY => String::from_utf8_lossy(self.payload.get(8..).unwrap_or(&[])).into_owned(),
            _ => String::new(),
        }
    }

    /// For SETTINGS: the (identifier, value) pairs.
    pub fn settings(&self) -> Vec<(u16, u32)> {
        self.payload
            .chunks_exact(6)
            .map(|c| {
                (
                    u16::from_be_bytes([c[0], c[1]]),
                    u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                )
            })
            .collect()
    }

    /// For a response HEADERS frame: the status when the server sent it as an indexed field of
    /// the HPACK static table (200, 204, 206, 304, 400, 404, 500, the only ones indexed there).
    /// Other statuses are Huffman-coded literals this client does not decode: `None`.
    pub fn static_status(&self) -> Option<u16> {
        const STATIC: [u16; 7] = [200, 204, 206, 304, 400, 404, 500];
        let first = *self.payload.first()?;
        let idx = (first & 0x7f) as usize;
        (first & 0x80 != 0 && (8..=14).contains(&idx)).then(|| STATIC[idx - 8])
    }
}

/// One frame's bytes: 9-byte header then the payload.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

pub fn settings(pairs: &[(u16, u32)]) -> Vec<u8> {
    let mut payload = Vec::new();
    for (id, value) in pairs {
        payload.extend_from_slice(&id.to_be_bytes());
        payload.extend_from_slice(&value.to_be_bytes());
    }
    frame(SETTINGS, 0, 0, &payload)
}

pub fn settings_ack() -> Vec<u8> {
    frame(SETTINGS, ACK, 0, &[])
}

pub fn ping(data: [u8; 8]) -> Vec<u8> {
    frame(PING, 0, 0, &data)
}

pub fn rst_stream(stream: u32, code: u32) -> Vec<u8> {
    frame(RST_STREAM, 0, stream, &code.to_be_bytes())
}

pub fn window_update(stream: u32, increment: u32) -> Vec<u8> {
    frame(
        WINDOW_UPDATE,
        0,
        stream,
        &(increment & 0x7fff_ffff).to_be_bytes(),
    )
}

pub fn headers(stream: u32, flags: u8, block: &[u8]) -> Vec<u8> {
    frame(HEADERS, flags, stream, block)
}

pub fn continuation(stream: u32, flags: u8, block: &[u8]) -> Vec<u8> {
    frame(CONTINUATION, flags, stream, block)
}

/// HPACK integer with an `n`-bit prefix (RFC 7541 §5.1); `first` holds the pattern bits.
fn hpack_int(out: &mut Vec<u8>, mut value: usize, n: u32, first: u8) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// A "literal header field without indexing — new name" (RFC 7541 §6.2.2), no Huffman.
pub fn literal(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.push(0x00);
    hpack_int(out, name.len(), 7, 0);
    out.extend_from_slice(name.as_bytes());
    hpack_int(out, value.len(), 7, 0);
    out.extend_from_slice(value);
}

/// The header block of a request: the four pseudo-headers then `extra`, all literals.
pub fn request_block(method: &str, path: &str, authority: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    literal(&mut out, ":method", method.as_bytes());
    literal(&mut out, ":scheme", b"http");
    literal(&mut out, ":path", path.as_bytes());
    literal(&mut out, ":authority", authority.as_bytes());
    for (name, value) in extra {
        literal(&mut out, name, value.as_bytes());
    }
    out
}

/// What a read gave.
#[derive(Debug)]
pub enum Read2 {
    Frame(Frame),
    /// EOF or a reset: the server closed the connection.
    Closed,
    /// Nothing within the timeout; the connection is still open.
    Idle,
}

/// A raw h2c connection.
pub struct RawH2 {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawH2 {
    /// Connects and sends the client preface and an empty SETTINGS frame.
    pub fn connect(addr: SocketAddr) -> io::Result<RawH2> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        let mut hello = PREFACE.to_vec();
        hello.extend(settings(&[]));
        stream.write_all(&hello)?;
        Ok(RawH2 {
            stream,
            buf: Vec::new(),
        })
    }

    /// Connects, then reads until the server's SETTINGS and acknowledges it (so the server's
    /// advertised limits are in force). Returns the server's settings.
    pub fn handshake(addr: SocketAddr) -> io::Result<(RawH2, Vec<(u16, u32)>)> {
        let mut conn = Self::connect(addr)?;
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            match conn.read_frame(Duration::from_secs(1))? {
                Read2::Frame(f) if f.kind == SETTINGS && f.flags & ACK == 0 => {
                    conn.send(&settings_ack())?;
                    return Ok((conn, f.settings()));
                }
                Read2::Frame(_) | Read2::Idle => {}
                Read2::Closed => break,
            }
        }
        Err(io::Error::other("no SETTINGS from the server"))
    }

    /// The server side of an accepted connection: reads the client's preface and sends an
    /// empty SETTINGS frame (acknowledging the client's is left to the caller).
    pub fn accept(mut stream: TcpStream) -> io::Result<RawH2> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut preface = [0u8; PREFACE.len()];
        stream.read_exact(&mut preface)?;
        if preface != PREFACE {
            return Err(io::Error::other("not an HTTP/2 client preface"));
        }
        stream.write_all(&settings(&[]))?;
        Ok(RawH2 {
            stream,
            buf: Vec::new(),
        })
    }

    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// A second handle on the socket, for a writer thread while this one reads.
    pub fn writer(&self) -> io::Result<TcpStream> {
        self.stream.try_clone()
    }

    /// Reads one frame, waiting at most `timeout` for more bytes.
    pub fn read_frame(&mut self, timeout: Duration) -> io::Result<Read2> {
        self.stream.set_read_timeout(Some(timeout))?;
        loop {
            if self.buf.len() >= 9 {
                let len = u32::from_be_bytes([0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
                if self.buf.len() >= 9 + len {
                    let f = Frame {
                        kind: self.buf[3],
                        flags: self.buf[4],
                        stream: u32::from_be_bytes([
                            self.buf[5] & 0x7f,
                            self.buf[6],
                            self.buf[7],
                            self.buf[8],
                        ]),
                        payload: self.buf[9..9 + len].to_vec(),
                    };
                    self.buf.drain(..9 + len);
                    return Ok(Read2::Frame(f));
                }
            }
            let mut chunk = [0u8; 16 << 10];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(Read2::Closed),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(Read2::Idle);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Ok(Read2::Closed);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads frames until the server closes the connection (or `limit` passes as a hang
    /// guard: then `closed` is false). Returns every frame read and whether it closed.
    pub fn read_until_closed(&mut self, limit: Duration) -> io::Result<(Vec<Frame>, bool)> {
        let until = Instant::now() + limit;
        let mut frames = Vec::new();
        while Instant::now() < until {
            match self.read_frame(Duration::from_millis(200))? {
                Read2::Frame(f) => frames.push(f),
                Read2::Closed => return Ok((frames, true)),
                Read2::Idle => {}
            }
        }
        Ok((frames, false))
    }
}
