//! The little of an HTTP/1.1 request head the bench upstream needs: where it ends, whether the
//! path asks for the large body or an echo, the body length, and `Connection: close`.

/// What a buffer holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// No `\r\n\r\n` yet.
    Incomplete,
    /// Not a request line or an unreadable `Content-Length`.
    Invalid,
    Complete(Head),
}

/// One parsed request head.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    /// Bytes of the head, final blank line included.
    pub head_len: usize,
    /// From `Content-Length` (0 when absent).
    pub body_len: usize,
    /// The path is `/16k` (query ignored).
    pub large: bool,
    /// The path is `/echo` (query ignored): the answer's body is the request's body.
    pub echo: bool,
    /// `Connection: close` was sent.
    pub close: bool,
}

impl Head {
    /// Head plus body: how much of the buffer this request takes.
    pub fn total_len(&self) -> usize {
        self.head_len + self.body_len
    }
}

/// Parses the head at the start of `buf`. Costs one scan for the blank line plus one pass over
/// the header lines.
pub fn parse_head(buf: &[u8]) -> Parsed {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Parsed::Incomplete;
    };
    let head = &buf[..end];
    let mut lines = head.split(|&b| b == b'\n').map(trim_cr);
    let Some(request_line) = lines.next() else {
        return Parsed::Invalid;
    };
    let mut parts = request_line.split(|&b| b == b' ');
    let (Some(_method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Parsed::Invalid;
    };
    if !version.starts_with(b"HTTP/1.") {
        return Parsed::Invalid;
    }
    let path = target.split(|&b| b == b'?').next().unwrap_or(target);
    let mut body_len = 0usize;
    let mut close = version == b"HTTP/1.0";
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Parsed::Invalid;
        };
        let (name, value) = (&line[..colon], trim_spaces(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(b"content-length") {
            match std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
                Some(n) => body_len = n,
                None => return Parsed::Invalid,
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            close = value.eq_ignore_ascii_case(b"close");
        }
    }
    Parsed::Complete(Head {
        head_len: end + 4,
        body_len,
        large: path == b"/16k",
        echo: path == b"/echo",
        close,
    })
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_spaces(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_to_echo_asks_for_its_body_back() {
        let buf = b"POST /echo?x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
        let Parsed::Complete(h) = parse_head(buf) else {
            panic!("not complete")
        };
        assert_eq!((h.echo, h.large, h.body_len), (true, false, 3));
        assert_eq!(&buf[h.head_len..h.total_len()], b"abc");
    }

    #[test]
    fn a_head_without_its_blank_line_is_incomplete() {
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nHost: a\r\n"),
            Parsed::Incomplete
        );
    }

    #[test]
    fn a_keep_alive_get_for_the_small_body() {
        let buf = b"GET /x?y=1 HTTP/1.1\r\nHost: a\r\n\r\nGET /16k HTTP/1.1\r\n\r\n";
        let Parsed::Complete(h) = parse_head(buf) else {
            panic!("not complete")
        };
        assert_eq!(
            (h.head_len, h.body_len, h.large, h.close),
            (32, 0, false, false)
        );
        let Parsed::Complete(next) = parse_head(&buf[h.total_len()..]) else {
            panic!("second head not complete")
        };
        assert!(next.large);
    }

    #[test]
    fn connection_close_and_content_length_are_read_case_insensitively() {
        let buf = b"POST /16k HTTP/1.1\r\nconnection:  Close \r\nCONTENT-LENGTH: 5\r\n\r\nhello";
        let Parsed::Complete(h) = parse_head(buf) else {
            panic!("not complete")
        };
        assert_eq!((h.body_len, h.large, h.close), (5, true, true));
        assert_eq!(h.total_len(), buf.len());
    }

    #[test]
    fn http_1_0_closes_and_garbage_is_invalid() {
        let Parsed::Complete(h) = parse_head(b"GET / HTTP/1.0\r\n\r\n") else {
            panic!("not complete")
        };
        assert!(h.close);
        assert_eq!(parse_head(b"hello\r\n\r\n"), Parsed::Invalid);
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            Parsed::Invalid
        );
    }
}
