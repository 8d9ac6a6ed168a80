//! The upstream side: the body type shared by both sides of the proxy, the pooled HTTP
//! clients to upstream servers (`transport`: one `pool` per server, its `idle` connections;
//! the gateway's own HTTP/1.1 client for body-less requests to `http://` servers (`h1_conn`,
//! `h1_head`, `h1_body`), hyper's connection API for the rest (`connect` for new ones);
//! `response_body` is either's response body; `legacy`: hyper-util's client behind a
//! switch, with its per-server connection cap `per_host_limit`), the transport's errors, and
//! which per-core `worker` a thread is.
//!
//! The lowest HTTP layer: it knows nothing of routers, plugins or services.

pub mod body;
pub mod coarse_clock;
mod connect;
pub mod error;
mod h1_body;
mod h1_conn;
mod h1_head;
mod idle;
mod legacy;
pub mod own_client;
pub mod per_host_limit;
mod permitted;
pub mod pool;
#[cfg(test)]
mod pool_tests;
pub mod replay;
mod requeue;
pub mod response_body;
pub mod settings;
pub mod spares;
pub mod tls;
pub mod transport;
pub mod worker;

pub use body::ProxyBody;
pub use error::UpstreamError;
pub use response_body::UpstreamBody;
pub use tls::UpstreamTls;
pub use transport::{TransportSettings, UpstreamProtocol, UpstreamTarget, UpstreamTransport};
