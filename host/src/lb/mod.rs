//! Services: which server (or child service) gets a request, and server health.
//!
//! - `service`: a service as the proxy uses it (`loadBalancer`, `weighted`, `mirroring`,
//!   `failover`), the tree a request descends;
//! - `load_balancer`: a `loadBalancer` service putting the pieces below together;
//! - `swrr`: smooth weighted round robin, precomputed, one atomic per pick;
//! - `sticky`: cookie pinning;
//! - `health`: per-server state read on every pick, active probes, passive ejection;
//! - `retry`: which requests may be retried on another server, and the backoff (a service's
//!   `retry`, or a router's `retry` middleware handed down by the proxy);
//! - `mirroring`: the mirroring service, its percentages and request-body buffering;
//! - `error`: what a service can fail with.

pub mod error;
pub mod health;
pub mod load_balancer;
pub mod mirroring;
pub mod retry;
pub mod server_path;
pub mod service;
pub mod sticky;
pub mod swrr;

pub use error::ServiceError;
pub use load_balancer::{LoadBalancer, LoadBalancerError, Server};
pub use service::{Service, ServiceKind};
pub use swrr::SmoothWeighted;
