//! The Redis backend of the `kv` capability: one middleware's keys kept in a Redis shared by
//! every gateway process pointed at it, under `kv:<middleware>:<key>`.
//!
//! When it runs: never inside a hook call. A hook's `kv` calls are answered from the request's
//! journal (`kv_journal`, "record and re-answer"); the operation a hook left pending is a
//! [`KvCall`], awaited on the request's own task (or `on-complete`'s task) after the hook
//! returned, and the hook is called again with the answer.
//!
//! Each operation is one command or one atomic Lua script: `increment` a script (`EXISTS`,
//! `INCRBY`, and `PEXPIRE` only when it created the key, so a counter with a TTL is a fixed
//! window as in process), `get` `GET`, `get-many` `MGET`, `set` `SET ... PX`, `compare-and-swap`
//! a script (`GET`, compare, `SET ... PX`), `delete` `DEL`. Connections are the middleware's
//! `redis_pool::RedisPool`; a whole operation is bounded by `readTimeout + writeTimeout`.
//! A failure (unreachable, timeout, an error reply) is answered to the plugin as
//! `kv-error::backend(reason)`: the plugin decides what a missing answer means (there is no
//! `denyOnError`). Unlike the in-process store there is no `full`: Redis' own memory policy
//! applies. Cost: one round trip per operation, no lock.

use std::sync::Arc;

use super::kv::KvError;
use super::kv_journal::{KvAnswer, KvOp, KvResult};
use super::redis_pool::{LuaScript, RedisFailure, RedisPool, RedisSettings, RedisTls};

/// `KEYS[1]` the counter; `ARGV` delta, TTL (ms, 0: none). The TTL is set only on the key the
/// call created.
static INCREMENT: LuaScript = LuaScript::new(
    r"
local created = redis.call('EXISTS', KEYS[1]) == 0
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if created and tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return v
",
);

/// `KEYS[1]` the key; `ARGV` 1 when a value is expected (else the key must be absent), the
/// expected value, the new value, TTL (ms, 0: none). Returns 1 when stored.
static COMPARE_AND_SWAP: LuaScript = LuaScript::new(
    r"
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
if tonumber(ARGV[4]) > 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1
",
);

/// One middleware's `kv` keys in Redis. Built at config time; connects on first use.
pub struct RedisKv {
    /// `kv:<middleware>:`.
    prefix: Box<str>,
    pool: RedisPool,
}

impl std::fmt::Debug for RedisKv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKv")
            .field("prefix", &self.prefix)
            .field("endpoints", &self.pool.settings().endpoints)
            .finish_non_exhaustive()
    }
}

/// Two backends are equal when they are the same backend.
impl PartialEq for RedisKv {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl RedisKv {
    /// The keys of middleware `middleware` in the Redis of `settings` (TLS files read by the
    /// caller). Config time.
    pub fn new(
        middleware: &str,
        settings: &RedisSettings,
        tls: Option<RedisTls>,
    ) -> Result<Arc<Self>, String> {
        Ok(Arc::new(RedisKv {
            prefix: format!("kv:{middleware}:").into(),
            pool: RedisPool::new(settings, tls)?,
        }))
    }

    /// Runs `op` against Redis; a failure is the `backend` error the plugin gets.
    pub async fn run(&self, op: &KvOp) -> KvResult {
        match self.pool.bounded(self.send(op)).await {
            Ok(answer) => answer,
            Err(failure) => Err(KvError::Backend(failure.to_string().into())),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn send(&self, op: &KvOp) -> Result<KvResult, RedisFailure> {
        let (slot, mut conn) = self.pool.pick().await?;
        let reply: redis::RedisResult<KvAnswer> = match op {
            KvOp::Increment { key, delta, ttl_ms } => INCREMENT
                .run(&mut conn, |cmd| {
                    cmd.arg(1).arg(self.key(key)).arg(*delta).arg(*ttl_ms);
                })
                .await
                .map(KvAnswer::Int),
            KvOp::Get { key } => redis::cmd("GET")
                .arg(self.key(key))
                .query_async(&mut conn)
                .await
                .map(KvAnswer::Value),
            KvOp::GetMany { keys } if keys.is_empty() => Ok(KvAnswer::Values(Vec::new())),
            KvOp::GetMany { keys } => {
                let mut cmd = redis::cmd("MGET");
                for key in keys {
                    cmd.arg(self.key(key));
                }
                cmd.query_async(&mut conn).await.map(KvAnswer::Values)
            }
            KvOp::Set { key, value, ttl_ms } => {
                let mut cmd = redis::cmd("SET");
                cmd.arg(self.key(key)).arg(value.as_slice());
                if *ttl_ms > 0 {
                    cmd.arg("PX").arg(*ttl_ms);
                }
                cmd.query_async::<()>(&mut conn)
                    .await
                    .map(|()| KvAnswer::Unit)
            }
            KvOp::CompareAndSwap {
                key,
                expected,
                new,
                ttl_ms,
            } => COMPARE_AND_SWAP
                .run(&mut conn, |cmd| {
                    cmd.arg(1)
                        .arg(self.key(key))
                        .arg(u8::from(expected.is_some()))
                        .arg(expected.as_deref().unwrap_or_default())
                        .arg(new.as_slice())
                        .arg(*ttl_ms);
                })
                .await
                .map(|stored: i64| KvAnswer::Bool(stored == 1)),
            KvOp::Delete { key } => redis::cmd("DEL")
                .arg(self.key(key))
                .query_async(&mut conn)
                .await
                .map(|n: i64| KvAnswer::Bool(n > 0)),
        };
        match reply {
            Ok(answer) => Ok(Ok(answer)),
            // `INCRBY` of a value that is not an integer, or past the i64 range.
            Err(e) if is_not_an_integer(&e) => Ok(Err(KvError::NotAnInteger)),
            Err(e) => Err(self.pool.failed(slot, &e)),
        }
    }
}

fn is_not_an_integer(e: &redis::RedisError) -> bool {
    let text = e.to_string();
    text.contains("not an integer") || text.contains("would overflow")
}

/// The operation a hook left pending, to await after it returned.
pub struct KvCall {
    pub(crate) redis: Arc<RedisKv>,
    pub(crate) op: KvOp,
}

/// A [`KvCall`]'s operation and Redis' answer.
pub struct KvAnswered {
    pub(crate) op: KvOp,
    pub(crate) result: KvResult,
}

impl KvCall {
    /// Sends the operation (on the caller's task; bounded by the Redis timeouts).
    pub async fn run(self) -> KvAnswered {
        let result = self.redis.run(&self.op).await;
        KvAnswered {
            op: self.op,
            result,
        }
    }
}
