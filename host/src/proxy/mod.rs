//! The HTTP proxy: listeners, the per-request pipeline, forwarding, header hygiene.

pub mod body;
pub mod body_peek;
pub mod client_body;
pub mod conn_limit;
pub mod deadline;
pub mod errors;
pub mod forward;
pub mod framing;
pub mod handler;
pub mod headers;
pub mod idle;
pub mod path;
pub mod reset_guard;
pub mod server;
pub mod upgrade;

pub use errors::GatewayError;
pub use server::{Entrypoint, SharedRuntime};
