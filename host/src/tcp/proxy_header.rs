//! Receiving a PROXY protocol header on an entrypoint with `proxyProtocol`: the first bytes are
//! peeked; a header from a trusted sender is consumed and its client address replaces the
//! peer's, a header from any other sender closes the connection, and a connection without one
//! goes on untouched (nothing consumed). Runs once per connection on such an entrypoint: one
//! peek, plus a read of the header's exact length.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::proxy_protocol::{Parsed, parse};

/// Longest header accepted (v2 TLVs included); cloud balancers send well under 1 KiB.
const MAX_HEADER: usize = 4096;
/// Pause between two peeks while a header is still arriving (a header split over segments is
/// rare: senders write it whole).
const PEEK_AGAIN: Duration = Duration::from_millis(1);

/// Why a connection was refused while its PROXY header was read.
#[derive(Debug, thiserror::Error)]
pub enum ProxyHeaderError {
    #[error("PROXY protocol header from {0}, which is not in proxyProtocol.trustedIPs")]
    Untrusted(SocketAddr),
    #[error("invalid PROXY protocol header: {0}")]
    Invalid(&'static str),
    #[error("PROXY protocol header not complete in time")]
    TimedOut,
    #[error("reading the PROXY protocol header: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads the PROXY header at the start of `stream`, if there is one: `Ok(Some(client))` for a
/// trusted header naming a client, `Ok(None)` when there is no header (or it names none).
/// `trusted`: the peer may send one. `limit` bounds the wait for the first bytes.
///
/// # Errors
/// A header from an untrusted peer, a malformed or oversized one, or one not complete in time.
pub async fn read_proxy_header(
    stream: &mut TcpStream,
    peer: SocketAddr,
    trusted: bool,
    limit: Duration,
) -> Result<Option<SocketAddr>, ProxyHeaderError> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = vec![0u8; MAX_HEADER];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(result) => result?,
            // A client that sends nothing is not refused here: the entrypoint's own waits apply.
            Err(_) => return Ok(None),
        };
        if n == 0 {
            return Ok(None);
        }
        match parse(&buf[..n]) {
            Parsed::NotProxy => return Ok(None),
            Parsed::Header { .. } | Parsed::Invalid(_) if !trusted => {
                return Err(ProxyHeaderError::Untrusted(peer));
            }
            Parsed::Header { len, source } => {
                stream.read_exact(&mut buf[..len]).await?;
                return Ok(source);
            }
            Parsed::Invalid(reason) => return Err(ProxyHeaderError::Invalid(reason)),
            Parsed::Incomplete if n == buf.len() => {
                return Err(ProxyHeaderError::Invalid("longer than 4096 bytes"));
            }
            Parsed::Incomplete => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(ProxyHeaderError::TimedOut);
                }
                tokio::time::sleep(PEEK_AGAIN).await;
            }
        }
    }
}
