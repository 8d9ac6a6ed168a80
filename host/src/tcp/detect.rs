//! Protocol detection on a `transparent` entrypoint: which path a connection takes is decided
//! from its first bytes, read by [`super::read_first_bytes`] (the same read that parses a
//! ClientHello for TCP routers): a TLS ClientHello goes to the TLS routers by SNI and ALPN, an
//! HTTP/1.x request line or the HTTP/2 preface to the HTTP routers (h2c by prior knowledge),
//! anything else — or nothing within `detectTimeout`, as with a protocol where the server speaks
//! first — to the plain TCP routers. Connections to an `opaquePorts` port skip the read.
//!
//! Runs once per connection; [`looks_like_http`] compares a few bytes and allocates nothing.

/// The request methods a client may open an HTTP/1.x connection with (RFC 9110 and WebDAV's
/// common ones), each followed by a space; `PRI ` starts the HTTP/2 preface.
const METHODS: [&[u8]; 16] = [
    b"GET ",
    b"HEAD ",
    b"POST ",
    b"PUT ",
    b"DELETE ",
    b"CONNECT ",
    b"OPTIONS ",
    b"TRACE ",
    b"PATCH ",
    b"PRI ",
    b"PROPFIND ",
    b"PROPPATCH ",
    b"MKCOL ",
    b"COPY ",
    b"MOVE ",
    b"LOCK ",
];

/// Whether `first` (a connection's first bytes, at least one) starts an HTTP/1.x request or
/// the HTTP/2 connection preface. A first segment shorter than the method and its space counts
/// when it is a prefix of one (clients send the request line in one write).
pub fn looks_like_http(first: &[u8]) -> bool {
    METHODS.iter().any(|method| {
        let n = first.len().min(method.len());
        n > 0 && first[..n] == method[..n]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_and_the_h2_preface_are_http_and_other_protocols_are_not() {
        assert!(looks_like_http(b"GET / HTTP/1.1\r\n"));
        assert!(looks_like_http(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        assert!(looks_like_http(b"OPTIONS * HTTP/1.1\r\n"));
        assert!(!looks_like_http(b"EHLO client.test\r\n"));
        assert!(!looks_like_http(b"*1\r\n$4\r\nPING\r\n"));
        assert!(!looks_like_http(b"GETX"));
        assert!(!looks_like_http(b"\x16\x03\x01"));
    }
}
