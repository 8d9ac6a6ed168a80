//! The upstream side: the body type shared by both sides of the proxy, the pooled HTTP
//! clients to upstream servers (`transport`: one `pool` per server over hyper's connection
//! API, `idle` connections, `connect` for new ones; `legacy`: hyper-util's client behind a
//! switch, with its per-server connection cap `per_host_limit`) the transport's errors, and which per-core `worker` a thread is.
//!
//! The lowest HTTP layer: it knows nothing of routers, plugins or services.

pub mod body;
mod connect;
pub mod error;
mod idle;
mod legacy;
pub mod own_client;
pub mod per_host_limit;
mod permitted;
pub mod pool;
#[cfg(test)]
mod pool_tests;
pub mod replay;
pub mod settings;
pub mod tls;
pub mod transport;
pub mod worker;

pub use body::ProxyBody;
pub use error::UpstreamError;
pub use tls::UpstreamTls;
pub use transport::{TransportSettings, UpstreamProtocol, UpstreamTarget, UpstreamTransport};
