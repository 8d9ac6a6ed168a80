//! End-to-end suites: a real `wasmgate` process, real upstream servers and real clients over
//! loopback sockets; plugins are real components built from the workspace (host/build.rs).

mod support;

mod access_middlewares;
mod accounting;
mod api;
mod broken_upstreams;
mod config_errors;
mod content_type;
mod errors_pages;
mod fault_containment;
mod forward_auth;
mod fuzz_corpus;
mod h2_floods;
mod headers_plugin;
mod hop_by_hop;
mod hot_reload;
mod http_wasm;
mod https_upstreams;
mod isolation_modes;
mod languages;
mod load_balancing;
mod minimal_wasi;
mod observability;
mod path_bypass;
mod providers;
mod proxy_protocol;
mod rate_limit;
mod request_smuggling;
mod rewrite_middlewares;
mod route_bypass;
mod routing;
mod slow_clients;
mod streaming;
mod tcp;
mod timeouts;
mod tls;
mod traefik_config;
mod upstream_failures;
mod websocket_grpc;
mod worker_threads;
