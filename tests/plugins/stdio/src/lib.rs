//! Test fixture `stdio`: what a language runtime does with WASI besides the contract, driven by
//! request headers (without any of them it continues and does nothing else):
//! - `x-print`: one line to stdout and one to stderr naming the path (Rust's std: WASI
//!   `wasi:cli/stdout`, `wasi:cli/stderr`, `wasi:io/streams`), then reads the WASI monotonic
//!   clock twice (`std::time::Instant`) and sends `x-clock-ok: true` upstream when it never went
//!   backwards;
//! - `x-flood: N`: N lines of 1 KiB to stdout (more than the host's output budget lets through);
//! - `x-open`: reads a file, which a plugin has no way to do: the `expect` panics (a trap).

use std::time::Instant;

use plugin_sdk::{Action, Middleware, Reply, Request};

pub struct Stdio;

impl Middleware for Stdio {
    fn from_config(_config: &str) -> Result<Self, String> {
        Ok(Stdio)
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        if req.header("x-print").is_some() {
            let start = Instant::now();
            println!("fixture-stdio says hello on stdout for {}", req.path());
            eprintln!("fixture-stdio says hello on stderr for {}", req.path());
            let later = Instant::now();
            let ok = later >= start;
            let _ = req.set_header("x-clock-ok", if ok { "true" } else { "false" });
        }
        if let Some(lines) = req.header("x-flood") {
            let lines: usize = String::from_utf8_lossy(&lines).parse().unwrap_or(0);
            let line = "x".repeat(1023);
            for _ in 0..lines.min(10_000) {
                println!("{line}");
            }
        }
        if req.header("x-open").is_some() {
            let text =
                std::fs::read_to_string("/etc/hostname").expect("fixture-stdio opens a file");
            // Never reached: a plugin has no preopened directory.
            return Action::Respond(Reply::new(200).body(text));
        }
        Action::Continue
    }
}

plugin_sdk::export_middleware!(Stdio);
