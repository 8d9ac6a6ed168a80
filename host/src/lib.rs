//! wasmgate: a Traefik-style gateway whose middlewares are sandboxed WebAssembly components.
//!
//! The modules follow the data path, and each only uses the ones below it (see
//! ARCHITECTURE.md; the tests in `layering.rs` keep it so):
//!
//! - `app`: start-up, building a routing snapshot from a config, reload;
//! - `providers`: control-plane providers (HTTP, Redis, etcd) feeding reloads;
//! - `proxy`: listeners, connection limits, the per-request pipeline, the error -> status map;
//! - `router`: Traefik v3 rules and route tables;
//! - `plugins`: the wasmtime engine, plugin registry, instance pools, middleware chains;
//! - `lb`: services (load balancer, weighted, failover, mirroring), health, sticky, retry;
//! - `upstream`: the pooled transport to upstream servers and its errors;
//! - `config`: the Traefik static + dynamic model and its resolution;
//! - `yaml`: the line-keeping YAML reader the config is read with.

pub mod admin;
pub mod app;
pub mod config;
pub mod lb;
pub mod plugins;
pub mod providers;
pub mod proxy;
pub mod router;
pub mod tcp;
pub mod tls;
pub mod udp;
pub mod upstream;
pub mod yaml;

#[cfg(test)]
mod layering;
