//! The host side of the `kv` import: a granted middleware's calls go to its
//! [`KvScope`](super::kv::KvScope), or, when its `kv` lives in Redis, to the journal of the
//! current hook call (`kv_journal`: answered from Redis' earlier answers, never waiting).
//!
//! A component that imports `kv` loads only for a middleware whose config grants it
//! (`app::build` refuses it otherwise), so a call without a store is a host bug or a bypass: it
//! traps, failing that hook call only. Any hook may call it; on Redis only `on-request`,
//! `on-response` and `on-complete` are lent a journal, and a call from another hook answers
//! `backend(...)`. Cost on the in-process store: one `Option` test per call.

use super::bindings::wasmgate::plugin::kv::{self, KvError as WitKvError};
use super::host_state::HostState;
use super::kv::{KvError, KvScope, check_key, check_value};
use super::kv_journal::{KvAnswer, KvOp};
use plugin_contract::MAX_KV_GET_MANY;

impl HostState {
    fn granted_kv(&self) -> wasmtime::Result<&KvScope> {
        self.kv.as_deref().ok_or_else(|| {
            wasmtime::format_err!(
                "middleware {:?} called kv without the kv grant",
                &*self.identity.middleware
            )
        })
    }

    /// A Redis-backed call: checked as the in-process store checks it, then answered by the
    /// journal lent for this hook call (see `kv_journal`).
    fn journaled(&mut self, op: KvOp) -> Result<KvAnswer, KvError> {
        match &op {
            KvOp::Increment { key, .. } | KvOp::Get { key } | KvOp::Delete { key } => {
                check_key(key)?
            }
            KvOp::GetMany { keys } => {
                if keys.len() > MAX_KV_GET_MANY {
                    return Err(KvError::InvalidKey);
                }
                keys.iter().try_for_each(|k| check_key(k))?;
            }
            KvOp::Set { key, value, .. } => {
                check_key(key)?;
                check_value(value)?;
            }
            KvOp::CompareAndSwap {
                key, expected, new, ..
            } => {
                check_key(key)?;
                check_value(new)?;
                if let Some(expected) = expected {
                    check_value(expected)?;
                }
            }
        }
        let lent = match self.heads.current_request_mut() {
            Ok(head) => head.kv_journal.as_deref_mut(),
            Err(_) => self.kv_journal.as_deref_mut(),
        };
        match lent {
            Some(journal) => journal.call(op),
            None => Err(KvError::Backend(
                "kv in Redis is answered in on-request, on-response and on-complete only".into(),
            )),
        }
    }
}

fn to_wit<T>(result: Result<T, KvError>) -> Result<T, WitKvError> {
    result.map_err(|e| match e {
        KvError::InvalidKey => WitKvError::InvalidKey,
        KvError::ValueTooLarge => WitKvError::ValueTooLarge,
        KvError::Full => WitKvError::Full,
        KvError::NotAnInteger => WitKvError::NotAnInteger,
        KvError::Backend(reason) => WitKvError::Backend(reason.into()),
    })
}

/// A journal's answer in the shape the call expects; another shape is a host bug, reported to
/// the plugin as a backend error.
fn shaped<T>(
    result: Result<KvAnswer, KvError>,
    pick: impl FnOnce(KvAnswer) -> Option<T>,
) -> Result<T, WitKvError> {
    to_wit(result.and_then(|a| pick(a).ok_or(KvError::Backend("answer of another shape".into()))))
}

impl kv::Host for HostState {
    fn increment(
        &mut self,
        key: String,
        delta: i64,
        ttl_ms: u64,
    ) -> wasmtime::Result<Result<i64, WitKvError>> {
        self.not_memoizable();
        if self.redis_kv {
            let answer = self.journaled(KvOp::Increment { key, delta, ttl_ms });
            return Ok(shaped(answer, |a| match a {
                KvAnswer::Int(n) => Some(n),
                _ => None,
            }));
        }
        Ok(to_wit(self.granted_kv()?.increment(&key, delta, ttl_ms)))
    }

    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, WitKvError>> {
        self.not_memoizable();
        if self.redis_kv {
            let answer = self.journaled(KvOp::Get { key });
            return Ok(shaped(answer, |a| match a {
                KvAnswer::Value(v) => Some(v),
                _ => None,
            }));
        }
        Ok(to_wit(self.granted_kv()?.get(&key)))
    }

    fn get_many(
        &mut self,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<Option<Vec<u8>>>, WitKvError>> {
        self.not_memoizable();
        if self.redis_kv {
            let answer = self.journaled(KvOp::GetMany { keys });
            return Ok(shaped(answer, |a| match a {
                KvAnswer::Values(v) => Some(v),
                _ => None,
            }));
        }
        Ok(to_wit(self.granted_kv()?.get_many(&keys)))
    }

    fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_ms: u64,
    ) -> wasmtime::Result<Result<(), WitKvError>> {
        self.not_memoizable();
        if self.redis_kv {
            let answer = self.journaled(KvOp::Set { key, value, ttl_ms });
            return Ok(shaped(answer, |a| match a {
                KvAnswer::Unit => Some(()),
                _ => None,
            }));
        }
        Ok(to_wit(self.granted_kv()?.set(&key, &value, ttl_ms)))
    }

    fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
        ttl_ms: u64,
    ) -> wasmtime::Result<Result<bool, WitKvError>> {
        self.not_memoizable();
        if self.redis_kv {
            let op = KvOp::CompareAndSwap {
                key,
                expected,
                new,
                ttl_ms,
            };
            return Ok(shaped(self.journaled(op), |a| match a {
                KvAnswer::Bool(b) => Some(b),
                _ => None,
            }));
        }
        let swapped = self
            .granted_kv()?
            .compare_and_swap(&key, expected.as_deref(), &new, ttl_ms);
        Ok(to_wit(swapped))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<Result<bool, WitKvError>> {
        self.not_memoizable();
        if self.redis_kv {
            let answer = self.journaled(KvOp::Delete { key });
            return Ok(shaped(answer, |a| match a {
                KvAnswer::Bool(b) => Some(b),
                _ => None,
            }));
        }
        Ok(to_wit(self.granted_kv()?.delete(&key)))
    }
}
