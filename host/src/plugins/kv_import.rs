//! The host side of the `kv` import: a granted middleware's calls go to its
//! [`KvScope`](super::kv::KvScope).
//!
//! A component that imports `kv` loads only for a middleware whose config grants it
//! (`app::build` refuses it otherwise), so a call without a store is a host bug or a bypass: it
//! traps, failing that hook call only. Any hook may call it; nothing here needs a request.

use super::bindings::wasmgate::plugin::kv::{self, KvError as WitKvError};
use super::host_state::HostState;
use super::kv::{KvError, KvScope};

impl HostState {
    fn granted_kv(&self) -> wasmtime::Result<&KvScope> {
        self.kv.as_deref().ok_or_else(|| {
            wasmtime::format_err!(
                "middleware {:?} called kv without the kv grant",
                &*self.identity.middleware
            )
        })
    }
}

fn to_wit<T>(result: Result<T, KvError>) -> Result<T, WitKvError> {
    result.map_err(|e| match e {
        KvError::InvalidKey => WitKvError::InvalidKey,
        KvError::ValueTooLarge => WitKvError::ValueTooLarge,
        KvError::Full => WitKvError::Full,
        KvError::NotAnInteger => WitKvError::NotAnInteger,
    })
}

impl kv::Host for HostState {
    fn increment(
        &mut self,
        key: String,
        delta: i64,
        ttl_ms: u64,
    ) -> wasmtime::Result<Result<i64, WitKvError>> {
        Ok(to_wit(self.granted_kv()?.increment(&key, delta, ttl_ms)))
    }

    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, WitKvError>> {
        Ok(to_wit(self.granted_kv()?.get(&key)))
    }

    fn get_many(
        &mut self,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<Option<Vec<u8>>>, WitKvError>> {
        Ok(to_wit(self.granted_kv()?.get_many(&keys)))
    }

    fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_ms: u64,
    ) -> wasmtime::Result<Result<(), WitKvError>> {
        Ok(to_wit(self.granted_kv()?.set(&key, &value, ttl_ms)))
    }

    fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
        ttl_ms: u64,
    ) -> wasmtime::Result<Result<bool, WitKvError>> {
        let swapped = self
            .granted_kv()?
            .compare_and_swap(&key, expected.as_deref(), &new, ttl_ms);
        Ok(to_wit(swapped))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<Result<bool, WitKvError>> {
        Ok(to_wit(self.granted_kv()?.delete(&key)))
    }
}
