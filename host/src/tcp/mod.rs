//! TCP routers and services (Traefik's `tcp:`): rules over the connection (`HostSNI`,
//! `HostSNIRegexp`, `ClientIP`, `ALPN`), the ClientHello read before deciding, TLS passthrough
//! and termination, connection-level middlewares (plugins, `admission`), PROXY protocol to
//! servers, and the byte forwarding itself.
//!
//! When things run:
//! - at config time (`app::build`): [`TcpRule::parse`], the [`TcpEntrypoint`] route tables
//!   and the [`TcpService`] trees;
//! - per connection on a `transparent` entrypoint: [`original_dst`] (where iptables
//!   redirected it from), [`is_own`] (a loop of the gateway's own dial), and protocol
//!   detection in [`TcpEntrypoint::route`] (`detect`);
//! - per connection on an entrypoint with `proxyProtocol`: [`read_proxy_header`] (the client
//!   behind an L4 balancer, for every router, plugin and `X-Forwarded-For`);
//! - per connection, only on an entrypoint that has TCP routers (the others keep the HTTP
//!   path as it was): [`TcpEntrypoint::route`] decides where the connection goes, and
//!   [`serve`] forwards it when a TCP router took it.

mod activity;
mod admission;
mod client_hello;
mod detect;
mod dispatch;
mod forward;
mod original_dst;
mod own_dials;
mod prefixed;
mod proxy_header;
pub mod proxy_protocol;
mod rule;
mod serve;
mod service;
mod table;
mod tproxy;

pub use activity::{Activity, ActivityIo};
pub use admission::{ConnectionLeases, admit};
pub use client_hello::{FirstBytes, HelloInfo, read_first_bytes};
pub use dispatch::{Arrival, TcpEntrypoint, TcpTarget, TcpTls, Verdict};
pub use forward::{Forwarded, forward};
pub use original_dst::original_dst;
pub use own_dials::is_own;
pub use prefixed::Prefixed;
pub use proxy_header::{ProxyHeaderError, read_proxy_header};
pub use rule::{ConnFacts, TcpRule};
pub use serve::{TcpConnection, serve};
pub use service::{TcpConnectSettings, TcpLoadBalancer, TcpPick, TcpServer, TcpService};
pub use table::{TcpRoute, TcpRoutes};
pub use tproxy::{set_ip_transparent, tproxy_destination};
