//! One client's session: a socket connected to the chosen server (its own source port, so
//! replies are told apart per client), the relay task that sends the server's datagrams back
//! to the client from the entrypoint's socket, and the idle timeout that ends it.
//!
//! Costs: opening a session is a `socket` + `connect` (and a name lookup for a server that
//! is not an IP literal) and one task; a datagram client -> server is one `send` done by the
//! listener itself (`SessionState::touch` stamps it), a datagram server -> client one `recv`
//! and one `send_to` by the relay, into a per-thread buffer (no allocation).

use std::cell::RefCell;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The largest UDP payload (IPv4: 65535 - 8 - 20).
pub(crate) const MAX_DATAGRAM: usize = 65_507;

/// How many queued datagrams a relay sends on before it lets other tasks run.
const DRAIN_BATCH: usize = 64;

thread_local! {
    /// The relay's receive buffer: one per worker thread, not one per session (a DNS client
    /// makes a session per query).
    static REPLY_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; MAX_DATAGRAM].into_boxed_slice());
}

/// Milliseconds since the entrypoint started, and the idle timeout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionClock {
    pub(crate) epoch: Instant,
    pub(crate) timeout: Duration,
}

impl SessionClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// A datagram count and its bytes, one direction of a session.
#[derive(Debug, Default)]
pub(crate) struct Traffic {
    datagrams: AtomicU64,
    bytes: AtomicU64,
    dropped: AtomicU64,
}

impl Traffic {
    fn sent(&self, bytes: usize) {
        self.datagrams.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    fn read(&self) -> (u64, u64, u64) {
        (
            self.datagrams.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
        )
    }
}

/// What the listener and a session's relay share.
#[derive(Debug, Default)]
pub(crate) struct SessionState {
    /// [`SessionClock`] milliseconds of the last datagram either way.
    last_ms: AtomicU64,
    /// Set when the relay has ended the session: the listener opens a new one for the next
    /// datagram of this client.
    closed: AtomicBool,
    pub(crate) to_server: Traffic,
    pub(crate) to_client: Traffic,
}

impl SessionState {
    /// Marks the session ended (its relay stopped, or it never got a socket).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Records activity now. Once per datagram: a clock read and a relaxed store.
    pub(crate) fn touch(&self, clock: &SessionClock) {
        self.last_ms.store(clock.now_ms(), Ordering::Relaxed);
    }

    /// Sends `datagram` to the server (never waits: a full socket buffer drops it, as the
    /// network would). Runs on the listener's task.
    pub(crate) fn forward(&self, upstream: &UdpSocket, datagram: &[u8], clock: &SessionClock) {
        match send_now(upstream, datagram, None) {
            Ok(n) => {
                self.to_server.sent(n);
                self.touch(clock);
            }
            Err(e) => {
                self.to_server.dropped();
                tracing::debug!(error = %e, "UDP datagram to the server dropped");
            }
        }
    }
}

/// One non-blocking `send` (or `sendto` with `to`) on `socket`, straight on its descriptor:
/// tokio's `try_send` answers "would block" until the reactor has seen the socket writable
/// once, which drops the first datagram of every new session. Never waits.
fn send_now(socket: &UdpSocket, datagram: &[u8], to: Option<SocketAddr>) -> io::Result<usize> {
    let raw = socket2::SockRef::from(socket);
    match to {
        Some(to) => raw.send_to(datagram, &to.into()),
        None => raw.send(datagram),
    }
}

/// A socket of its own for one session, connected to `server` (only its replies are read).
/// Synchronous and cheap: no name lookup. Must run inside the runtime.
pub(crate) fn connect_socket(server: SocketAddr) -> io::Result<Arc<UdpSocket>> {
    let local = if server.is_ipv4() {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
    };
    let socket = std::net::UdpSocket::bind(local)?;
    socket.connect(server)?;
    socket.set_nonblocking(true)?;
    Ok(Arc::new(UdpSocket::from_std(socket)?))
}

/// Resolves `address` (`host:port`) and connects a session socket to its first address.
/// Once per session to a server named by host name, on the session's own task.
pub(crate) async fn resolve_and_connect(address: &str) -> io::Result<Arc<UdpSocket>> {
    let server = tokio::net::lookup_host(address)
        .await?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
    connect_socket(server)
}

/// A session that ended, for the listener to forget it.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) client: SocketAddr,
    pub(crate) id: u64,
}

/// Where a session's relay sends replies, and whom to tell when it ends.
#[derive(Debug, Clone)]
pub(crate) struct ReplyPath {
    pub(crate) entrypoint: Arc<UdpSocket>,
    pub(crate) client: SocketAddr,
    pub(crate) id: u64,
    pub(crate) ended: mpsc::UnboundedSender<Ended>,
}

/// Relays the server's datagrams to the client until the session has been idle (no datagram
/// either way) for the clock's timeout, then marks it closed and tells the listener. The
/// session's task; wakes once per burst of replies and once per timeout period.
pub(crate) async fn relay(
    upstream: Arc<UdpSocket>,
    reply: ReplyPath,
    state: Arc<SessionState>,
    clock: SessionClock,
    server: Arc<str>,
) {
    let timeout_ms = u64::try_from(clock.timeout.as_millis()).unwrap_or(u64::MAX);
    let deadline = |last: u64| clock.epoch + Duration::from_millis(last.saturating_add(timeout_ms));
    let sleep = tokio::time::sleep_until(deadline(state.last_ms.load(Ordering::Relaxed)));
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            ready = upstream.readable() => {
                if let Err(e) = ready {
                    tracing::debug!(error = %e, "UDP session socket failed");
                    break;
                }
                send_replies(&upstream, &reply, &state, &clock);
                tokio::task::yield_now().await;
            }
            () = &mut sleep => {
                let due = deadline(state.last_ms.load(Ordering::Relaxed));
                if due <= Instant::now() {
                    break;
                }
                sleep.as_mut().reset(due);
            }
        }
    }
    state.close();
    let (up, up_bytes, up_dropped) = state.to_server.read();
    let (down, down_bytes, down_dropped) = state.to_client.read();
    tracing::debug!(
        client = %reply.client,
        server = &*server,
        datagrams_in = up,
        bytes_in = up_bytes,
        dropped_in = up_dropped,
        datagrams_out = down,
        bytes_out = down_bytes,
        dropped_out = down_dropped,
        "UDP session ended"
    );
    let _ = reply.ended.send(Ended {
        client: reply.client,
        id: reply.id,
    });
}

/// Sends what the server has queued (at most [`DRAIN_BATCH`] datagrams) to the client.
fn send_replies(
    upstream: &UdpSocket,
    reply: &ReplyPath,
    state: &SessionState,
    clock: &SessionClock,
) {
    REPLY_BUF.with_borrow_mut(|buf| {
        for _ in 0..DRAIN_BATCH {
            let n = match upstream.try_recv(buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    // An ICMP error for an earlier datagram (e.g. nothing listens there).
                    tracing::debug!(error = %e, client = %reply.client, "UDP server unreachable");
                    return;
                }
            };
            let Some(datagram) = buf.get(..n) else {
                return;
            };
            match send_now(&reply.entrypoint, datagram, Some(reply.client)) {
                Ok(sent) => {
                    state.to_client.sent(sent);
                    state.touch(clock);
                }
                Err(e) => {
                    state.to_client.dropped();
                    tracing::debug!(error = %e, client = %reply.client, "UDP reply dropped");
                }
            }
        }
    });
}
