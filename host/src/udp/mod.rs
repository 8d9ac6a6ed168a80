//! UDP routers and services (Traefik's `udp:`): a UDP entrypoint's listener, one session per
//! client address with its own connected socket to the server the service picked, replies
//! relayed back, sessions closed after the entrypoint's idle `udp.timeout`.
//!
//! When things run:
//! - at config time (`app::build_udp`): the [`UdpService`] trees, one per UDP entrypoint;
//! - at start-up: [`UdpEntrypoint::bind`], then [`UdpEntrypoint::serve`] as one task;
//! - per new session (first datagram of a client address, or the first after its session
//!   expired): the entrypoint's service from the live snapshot, a pick, a socket;
//! - per datagram: a forward by the listener task or a reply by the session's task.

mod listener;
mod service;
mod session;

pub use listener::{UdpEntrypoint, UdpRouteSource};
pub use service::{UdpServer, UdpService};
