//! The properties every fuzz target checks, shared with the corpus regression test
//! (`tests/e2e/fuzz_corpus.rs`) so that the logic exists once: each target includes its one file
//! by path, the regression test includes this module.
//!
//! Every `check_*` takes the raw fuzz input, returns when the gateway behaved, and panics with
//! what broke otherwise: libFuzzer records the panic as a crash (and the input as an artifact),
//! the regression test as a failure naming the corpus file.

pub mod config;
pub mod path;
pub mod plugin_output;
pub mod rule;
