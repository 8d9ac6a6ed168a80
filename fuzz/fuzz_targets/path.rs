//! Fuzz target `path`: see `fuzz/checks/path.rs` for what it checks.
#![no_main]

#[path = "../checks/path.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_path(data));
