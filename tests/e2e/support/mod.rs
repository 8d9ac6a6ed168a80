//! Shared support for the end-to-end suites: real upstream servers, a real gateway process,
//! a real HTTP client, all over loopback sockets.

pub mod auth_server;
pub mod canned_upstream;
pub mod client;
pub mod config;
pub mod control_plane;
pub mod flaky_upstream;
pub mod gateway;
pub mod h1_raw;
pub mod h2_raw;
pub mod lang_build;
pub mod otlp_receiver;
pub mod pebble;
pub mod proc_memory;
pub mod tcp_backend;
pub mod tls;
pub mod udp_backend;
pub mod upstream;

pub use auth_server::AuthServer;
pub use client::{Client, listed_plugin};
pub use config::Config;
pub use control_plane::ControlPlane;
pub use flaky_upstream::FlakyUpstream;
pub use gateway::{
    Gateway, assert_refused_at_key, check_config, fixture_wasm, free_port, located_errors,
    run_refused,
};
pub use otlp_receiver::{OtlpReceiver, ReceivedSpan};
pub use upstream::{Upstream, UpstreamBehavior};
