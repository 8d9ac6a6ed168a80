//! The plugin author's tools behind `wasmgate plugin ...`: `inspect` (what a file is, as the
//! gateway sees it), `conformance` (`plugin test`: the gateway's own checks over a battery of
//! requests, `battery`; `connection_check` for connection-level plugins) and `scaffold` (`plugin new`: a ready project per language, its files
//! embedded in the binary from `host/templates/`). Run from the command line only, never by a
//! serving gateway.

pub mod battery;
pub mod conformance;
mod connection_check;
pub mod declared_memory;
pub mod inspect;
pub mod scaffold;
