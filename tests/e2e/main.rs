//! End-to-end suites: a real `wasmgate` process, real upstream servers and real clients over
//! loopback sockets; plugins are real components built from the workspace (host/build.rs).

mod support;

mod access_middlewares;
mod broken_upstreams;
mod config_errors;
mod fault_containment;
mod fuzz_corpus;
mod headers_plugin;
mod hot_reload;
mod isolation_modes;
mod load_balancing;
mod path_bypass;
mod request_smuggling;
mod rewrite_middlewares;
mod routing;
mod slow_clients;
mod streaming;
mod upstream_failures;
mod websocket_grpc;
mod worker_threads;
