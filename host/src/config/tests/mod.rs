//! Load tests over the YAML fixtures in `src/config/testdata/`. Paths are relative to the crate
//! root (cargo runs unit tests there), so the expected error lines read as a user sees them.

mod errors;
mod load_ok;
mod providers;
mod tcp;
mod traefik_compat;

use std::path::{Path, PathBuf};

use super::{LoadedConfig, load};

/// The path of a fixture, as a user would pass it.
fn fixture(name: &str) -> PathBuf {
    Path::new("src/config/testdata").join(name)
}

/// Loads a fixture that must be valid.
fn loaded(name: &str) -> LoadedConfig {
    match load(&fixture(name)) {
        Ok(config) => config,
        Err(errors) => panic!("{name} should load, got:\n{errors}"),
    }
}

/// Loads a fixture that must fail, returning each error as the user sees it.
fn errors(name: &str) -> Vec<String> {
    match load(&fixture(name)) {
        Ok(_) => panic!("{name} should not load"),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}
