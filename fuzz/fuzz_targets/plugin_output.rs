//! Fuzz target `plugin_output`: see `fuzz/checks/plugin_output.rs` for what it checks.
#![no_main]

#[path = "../checks/plugin_output.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_plugin_output(data));
