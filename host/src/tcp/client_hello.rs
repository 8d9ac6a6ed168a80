//! Learning what a client speaks before routing it: its first bytes are read (not peeked, so a
//! ClientHello split over several segments can be waited for) and, when they start a TLS
//! handshake, the ClientHello is parsed by rustls (`Acceptor`) for its server name and ALPN
//! protocols. The bytes read are handed back to be replayed (`Prefixed`).
//!
//! Runs once per connection on an entrypoint with TCP routers; costs one read for a plain
//! client and a ClientHello parse (no handshake) for a TLS one.

use std::time::Duration;

use rustls::server::Acceptor;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;
/// An SSLv2-style ClientHello starts with a length whose top bit is set; taken as TLS (the
/// handshake then refuses it), as Traefik does.
const SSL2_RECORD: u8 = 0x80;
/// A ClientHello larger than this is refused (rustls caps handshake messages lower).
const MAX_HELLO_BYTES: usize = 64 * 1024;

/// The server name and ALPN protocols a ClientHello offers.
#[derive(Debug, Default, Clone)]
pub struct HelloInfo {
    /// Lowercase, as sent.
    pub server_name: Option<String>,
    pub alpn: Vec<Vec<u8>>,
}

/// What the first bytes of a connection said.
#[derive(Debug)]
pub enum FirstBytes {
    /// Nothing came within the timeout (a server-speaks-first protocol, or an idle client).
    Silent,
    /// The client closed, failed, or sent a TLS record that is not a usable ClientHello.
    Gone,
    /// Not TLS: the bytes read so far.
    Plain(Vec<u8>),
    /// A TLS ClientHello (`None` info for an SSLv2-style hello), and every byte read.
    Tls(Vec<u8>, HelloInfo),
}

/// Reads the first bytes of `io`: `first_byte` bounds the wait for the first one, and again the
/// rest of a ClientHello.
pub async fn read_first_bytes<IO: AsyncRead + Unpin>(
    io: &mut IO,
    first_byte: Duration,
) -> FirstBytes {
    // On the heap: this future lives in the connection's task for as long as it is read.
    let mut chunk = vec![0u8; 4096];
    let n = match tokio::time::timeout(first_byte, io.read(&mut chunk)).await {
        Err(_) => return FirstBytes::Silent,
        Ok(Ok(0)) | Ok(Err(_)) => return FirstBytes::Gone,
        Ok(Ok(n)) => n,
    };
    let mut bytes = chunk[..n].to_vec();
    match bytes[0] {
        TLS_HANDSHAKE_RECORD => {}
        SSL2_RECORD => return FirstBytes::Tls(bytes, HelloInfo::default()),
        _ => return FirstBytes::Plain(bytes),
    }
    let deadline = Instant::now() + first_byte;
    let mut acceptor = Acceptor::default();
    let mut fresh = 0..n;
    loop {
        let mut unread = &bytes[fresh.clone()];
        while !unread.is_empty() {
            if acceptor.read_tls(&mut unread).is_err() {
                return FirstBytes::Gone;
            }
        }
        match acceptor.accept() {
            Ok(Some(accepted)) => {
                let info = hello_info(&accepted);
                return FirstBytes::Tls(bytes, info);
            }
            Ok(None) => {}
            Err(_) => return FirstBytes::Gone,
        }
        if bytes.len() > MAX_HELLO_BYTES {
            return FirstBytes::Gone;
        }
        let n = match tokio::time::timeout_at(deadline, io.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => return FirstBytes::Gone,
        };
        let start = bytes.len();
        bytes.extend_from_slice(&chunk[..n]);
        fresh = start..bytes.len();
    }
}

/// The server name and ALPN of an accepted ClientHello.
fn hello_info(accepted: &rustls::server::Accepted) -> HelloInfo {
    let hello = accepted.client_hello();
    HelloInfo {
        server_name: hello.server_name().map(str::to_ascii_lowercase),
        alpn: hello
            .alpn()
            .map(|protocols| protocols.map(<[u8]>::to_vec).collect())
            .unwrap_or_default(),
    }
}

/// The server name and ALPN of the complete ClientHello at the start of `bytes` (bytes read
/// by [`read_first_bytes`]); `None` when they do not hold one. One ClientHello parse, no
/// handshake: for connection middlewares (`tcp::serve`), which get what routing saw.
pub fn parse_hello(mut bytes: &[u8]) -> Option<HelloInfo> {
    if bytes.first() != Some(&TLS_HANDSHAKE_RECORD) {
        return None;
    }
    let mut acceptor = Acceptor::default();
    while !bytes.is_empty() {
        acceptor.read_tls(&mut bytes).ok()?;
    }
    match acceptor.accept() {
        Ok(Some(accepted)) => Some(hello_info(&accepted)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn client_hello(sni: &str, alpn: &[&str]) -> Vec<u8> {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        let name = rustls::pki_types::ServerName::try_from(sni.to_string()).unwrap();
        let mut conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
        let mut out = Vec::new();
        conn.write_tls(&mut out).unwrap();
        out
    }

    #[tokio::test]
    async fn a_client_hello_split_in_two_gives_its_name_and_protocols() {
        let hello = client_hello("Svc.Test", &["h2", "x-db"]).await;
        let (a, b) = hello.split_at(hello.len() / 2);
        let (mut tx, mut rx) = tokio::io::duplex(64 * 1024);
        use tokio::io::AsyncWriteExt;
        tx.write_all(a).await.unwrap();
        let rest = b.to_vec();
        let writer = tokio::spawn(async move {
            tokio::task::yield_now().await;
            tx.write_all(&rest).await.unwrap();
            tx
        });
        let read = read_first_bytes(&mut rx, Duration::from_secs(10)).await;
        let _tx = writer.await.unwrap();
        let FirstBytes::Tls(bytes, info) = read else {
            panic!("{read:?}")
        };
        assert_eq!(bytes, hello);
        assert_eq!(info.server_name.as_deref(), Some("svc.test"));
        assert_eq!(info.alpn, vec![b"h2".to_vec(), b"x-db".to_vec()]);
        let again = parse_hello(&bytes).expect("the bytes read hold the ClientHello");
        assert_eq!(again.server_name, info.server_name);
        assert_eq!(again.alpn, info.alpn);
        assert!(parse_hello(b"GET / HTTP/1.1").is_none());
    }

    #[tokio::test]
    async fn plain_bytes_are_not_tls() {
        let mut input: &[u8] = b"GET / HTTP/1.1\r\n";
        let read = read_first_bytes(&mut input, Duration::from_secs(10)).await;
        assert!(matches!(read, FirstBytes::Plain(b) if b.starts_with(b"GET")));
    }
}
