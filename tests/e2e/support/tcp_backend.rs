//! Raw TCP backends for the TCP router suites: an echo server that may speak first (a banner
//! line, as SMTP or MySQL servers do) and may expect a PROXY protocol header (v1 or v2), which
//! it parses and records. It half-closes after echoing everything once the client has.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What a PROXY protocol header said: version and the client address it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyHeader {
    pub version: u8,
    pub source: SocketAddr,
}

pub struct TcpBackend {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    headers: Arc<Mutex<Vec<ProxyHeader>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TcpBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TcpBackend {
    /// An echo server; with `banner` it first writes `banner\n`; with `proxy_protocol` it first
    /// reads a PROXY header (closing the connection if there is none).
    pub async fn start(banner: Option<&str>, proxy_protocol: bool) -> TcpBackend {
        Self::start_on("127.0.0.1:0", banner, proxy_protocol).await
    }

    /// Like `start`, listening on `addr` (e.g. a network namespace's own address).
    pub async fn start_on(addr: &str, banner: Option<&str>, proxy_protocol: bool) -> TcpBackend {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let headers = Arc::new(Mutex::new(Vec::new()));
        let banner = banner.map(|b| format!("{b}\n"));
        let (count, seen) = (accepted.clone(), headers.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let banner = banner.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    if proxy_protocol {
                        match read_proxy_header(&mut stream).await {
                            Some(h) => seen.lock().unwrap().push(h),
                            None => return,
                        }
                    }
                    if let Some(banner) = banner
                        && stream.write_all(banner.as_bytes()).await.is_err()
                    {
                        return;
                    }
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if stream.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    let _ = stream.shutdown().await;
                });
            }
        });
        TcpBackend {
            addr,
            accepted,
            headers,
            task,
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// The PROXY headers received so far.
    pub fn headers(&self) -> Vec<ProxyHeader> {
        self.headers.lock().unwrap().clone()
    }
}

/// Reads a v1 (`PROXY TCP4 src dst sport dport\r\n`) or v2 (binary) header.
async fn read_proxy_header<R: AsyncRead + Unpin>(r: &mut R) -> Option<ProxyHeader> {
    let mut first = [0u8; 12];
    r.read_exact(&mut first[..5]).await.ok()?;
    if &first[..5] == b"PROXY" {
        let mut line = b"PROXY".to_vec();
        while !line.ends_with(b"\r\n") {
            line.push(r.read_u8().await.ok()?);
            if line.len() > 107 {
                return None;
            }
        }
        let text = String::from_utf8(line).ok()?;
        let parts: Vec<&str> = text.trim_end().split(' ').collect();
        let [_, _, src, _, sport, _] = parts[..] else {
            return None;
        };
        let ip: std::net::IpAddr = src.parse().ok()?;
        return Some(ProxyHeader {
            version: 1,
            source: SocketAddr::new(ip, sport.parse().ok()?),
        });
    }
    r.read_exact(&mut first[5..]).await.ok()?;
    if first
        != [
            0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
        ]
    {
        return None;
    }
    let mut head = [0u8; 4];
    r.read_exact(&mut head).await.ok()?;
    let len = u16::from_be_bytes([head[2], head[3]]) as usize;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await.ok()?;
    let source = match head[1] {
        0x11 if len >= 12 => SocketAddr::new(
            std::net::Ipv4Addr::new(body[0], body[1], body[2], body[3]).into(),
            u16::from_be_bytes([body[8], body[9]]),
        ),
        0x21 if len >= 36 => {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&body[..16]);
            SocketAddr::new(
                std::net::Ipv6Addr::from(ip).into(),
                u16::from_be_bytes([body[32], body[33]]),
            )
        }
        _ => return None,
    };
    Some(ProxyHeader { version: 2, source })
}
