//! The HTTP proxy: listeners, the per-request pipeline, forwarding, header hygiene.

pub mod body;
pub mod client_body;
pub mod conn_limit;
pub mod errors;
pub mod forward;
pub mod framing;
pub mod handler;
pub mod headers;
pub mod path;
pub mod server;
pub mod upgrade;

pub use errors::GatewayError;
pub use server::{Entrypoint, SharedRuntime};
