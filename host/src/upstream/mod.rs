//! The upstream side: the body type shared by both sides of the proxy, the pooled HTTP
//! clients to upstream servers (`transport`), the per-server connection cap
//! (`per_host_limit`, `maxConnsPerHost`) and the transport's errors.
//!
//! The lowest HTTP layer: it knows nothing of routers, plugins or services.

pub mod body;
pub mod error;
pub mod own_client;
pub mod per_host_limit;
pub mod tls;
pub mod transport;

pub use body::ProxyBody;
pub use error::UpstreamError;
pub use tls::UpstreamTls;
pub use transport::{TransportSettings, UpstreamProtocol, UpstreamTransport};
