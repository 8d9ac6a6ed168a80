//! Random bytes for keys and nonces: the host's `wasi:random/random` in the component (for
//! `wasm32-unknown-unknown`, the one WASI interface the SDK imports, and only into plugins that
//! call [`fill`]; for `wasm32-wasip2` through `getrandom`, which imports the same), the operating
//! system's generator natively.
//!
//! Use this rather than the `getrandom` crate: the bundled plugins are built for
//! `wasm32-unknown-unknown`, where `getrandom` has no source of randomness.

use std::fmt;

/// The platform had no random bytes to give (not in a bundled plugin: there the host always
/// answers, or traps the instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomError(String);

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RandomError {}

/// Fill `dest` with cryptographically secure random bytes.
///
/// Cost: one host call (the host copies `dest.len()` bytes into the instance; it refuses more
/// than 64 KiB in one call by trapping). Natively: one `getrandom` call.
pub fn fill(dest: &mut [u8]) -> Result<(), RandomError> {
    imp::fill(dest)
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod imp {
    use super::RandomError;

    pub(super) fn fill(dest: &mut [u8]) -> Result<(), RandomError> {
        let bytes = crate::guest::random::get_random_bytes(dest.len() as u64);
        if bytes.len() != dest.len() {
            return Err(RandomError(format!(
                "the host gave {} random bytes for {} asked",
                bytes.len(),
                dest.len()
            )));
        }
        dest.copy_from_slice(&bytes);
        Ok(())
    }
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod imp {
    use super::RandomError;

    pub(super) fn fill(dest: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(dest).map_err(|e| RandomError(e.to_string()))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #[test]
    fn two_fills_give_different_bytes() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        super::fill(&mut a).unwrap();
        super::fill(&mut b).unwrap();
        assert_ne!(a, b);
    }
}
