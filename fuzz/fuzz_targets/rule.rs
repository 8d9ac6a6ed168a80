//! Fuzz target `rule`: see `fuzz/checks/rule.rs` for what it checks.
#![no_main]

#[path = "../checks/rule.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_rule(data));
