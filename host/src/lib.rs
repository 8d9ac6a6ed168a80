//! wasmgate: a Traefik-style gateway whose middlewares are sandboxed WebAssembly components.
//!
//! Layout follows the runtime concerns (see DESIGN.md): `config` (static + dynamic model,
//! validation), `router` (Traefik v3 rules), `plugins` (wasmtime engine, registry, instance pools),
//! `lb` (balancers), `proxy` (HTTP server and forwarding).

pub mod app;
pub mod config;
pub mod demo_upstream;
pub mod lb;
pub mod plugins;
pub mod proxy;
pub mod reload;
pub mod router;
pub mod runtime;
