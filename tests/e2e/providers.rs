//! Control-plane providers against real sources: `providers.http` against a real HTTP
//! endpoint, `providers.redis` and `providers.etcd` against `redis-server` and `etcd` started
//! by the tests on loopback ports (Debian packages, installed by scripts/setup.sh); plugins
//! pinned by hash fetched from a real HTTP plugin store and from those KV stores.

mod http_endpoint;
mod kv_fleet;
mod pinned_plugins;
mod plugin_store;
pub(crate) mod stores;
