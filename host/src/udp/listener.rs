//! A UDP entrypoint: one socket, one task reading every datagram, and a session per client
//! address (Traefik's model). The first datagram of a client opens a session to a server its
//! service picks; later datagrams go to that server until the session has been idle for the
//! entrypoint's `udp.timeout`. The service is looked up only when a session opens, so a
//! reload applies to new sessions and the sessions in flight finish on their old server.
//!
//! Costs per datagram from a client with a session: one hash lookup, one non-blocking `send`
//! and a clock read, on this task; nothing is allocated. Datagrams are never waited for: a full
//! socket buffer drops one, as the network would.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::service::UdpService;
use super::session::{
    Ended, MAX_DATAGRAM, ReplyPath, SessionClock, SessionState, connect_socket, relay,
    resolve_and_connect,
};

/// The service of an entrypoint's UDP router in the live snapshot, if it has one; called once
/// per new session.
pub type UdpRouteSource = Arc<dyn Fn() -> Option<Arc<UdpService>> + Send + Sync>;

/// Datagrams kept for a session whose server name is still being resolved; more are dropped.
const MAX_PENDING: usize = 16;

/// A bound UDP entrypoint, not serving yet.
pub struct UdpEntrypoint {
    name: Arc<str>,
    socket: Arc<UdpSocket>,
    timeout: Duration,
}

impl UdpEntrypoint {
    /// Binds `address`. Start-up only.
    pub async fn bind(name: &str, address: SocketAddr, timeout: Duration) -> io::Result<Self> {
        let socket = UdpSocket::bind(address).await?;
        Ok(UdpEntrypoint {
            name: Arc::from(name),
            socket: Arc::new(socket),
            timeout,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Serves until `shutdown` turns true (or its sender is gone); sessions in flight then
    /// end with their idle timeout.
    pub async fn serve(self, routes: UdpRouteSource, mut shutdown: watch::Receiver<bool>) {
        let (ended_tx, mut ended_rx) = mpsc::unbounded_channel();
        let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
        let mut sessions = Sessions {
            entrypoint: self.name.clone(),
            socket: self.socket.clone(),
            clock: SessionClock {
                epoch: Instant::now(),
                timeout: self.timeout,
            },
            routes,
            open: HashMap::new(),
            next_id: 0,
            ended: ended_tx,
            ready: ready_tx,
        };
        let mut buf = vec![0u8; MAX_DATAGRAM].into_boxed_slice();
        loop {
            tokio::select! {
                biased;
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
                Some(ended) = ended_rx.recv() => sessions.forget(&ended),
                Some(ready) = ready_rx.recv() => sessions.resolved(ready),
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((n, client)) => {
                        if let Some(datagram) = buf.get(..n) {
                            sessions.deliver(client, datagram);
                        }
                    }
                    // Linux reports nothing per client on an unconnected socket; anything
                    // here is about this one datagram.
                    Err(e) => tracing::debug!(entrypoint = &*self.name, error = %e, "UDP receive failed"),
                },
            }
        }
        tracing::info!(entrypoint = &*self.name, "UDP entrypoint stopped");
    }
}

/// The server socket of a session, or the datagrams waiting for it while its name resolves.
enum Upstream {
    Ready(Arc<UdpSocket>),
    Pending(Vec<Box<[u8]>>),
}

struct Session {
    id: u64,
    state: Arc<SessionState>,
    upstream: Upstream,
}

/// A session whose server name resolved.
struct Resolved {
    client: SocketAddr,
    id: u64,
    socket: Arc<UdpSocket>,
}

/// The sessions of one entrypoint, owned by its task (no lock).
struct Sessions {
    entrypoint: Arc<str>,
    socket: Arc<UdpSocket>,
    clock: SessionClock,
    routes: UdpRouteSource,
    open: HashMap<SocketAddr, Session>,
    next_id: u64,
    ended: mpsc::UnboundedSender<Ended>,
    ready: mpsc::UnboundedSender<Resolved>,
}

impl Sessions {
    /// Sends a client's datagram on: to its session's server, or to a new session's.
    fn deliver(&mut self, client: SocketAddr, datagram: &[u8]) {
        if let Some(session) = self.open.get_mut(&client)
            && !session.state.is_closed()
        {
            match &mut session.upstream {
                Upstream::Ready(upstream) => session.state.forward(upstream, datagram, &self.clock),
                Upstream::Pending(queue) if queue.len() < MAX_PENDING => {
                    queue.push(datagram.into());
                    session.state.touch(&self.clock);
                }
                Upstream::Pending(_) => session.state.to_server.dropped(),
            }
            return;
        }
        self.open_session(client, datagram);
    }

    fn open_session(&mut self, client: SocketAddr, datagram: &[u8]) {
        let Some(service) = (self.routes)() else {
            tracing::debug!(entrypoint = &*self.entrypoint, %client, "no UDP router: datagram dropped");
            return;
        };
        let Some((_, server)) = service.pick() else {
            return;
        };
        let id = self.next_id;
        self.next_id += 1;
        let state = Arc::new(SessionState::default());
        state.touch(&self.clock);
        let reply = ReplyPath {
            entrypoint: self.socket.clone(),
            client,
            id,
            ended: self.ended.clone(),
        };
        let name: Arc<str> = Arc::from(&*server.address);
        let upstream = match server.literal {
            Some(address) => match connect_socket(address) {
                Ok(upstream) => {
                    state.forward(&upstream, datagram, &self.clock);
                    let task = relay(upstream.clone(), reply, state.clone(), self.clock, name);
                    tokio::spawn(task);
                    Upstream::Ready(upstream)
                }
                Err(e) => {
                    tracing::warn!(entrypoint = &*self.entrypoint, server = %address, error = %e, "cannot open a UDP session to the server");
                    return;
                }
            },
            None => {
                let ready = self.ready.clone();
                let (state, clock) = (state.clone(), self.clock);
                tokio::spawn(async move {
                    match resolve_and_connect(&name).await {
                        Ok(upstream) => {
                            let resolved = Resolved {
                                client,
                                id,
                                socket: upstream.clone(),
                            };
                            if ready.send(resolved).is_ok() {
                                relay(upstream, reply, state, clock, name).await;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(server = &*name, error = %e, "cannot resolve the UDP server");
                            state.close();
                            let _ = reply.ended.send(Ended { client, id });
                        }
                    }
                });
                Upstream::Pending(vec![datagram.into()])
            }
        };
        self.open.insert(
            client,
            Session {
                id,
                state,
                upstream,
            },
        );
    }

    /// A session's server name resolved: the datagrams kept meanwhile go to it.
    fn resolved(&mut self, resolved: Resolved) {
        let Some(session) = self.open.get_mut(&resolved.client) else {
            return;
        };
        if session.id != resolved.id {
            return;
        }
        let pending = std::mem::replace(
            &mut session.upstream,
            Upstream::Ready(resolved.socket.clone()),
        );
        if let Upstream::Pending(queue) = pending {
            for datagram in &queue {
                session
                    .state
                    .forward(&resolved.socket, datagram, &self.clock);
            }
        }
    }

    /// A session ended: forgotten, unless the client already has a newer one.
    fn forget(&mut self, ended: &Ended) {
        if self
            .open
            .get(&ended.client)
            .is_some_and(|s| s.id == ended.id)
        {
            self.open.remove(&ended.client);
        }
    }
}
