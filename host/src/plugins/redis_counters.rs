//! The Redis backend of the `counters` capability's token buckets (Traefik's `rateLimit.redis`):
//! one bucket per key shared by every gateway process pointed at the same Redis.
//!
//! When it runs: never inside a hook call. A hook's `take` only records the take on the request
//! head (`remote_take`); the proxy awaits [`RedisCounters::take`] on the request's own task
//! after the hook returned (see ARCHITECTURE, "The plugin runtime"), so a gateway thread never
//! waits for Redis.
//!
//! The bucket update is one Lua script run atomically by Redis (`EVALSHA`; loaded with `SCRIPT
//! LOAD` on first use and again after a `NOSCRIPT`, e.g. when Redis restarted). It keeps
//! Traefik's layout, a hash `rate:<middleware>:<source>` with fields `last` (microseconds) and
//! `tokens`, so a wasmgate and a Traefik sharing one Redis share the bucket; the time is Redis'
//! own clock (`TIME`), so gateways with skewed clocks still agree. A take allowed to wait
//! (Traefik's `rateLimit` `maxDelay`) reserves a token up to that wait ahead in the same script,
//! so the reservation is cluster-wide; the request then sleeps on its own task (`proxy::handler`).
//! Keys expire once they would be full again (`ceil(burst / rate + maxDelay) + 1` seconds idle).
//!
//! Connections: the middleware's `redis_pool::RedisPool` (pooled multiplexed connections,
//! redialled with a pause, each dial bounded by `dialTimeout`); a whole take is bounded by
//! `readTimeout + writeTimeout`. Cost per take: one round trip to Redis, no lock.

use std::sync::Arc;

use super::counters::Reservation;

/// Traefik's key prefix (`redisPrefix`).
pub const KEY_PREFIX: &str = "rate:";

/// The bucket update: `KEYS[1]` the bucket; `ARGV` rate (tokens per microsecond), burst, cost,
/// TTL (seconds), the longest wait (microseconds) a caller accepts. Returns `{wait_us, tokens,
/// taken}`: `taken` 1 when the cost was taken, to act on after `wait_us` (0: at once; above 0:
/// reserved ahead of the refill, the bucket going below zero so later takes queue behind it,
/// as Traefik's script and Go's `rate.Limiter::Reserve` do); 0 when nothing was taken, the
/// cost being `wait_us` away, more than the caller waits.
const SCRIPT_TEXT: &str = r"
local key = KEYS[1]
local rate, burst, cost, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local max_wait = tonumber(ARGV[5])
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000000 + tonumber(now[2])
local state = redis.call('HMGET', key, 'last', 'tokens')
local last, tokens = tonumber(state[1]), tonumber(state[2])
if last == nil or tokens == nil then
  last, tokens = t, burst
end
if t < last then last = t end
tokens = math.min(burst, tokens + (t - last) * rate)
local wait = 0
if tokens < cost then
  wait = math.ceil((cost - tokens) / rate)
end
local taken = 0
if wait <= max_wait then
  tokens = tokens - cost
  taken = 1
end
redis.call('HSET', key, 'last', t, 'tokens', tostring(tokens))
redis.call('EXPIRE', key, ttl)
return {wait, tostring(tokens), taken}
";

/// [`SCRIPT_TEXT`], loaded once per Redis.
static SCRIPT: LuaScript = LuaScript::new(SCRIPT_TEXT);

use super::redis_pool::{LuaScript, RedisPool};
pub use super::redis_pool::{RedisSettings, RedisTls, client};

/// Why a take got no answer from Redis.
pub type RedisTakeError = super::redis_pool::RedisFailure;

/// One middleware's Redis buckets. Built at config time; connects on first use.
pub struct RedisCounters {
    /// `rate:<middleware>@<provider>:`.
    prefix: Box<str>,
    pool: RedisPool,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounters")
            .field("prefix", &self.prefix)
            .field("endpoints", &self.pool.settings().endpoints)
            .finish_non_exhaustive()
    }
}

/// Two backends are equal when they are the same backend.
impl PartialEq for RedisCounters {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl RedisCounters {
    /// The buckets of middleware `middleware` (its Traefik name, `name@provider`), over TLS
    /// with `tls` (the caller read `settings.tls`' files). Config time; an endpoint that is not
    /// `host[:port]` is an error.
    pub fn new(
        middleware: &str,
        settings: &RedisSettings,
        tls: Option<RedisTls>,
    ) -> Result<Arc<Self>, String> {
        Ok(Arc::new(RedisCounters {
            prefix: format!("{KEY_PREFIX}{middleware}:").into(),
            pool: RedisPool::new(settings, tls)?,
        }))
    }

    /// Whether a failed take fails the request (`denyOnError`).
    pub fn deny_on_error(&self) -> bool {
        self.pool.settings().deny_on_error
    }

    /// Takes `cost` tokens from the shared bucket `key` (rate tokens a second, at most `burst`,
    /// starts full) if it holds them or will within `max_wait_ns` (reserved ahead), as
    /// [`super::counters::CounterScope::reserve`] does locally. The caller does the waiting.
    pub async fn take(
        &self,
        key: &str,
        cost: u32,
        rate: f64,
        burst: u32,
        max_wait_ns: u64,
    ) -> Result<Reservation, RedisTakeError> {
        if rate.is_nan() || rate <= 0.0 {
            return Ok(Reservation::Now);
        }
        if cost > burst {
            return Ok(Reservation::Denied(u64::MAX));
        }
        let script = self.run_script(key, cost, rate, burst, max_wait_ns / 1000);
        self.pool.bounded(script).await
    }

    async fn run_script(
        &self,
        key: &str,
        cost: u32,
        rate: f64,
        burst: u32,
        max_wait_us: u64,
    ) -> Result<Reservation, RedisTakeError> {
        let (slot, mut conn) = self.pool.pick().await?;
        // Kept idle for as long as it refills (from below zero after a reservation): expiring
        // earlier would hand out a full bucket.
        let ttl = (f64::from(burst) / rate + max_wait_us as f64 / 1e6)
            .ceil()
            .min(1e9) as u64
            + 1;
        let full_key = format!("{}{key}", self.prefix);
        let reply: redis::RedisResult<(u64, String, u8)> = SCRIPT
            .run(&mut conn, |cmd| {
                cmd.arg(1)
                    .arg(&full_key)
                    .arg(rate / 1e6)
                    .arg(burst)
                    .arg(cost)
                    .arg(ttl)
                    .arg(max_wait_us);
            })
            .await;
        match reply {
            Ok((0, _, 1)) => Ok(Reservation::Now),
            Ok((wait_us, _, 1)) => Ok(Reservation::After(wait_us.saturating_mul(1000))),
            Ok((wait_us, _, _)) => Ok(Reservation::Denied(wait_us.saturating_mul(1000))),
            Err(e) => Err(self.pool.failed(slot, &e)),
        }
    }
}
