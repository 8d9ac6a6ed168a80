//! UDP servers for the UDP suites: an echo that says who it is and which source port it saw
//! (`tag|port|payload`), so a test can tell servers and gateway sessions apart; and a small
//! DNS server answering `A` questions from a fixed table (real DNS messages, RFC 1035).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::UdpSocket;

/// A UDP port free a moment ago (bound and released), for a gateway's UDP entry point.
pub fn free_udp_port() -> u16 {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a free UDP port");
    socket.local_addr().expect("local address").port()
}

/// An echo server answering each datagram with `tag|source port|payload`.
pub struct UdpEcho {
    pub addr: SocketAddr,
    received: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl UdpEcho {
    pub async fn start(tag: &str) -> UdpEcho {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind echo");
        let addr = socket.local_addr().expect("echo address");
        let received = Arc::new(AtomicUsize::new(0));
        let (tag, count) = (tag.to_string(), received.clone());
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                count.fetch_add(1, Ordering::SeqCst);
                let mut reply = format!("{tag}|{}|", from.port()).into_bytes();
                reply.extend_from_slice(&buf[..n]);
                let _ = socket.send_to(&reply, from).await;
            }
        });
        UdpEcho {
            addr,
            received,
            task,
        }
    }

    /// Datagrams received so far.
    pub fn received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An echo reply split into (tag, source port the server saw, payload); the payload may be
/// any bytes.
pub fn parse_echo(reply: &[u8]) -> (String, u16, Vec<u8>) {
    let mut parts = reply.splitn(3, |b| *b == b'|');
    let mut text = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (tag, port) = (text(), text());
    let port = port.parse().expect("echo port");
    (tag, port, parts.next().unwrap_or_default().to_vec())
}

/// A DNS server over UDP answering `A IN` questions for the names of `table`, NXDOMAIN for
/// the others.
pub struct DnsServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl DnsServer {
    pub async fn start(table: &[(&str, Ipv4Addr)]) -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind dns");
        let addr = socket.local_addr().expect("dns address");
        let table: Vec<(String, Ipv4Addr)> =
            table.iter().map(|(n, ip)| (n.to_string(), *ip)).collect();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 512];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                if let Some(answer) = dns_answer(&buf[..n], &table) {
                    let _ = socket.send_to(&answer, from).await;
                }
            }
        });
        DnsServer { addr, task }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A standard query (recursion desired) for `name`, type A, class IN.
pub fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.extend_from_slice(&[0, 0, 1, 0, 1]);
    out
}

/// The question's name and where the question ends, from a message's offset 12.
fn question(message: &[u8]) -> Option<(String, usize)> {
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*message.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(message.get(at..at + len)?).into_owned());
        at += len;
    }
    Some((labels.join("."), at + 4))
}

fn dns_answer(query: &[u8], table: &[(String, Ipv4Addr)]) -> Option<Vec<u8>> {
    let (name, end) = question(query)?;
    let found = table.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name));
    let mut out = query.get(..2)?.to_vec();
    // Response, recursion desired and available; rcode 0 or 3 (NXDOMAIN).
    out.extend_from_slice(&[0x81, if found.is_some() { 0x80 } else { 0x83 }]);
    out.extend_from_slice(&[0, 1, 0, u8::from(found.is_some()), 0, 0, 0, 0]);
    out.extend_from_slice(query.get(12..end)?);
    if let Some((_, ip)) = found {
        // Name by pointer to the question, A, IN, TTL 60, 4 bytes of address.
        out.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        out.extend_from_slice(&ip.octets());
    }
    Some(out)
}

/// A response's id, rcode and the address of its first answer (if any).
pub fn dns_response(message: &[u8]) -> (u16, u8, Option<Ipv4Addr>) {
    let id = u16::from_be_bytes([message[0], message[1]]);
    let rcode = message[3] & 0x0f;
    let answers = u16::from_be_bytes([message[6], message[7]]);
    let (_, end) = question(message).expect("question section");
    let ip = (answers > 0).then(|| {
        let rdata = &message[end + 12..end + 16];
        Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3])
    });
    (id, rcode, ip)
}
