//! Per-middleware stores that survive a reload: the one live store of a middleware name while a
//! snapshot still holds it, else a new one. Used by `counters` (token buckets, in-flight counts)
//! and `kv`. Config time only: one short lock per configured middleware.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// The stores of one kind by middleware name, held weakly: a store lives as long as a snapshot
/// (a middleware) holds it.
pub type NamedScopes<T> = OnceLock<Mutex<HashMap<Box<str>, Weak<T>>>>;

/// The live store of `name` in `scopes`, or a new (default) one; forgets dead ones on the way.
pub fn live_scope<T: Default>(scopes: &NamedScopes<T>, name: &str) -> Arc<T> {
    let mut scopes = scopes
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(scope) = scopes.get(name).and_then(Weak::upgrade) {
        return scope;
    }
    scopes.retain(|_, weak| weak.strong_count() > 0);
    let scope = Arc::new(T::default());
    scopes.insert(Box::from(name), Arc::downgrade(&scope));
    scope
}
