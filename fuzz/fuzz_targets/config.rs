//! Fuzz target `config`: see `fuzz/checks/config.rs` for what it checks.
#![no_main]

#[path = "../checks/config.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_config(data));
