//! wasmgate: a Traefik-style gateway whose middlewares are sandboxed WebAssembly components.
//!
//! Layout follows the runtime concerns (see DESIGN.md): `config` (static + dynamic model,
//! validation), `router` (Traefik v3 rules), `plugins` (wasmtime engine, registry, instance pools),
//! `lb` (balancers), `proxy` (HTTP server and forwarding).

pub mod config;
pub mod router;
pub mod lb;
pub mod plugins;
pub mod app;
pub mod demo_upstream;
pub mod proxy;
pub mod runtime;
