//! Load balancing: which server (or child service) gets a request, and server health.
//!
//! - `swrr`: smooth weighted round robin, precomputed, one atomic per pick;
//! - `sticky`: cookie pinning;
//! - `health`: per-server state read on every pick, active probes, passive ejection;
//! - `retry`: which requests may be retried on another server, and the backoff;
//! - `mirror`: mirroring percentages and request-body buffering for mirrors;
//! - `load_balancer`: a `loadBalancer` service putting the above together.

pub mod health;
pub mod load_balancer;
pub mod mirror;
pub mod retry;
pub mod sticky;
pub mod swrr;

pub use load_balancer::{LoadBalancer, LoadBalancerError, Server};
pub use swrr::SmoothWeighted;
