//! The http-wasm host: Traefik's Wasm plugin format, run unchanged.
//!
//! A Traefik Wasm plugin is a *core module* (not a component) that imports the `http_handler`
//! functions of the http-wasm handler ABI (<https://http-wasm.io/http-handler-abi/>), exports
//! `memory`, `handle_request() -> i64` and `handle_response(req_ctx: i32, is_error: i32)`, and
//! reads its JSON config through `get_config`. This module runs such guests as middlewares with
//! the same engine, budgets, pooling and failure policy as components:
//!
//! - `module`: recognising a core module and compiling it (config time, cached by content hash
//!   in the registry like components);
//! - `state`: what one guest store carries (config, features, the heads of the current call);
//! - `abi`: the `http_handler` host functions, each checked like a component's edits
//!   (`plugins::head_edits`); a failed edit traps, as the ABI says a host does;
//! - `memory`: bounds-checked reads and writes of the guest's memory;
//! - `wasi_p1`: the preview-1 WASI subset such guests import (stdout/stderr to the log, clocks,
//!   random, empty args and environ; no filesystem);
//! - `guest`: the middleware: instance pool, lifecycle (`_initialize`/`_start`, features),
//!   `handle_request` / `handle_response` mapped onto the chain's hooks;
//! - `layout`: Traefik's plugin layout, `<name>/.traefik.yml` + the wasm file;
//! - `body`: the buffered bodies (`buffer_request`, `buffer_response`) the proxy hands over.

pub mod abi;
pub mod body;
pub mod guest;
pub mod layout;
pub mod memory;
pub mod module;
pub mod state;
pub mod wasi_p1;

pub use body::{BufferedBody, MAX_BUFFERED_BODY};
pub use guest::HttpWasmMiddleware;
pub use module::{HttpWasmModule, is_core_module};
