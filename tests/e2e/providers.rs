//! Control-plane providers against real sources: `providers.http` against a real HTTP
//! endpoint, `providers.redis` and `providers.etcd` against `redis-server` and `etcd` started
//! by the tests on loopback ports (Debian packages, installed by scripts/setup.sh).

mod http_endpoint;
mod kv_fleet;
pub(crate) mod stores;
