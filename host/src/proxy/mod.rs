//! Downstream: listeners, connection limits, idle and reset guards, the per-request pipeline
//! (framing, forwarding headers, body watchers; the path is read by `router::path`), the routing snapshot the pipeline reads,
//! the host codecs plugins choose (`compress_body`, `grpc_web`), the retry of held bodies,
//! and the one map from errors to statuses (`error`).

pub mod body_buffer;
pub mod body_peek;
mod chain_waits;
pub mod client_body;
pub mod completion_body;
pub mod compress_body;
mod connection;
pub mod connection_limits;
pub mod deadline;
pub mod error;
pub mod framing;
pub mod grpc_web;
mod guards;
mod h1_date;
mod h1_request_head;
mod h1_response;
mod h1_server;
mod h1_stream;
pub mod handler;
mod head_timer;
pub mod headers;
pub mod request_body;
pub mod reset_guard;
pub mod server;
mod side_wake;
pub mod snapshot;
pub mod upgrade;

pub use connection_limits::ConnectionLimits;
pub use error::GatewayError;
pub use server::{Entrypoint, TrustedSenders};
pub use snapshot::{Backend, NativeMiddlewares, RouteTarget, SharedSnapshot, Snapshot};
