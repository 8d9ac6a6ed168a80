//! The connections to one middleware's Redis, shared by its Redis backends (`redis_counters`
//! for token buckets, `redis_kv` for `kv`), and the Lua scripts they run.
//!
//! When it runs: built at config time (no dial); used on a request's own task, after a hook
//! returned, never inside a hook call.
//!
//! Connections: `poolSize` multiplexed connections (0: one), capped by `maxActiveConns`, picked
//! round robin; each pipelines any number of concurrent commands. A connection that fails is
//! dropped and redialled by the next command (one dial at a time per connection, the commands
//! that arrive meanwhile waiting for it; after a failed dial, commands fail at once for
//! [`REDIAL_PAUSE`]; each dial bounded by `dialTimeout`). Callers bound a whole operation with
//! [`RedisPool::bounded`] (`readTimeout + writeTimeout`). Cost per command: one round trip, no
//! lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ErrorKind, IntoConnectionInfo, RedisConnectionInfo};

/// How a middleware reaches its Redis (Traefik's `rateLimit.redis` keys, checked by the config).
pub use crate::config::CountersRedisConfig as RedisSettings;

/// The least time between two dials of one connection while Redis is unreachable.
pub const REDIAL_PAUSE: Duration = Duration::from_millis(50);

/// Why an operation got no answer from Redis.
#[derive(Debug, thiserror::Error)]
pub enum RedisFailure {
    #[error("redis {endpoints}: {reason}")]
    Redis { endpoints: String, reason: String },
    #[error("redis {endpoints}: no answer within {timeout:?}")]
    Timeout {
        endpoints: String,
        timeout: Duration,
    },
}

/// One middleware's connections to its Redis. Connects on first use.
pub struct RedisPool {
    settings: RedisSettings,
    clients: Vec<redis::Client>,
    slots: Box<[Slot]>,
    next: AtomicUsize,
    origin: Instant,
}

/// One pooled connection.
pub struct Slot {
    conn: ArcSwapOption<MultiplexedConnection>,
    /// Held while dialling; commands finding it held wait for that dial.
    dialling: tokio::sync::Mutex<()>,
    /// When (ms since `origin`) this slot may dial again.
    redial_at: AtomicU64,
}

impl RedisPool {
    /// The pool for `settings`, over TLS with `tls` (the caller read `settings.tls`' files).
    /// Config time; an endpoint that is not `host[:port]` is an error.
    pub fn new(settings: &RedisSettings, tls: Option<RedisTls>) -> Result<Self, String> {
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
        Ok(RedisPool {
            settings,
            clients,
            slots,
            next: AtomicUsize::new(0),
            origin: Instant::now(),
        })
    }

    pub fn settings(&self) -> &RedisSettings {
        &self.settings
    }

    /// The endpoints, for errors and logs.
    pub fn endpoints(&self) -> String {
        self.settings.endpoints.join(",")
    }

    /// Runs `op` under the operation bound, `readTimeout + writeTimeout`.
    pub async fn bounded<T>(
        &self,
        op: impl Future<Output = Result<T, RedisFailure>>,
    ) -> Result<T, RedisFailure> {
        let timeout = self.settings.read_timeout + self.settings.write_timeout;
        match tokio::time::timeout(timeout, op).await {
            Ok(result) => result,
            Err(_) => Err(RedisFailure::Timeout {
                endpoints: self.endpoints(),
                timeout,
            }),
        }
    }

    /// The next slot, round robin, and its connection (dialled if it has none).
    pub async fn pick(&self) -> Result<(&Slot, MultiplexedConnection), RedisFailure> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        let conn = self.connection(slot).await?;
        Ok((slot, conn))
    }

    /// The slot's connection, dialled if it has none (see the module doc for the pacing).
    async fn connection(&self, slot: &Slot) -> Result<MultiplexedConnection, RedisFailure> {
        if let Some(conn) = slot.conn.load_full() {
            return Ok((*conn).clone());
        }
        let unreachable = |reason: &str| RedisFailure::Redis {
            endpoints: self.endpoints(),
            reason: reason.to_string(),
        };
        // Commands arriving during a dial wait for it (bounded: the dial is) and use its result.
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
    /// so the next command dials again.
    pub fn failed(&self, slot: &Slot, e: &redis::RedisError) -> RedisFailure {
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_timeout()
            || e.is_unrecoverable_error()
        {
            slot.conn.store(None);
        }
        RedisFailure::Redis {
            endpoints: self.endpoints(),
            reason: e.to_string(),
        }
    }
}

/// A Lua script run with `EVALSHA`: loaded with `SCRIPT LOAD` on first use and again after a
/// `NOSCRIPT` (e.g. Redis restarted), its SHA1 shared by every connection of the process.
pub struct LuaScript {
    text: &'static str,
    sha: ArcSwapOption<String>,
}

impl LuaScript {
    pub const fn new(text: &'static str) -> Self {
        LuaScript {
            text,
            sha: ArcSwapOption::const_empty(),
        }
    }

    /// Runs the script on `conn` with the key count, keys and arguments `args` adds to
    /// `EVALSHA <sha>`.
    pub async fn run<T: redis::FromRedisValue>(
        &self,
        conn: &mut MultiplexedConnection,
        args: impl Fn(&mut redis::Cmd),
    ) -> Result<T, redis::RedisError> {
        let mut reloaded = false;
        loop {
            let sha = match self.sha.load_full() {
                Some(sha) => sha,
                None => {
                    let sha: String = redis::cmd("SCRIPT")
                        .arg("LOAD")
                        .arg(self.text)
                        .query_async(conn)
                        .await?;
                    let sha = Arc::new(sha);
                    self.sha.store(Some(sha.clone()));
                    sha
                }
            };
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg(sha.as_str());
            args(&mut cmd);
            match cmd.query_async(conn).await {
                Err(e)
                    if !reloaded
                        && e.kind() == ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
                {
                    self.sha.store(None);
                    reloaded = true;
                }
                reply => return reply,
            }
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
