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
//! Connections: `poolSize` multiplexed connections (0: one), capped by `maxActiveConns`,
//! picked round robin; each pipelines any number of concurrent takes. A connection that fails
//! is dropped and redialled by the next take (one dial at a time per connection, the takes that
//! arrive meanwhile waiting for it; after a failed dial, takes fail at once for
//! [`REDIAL_PAUSE`]; each dial bounded by `dialTimeout`); a whole take is bounded by
//! `readTimeout + writeTimeout`. Cost per take: one round trip to Redis, no lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ErrorKind, IntoConnectionInfo, RedisConnectionInfo};

use super::counters::Reservation;

/// Traefik's key prefix (`redisPrefix`).
pub const KEY_PREFIX: &str = "rate:";

/// The least time between two dials of one connection while Redis is unreachable.
pub const REDIAL_PAUSE: Duration = Duration::from_millis(50);

/// The bucket update: `KEYS[1]` the bucket; `ARGV` rate (tokens per microsecond), burst, cost,
/// TTL (seconds), the longest wait (microseconds) a caller accepts. Returns `{wait_us, tokens,
/// taken}`: `taken` 1 when the cost was taken, to act on after `wait_us` (0: at once; above 0:
/// reserved ahead of the refill, the bucket going below zero so later takes queue behind it,
/// as Traefik's script and Go's `rate.Limiter::Reserve` do); 0 when nothing was taken, the
/// cost being `wait_us` away, more than the caller waits.
const SCRIPT: &str = r"
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

/// How a middleware reaches its Redis (Traefik's `rateLimit.redis`, checked by the config).
pub use crate::config::CountersRedisConfig as RedisSettings;

/// Why a take got no answer from Redis.
#[derive(Debug, thiserror::Error)]
pub enum RedisTakeError {
    #[error("redis {endpoints}: {reason}")]
    Redis { endpoints: String, reason: String },
    #[error("redis {endpoints}: no answer within {timeout:?}")]
    Timeout {
        endpoints: String,
        timeout: Duration,
    },
}

/// One middleware's Redis buckets. Built at config time; connects on first use.
pub struct RedisCounters {
    /// `rate:<middleware>@<provider>:`.
    prefix: Box<str>,
    settings: RedisSettings,
    clients: Vec<redis::Client>,
    slots: Box<[Slot]>,
    next: AtomicUsize,
    /// The script's SHA1, once Redis told it (`SCRIPT LOAD`).
    sha: ArcSwapOption<String>,
    origin: Instant,
}

struct Slot {
    conn: ArcSwapOption<MultiplexedConnection>,
    /// Held while dialling; takes finding it held wait for that dial.
    dialling: tokio::sync::Mutex<()>,
    /// When (ms since `origin`) this slot may dial again.
    redial_at: AtomicU64,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounters")
            .field("prefix", &self.prefix)
            .field("endpoints", &self.settings.endpoints)
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
        let settings = settings.clone();
        let clients = settings
            .endpoints
            .iter()
            .map(|endpoint| {
                client(
                    endpoint,
                    settings.db,
                    settings.username.as_deref(),
                    settings.password.as_deref(),
                    tls.clone(),
                )
                .map_err(|e| format!("endpoint {endpoint:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let slots = (0..settings.connections.max(1))
            .map(|_| Slot {
                conn: ArcSwapOption::empty(),
                dialling: tokio::sync::Mutex::new(()),
                redial_at: AtomicU64::new(0),
            })
            .collect();
        Ok(Arc::new(RedisCounters {
            prefix: format!("{KEY_PREFIX}{middleware}:").into(),
            settings,
            clients,
            slots,
            next: AtomicUsize::new(0),
            sha: ArcSwapOption::empty(),
            origin: Instant::now(),
        }))
    }

    /// Whether a failed take fails the request (`denyOnError`).
    pub fn deny_on_error(&self) -> bool {
        self.settings.deny_on_error
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
        let timeout = self.settings.read_timeout + self.settings.write_timeout;
        let script = self.run_script(key, cost, rate, burst, max_wait_ns / 1000);
        match tokio::time::timeout(timeout, script).await {
            Ok(result) => result,
            Err(_) => Err(RedisTakeError::Timeout {
                endpoints: self.settings.endpoints.join(","),
                timeout,
            }),
        }
    }

    async fn run_script(
        &self,
        key: &str,
        cost: u32,
        rate: f64,
        burst: u32,
        max_wait_us: u64,
    ) -> Result<Reservation, RedisTakeError> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        let mut conn = self.connection(slot).await?;
        // Kept idle for as long as it refills (from below zero after a reservation): expiring
        // earlier would hand out a full bucket.
        let ttl = (f64::from(burst) / rate + max_wait_us as f64 / 1e6)
            .ceil()
            .min(1e9) as u64
            + 1;
        let full_key = format!("{}{key}", self.prefix);
        let mut reloaded = false;
        loop {
            let sha = match self.sha.load_full() {
                Some(sha) => sha,
                None => self.load_script(slot, &mut conn).await?,
            };
            let reply: redis::RedisResult<(u64, String, u8)> = redis::cmd("EVALSHA")
                .arg(sha.as_str())
                .arg(1)
                .arg(&full_key)
                .arg(rate / 1e6)
                .arg(burst)
                .arg(cost)
                .arg(ttl)
                .arg(max_wait_us)
                .query_async(&mut conn)
                .await;
            return match reply {
                Ok((0, _, 1)) => Ok(Reservation::Now),
                Ok((wait_us, _, 1)) => Ok(Reservation::After(wait_us.saturating_mul(1000))),
                Ok((wait_us, _, _)) => Ok(Reservation::Denied(wait_us.saturating_mul(1000))),
                Err(e)
                    if !reloaded
                        && e.kind() == ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
                {
                    self.sha.store(None);
                    reloaded = true;
                    continue;
                }
                Err(e) => Err(self.failed(slot, e)),
            };
        }
    }

    async fn load_script(
        &self,
        slot: &Slot,
        conn: &mut MultiplexedConnection,
    ) -> Result<Arc<String>, RedisTakeError> {
        let sha: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(SCRIPT)
            .query_async(conn)
            .await
            .map_err(|e| self.failed(slot, e))?;
        let sha = Arc::new(sha);
        self.sha.store(Some(sha.clone()));
        Ok(sha)
    }

    /// The slot's connection, dialled if it has none (see the module doc for the pacing).
    async fn connection(&self, slot: &Slot) -> Result<MultiplexedConnection, RedisTakeError> {
        if let Some(conn) = slot.conn.load_full() {
            return Ok((*conn).clone());
        }
        let unreachable = |reason: &str| RedisTakeError::Redis {
            endpoints: self.settings.endpoints.join(","),
            reason: reason.to_string(),
        };
        // Takes arriving during a dial wait for it (bounded: the dial is) and use its result.
        let _dialling = slot.dialling.lock().await;
        if let Some(conn) = slot.conn.load_full() {
            return Ok((*conn).clone());
        }
        let now = self.origin.elapsed().as_millis() as u64;
        if now < slot.redial_at.load(Ordering::Relaxed) {
            return Err(unreachable("unreachable (waiting before the next dial)"));
        }
        slot.redial_at
            .store(now + REDIAL_PAUSE.as_millis() as u64, Ordering::Relaxed);
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.settings.dial_timeout))
            .set_response_timeout(Some(self.settings.read_timeout));
        let mut last = String::new();
        for client in &self.clients {
            match client
                .get_multiplexed_async_connection_with_config(&config)
                .await
            {
                Ok(conn) => {
                    slot.conn.store(Some(Arc::new(conn.clone())));
                    return Ok(conn);
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(unreachable(&last))
    }

    /// The error of a failed command; a connection-level failure drops the slot's connection
    /// so the next take dials again.
    fn failed(&self, slot: &Slot, e: redis::RedisError) -> RedisTakeError {
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_timeout()
            || e.is_unrecoverable_error()
        {
            slot.conn.store(None);
        }
        RedisTakeError::Redis {
            endpoints: self.settings.endpoints.join(","),
            reason: e.to_string(),
        }
    }
}

/// TLS to a Redis server: whether its certificate goes unverified, and the CA and client
/// certificate PEM bytes (read by the caller).
#[derive(Clone)]
pub struct RedisTls {
    pub insecure: bool,
    pub certificates: redis::TlsCertificates,
}

/// A client for `endpoint` (`host[:port]`, port 6379 by default; IPv6 hosts in brackets), with
/// database `db` and the credentials selected on every connection, over TLS when `tls` is
/// given. Shared with `providers.redis`.
pub fn client(
    endpoint: &str,
    db: i64,
    username: Option<&str>,
    password: Option<&str>,
    tls: Option<RedisTls>,
) -> redis::RedisResult<redis::Client> {
    let (host, port) = match endpoint.rsplit_once(':') {
        Some((host, port)) => (host.trim_matches(['[', ']']), port.parse().unwrap_or(6379)),
        None => (endpoint, 6379),
    };
    let mut settings = RedisConnectionInfo::default().set_db(db);
    if let Some(user) = username {
        settings = settings.set_username(user);
    }
    if let Some(password) = password {
        settings = settings.set_password(password);
    }
    let Some(tls) = tls else {
        let info = (host.to_string(), port)
            .into_connection_info()?
            .set_redis_settings(settings);
        return redis::Client::open(info);
    };
    let addr = redis::ConnectionAddr::TcpTls {
        host: host.to_string(),
        port,
        insecure: tls.insecure,
        tls_params: None,
    };
    let info = addr.into_connection_info()?.set_redis_settings(settings);
    redis::Client::build_with_tls(info, tls.certificates)
}
