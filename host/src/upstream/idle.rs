//! The idle HTTP/1.1 connections of one upstream server, and how a connection comes back to
//! them once its exchange is over. One list type for both kinds of connection: hyper's
//! (`Checkout`, for requests with bodies and upgrades) and the gateway's own (`h1_conn`, for
//! body-less requests to `http://` servers), each kind in a list of its own.
//!
//! For hyper's connections: a request takes a connection's sender out of the list (`pop`), sends, and as soon as the
//! response head has arrived hands the sender back to its connection (`ConnShared::release`).
//! The sender cannot take a new request until hyper's dispatcher has read the whole response
//! body, so a released sender waits in its connection's one-entry slot; the connection's own
//! task (`connect::H1Driver`) moves it to the list right after the poll in which the dispatcher
//! went idle. No task and no timer per request: a check after each poll of the connection
//! task, and one short lock on the list per request (pop) plus one per return (push).
//!
//! Idle connections older than `idleConnTimeout` are skipped at `pop` and closed by a reaper
//! task (one per list, started with the first idle connection, ticking every timeout); at most
//! `maxIdleConnsPerHost` are kept, a return beyond it closes the connection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use hyper::client::conn::http1;
use tokio::sync::Notify;

use super::body::ProxyBody;
use super::coarse_clock;

pub(super) type H1Sender = http1::SendRequest<ProxyBody>;

/// The reaper ticks at most this often, however short the idle timeout.
const MIN_REAP_INTERVAL: Duration = Duration::from_millis(100);

/// A connection that can wait in an [`IdleList`].
pub(super) trait Pooled: Send + 'static {
    /// Whether it can take a request now (checked at `pop` and by the reaper; must be cheap).
    fn usable(&self) -> bool;
}

impl Pooled for Checkout {
    fn usable(&self) -> bool {
        !self.sender.is_closed() && self.sender.is_ready()
    }
}

/// A connection while it is in the list.
struct IdleConn<C> {
    conn: C,
    /// When it came back, on the coarse clock (`coarse_clock::monotonic`): a tick's precision
    /// is plenty for an idle timeout, and the precise clock at each push and pop was two of the
    /// five precise readings per proxied request (bench/README, branch plainpath). Zero when
    /// idle connections never expire.
    since: Duration,
}

/// The idle HTTP/1.1 connections of one server (LIFO: the most recently used first, so the
/// others age out when traffic drops).
pub(super) struct IdleList<C> {
    conns: Mutex<Vec<IdleConn<C>>>,
    max_idle: usize,
    /// `None`: idle connections never expire.
    timeout: Option<Duration>,
    reaper_started: AtomicBool,
    /// Wakes a request waiting at `maxConnsPerHost` when a connection comes back (`None`: no
    /// limit, so nobody waits and a return costs no notification). Shared by the server's
    /// per-worker lists, since the cap is the server's.
    returned: Option<Arc<Notify>>,
}

/// A checked-out connection: its sender and what it returns to.
pub(super) struct Checkout {
    pub sender: H1Sender,
    pub conn: Arc<ConnShared>,
}

impl<C: Pooled> IdleList<C> {
    /// `returned`: the server's notification for requests waiting at `maxConnsPerHost`.
    pub fn new(max_idle: usize, timeout: Duration, returned: Option<Arc<Notify>>) -> Arc<Self> {
        Arc::new(IdleList {
            conns: Mutex::new(Vec::new()),
            max_idle,
            timeout: Some(timeout).filter(|t| !t.is_zero()),
            reaper_started: AtomicBool::new(false),
            returned,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<IdleConn<C>>> {
        // A panic while holding the lock leaves a valid Vec: keep using it.
        self.conns.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The most recently returned live connection, if any (expired and closed ones found on
    /// the way are dropped, which closes them).
    pub fn pop(&self) -> Option<C> {
        let now = self.timeout.map(|_| coarse_clock::monotonic());
        let mut conns = self.lock();
        while let Some(idle) = conns.pop() {
            let expired = match (self.timeout, now) {
                (Some(t), Some(now)) => now.saturating_sub(idle.since) >= t,
                _ => false,
            };
            if expired || !idle.conn.usable() {
                continue;
            }
            return Some(idle.conn);
        }
        None
    }

    /// Number of idle connections held (tests, admin).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Takes a connection back (closing it if the list is full).
    pub fn push(self: &Arc<Self>, conn: C) {
        if self.max_idle == 0 {
            return;
        }
        let since = match self.timeout {
            Some(_) => coarse_clock::monotonic(),
            None => Duration::ZERO,
        };
        let start_reaper = {
            let mut conns = self.lock();
            if conns.len() >= self.max_idle {
                return;
            }
            conns.push(IdleConn { conn, since });
            self.timeout.is_some() && !self.reaper_started.load(Ordering::Relaxed)
        };
        if let Some(returned) = &self.returned {
            returned.notify_one();
        }
        if start_reaper && !self.reaper_started.swap(true, Ordering::Relaxed) {
            self.start_reaper();
        }
    }

    /// Signalled when a connection comes back or an HTTP/2 connection comes up (`None`: no
    /// `maxConnsPerHost`, nobody waits).
    pub fn returned(&self) -> Option<&Notify> {
        self.returned.as_deref()
    }

    /// Closes expired connections every `timeout` until the list is dropped (it holds only a
    /// weak reference). Runs on the current runtime; outside one, expiry happens at `pop`.
    fn start_reaper(self: &Arc<Self>) {
        let Some(timeout) = self.timeout else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let list: Weak<Self> = Arc::downgrade(self);
        let every = timeout.max(MIN_REAP_INTERVAL);
        runtime.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(list) = list.upgrade() else { return };
                let now = coarse_clock::monotonic();
                // Dropped outside the lock: dropping a sender wakes its connection task.
                let expired: Vec<IdleConn<C>> = {
                    let mut conns = list.lock();
                    let (keep, expired) =
                        std::mem::take(&mut *conns)
                            .into_iter()
                            .partition(|c: &IdleConn<C>| {
                                now.saturating_sub(c.since) < timeout && c.conn.usable()
                            });
                    *conns = keep;
                    expired
                };
                drop(expired);
            }
        });
    }
}

/// What a connection's task and the requests using it share.
pub(super) struct ConnShared {
    list: Weak<IdleList<Checkout>>,
    /// A sender handed back before its connection was ready for the next request.
    parked: Mutex<Option<H1Sender>>,
    has_parked: AtomicBool,
}

impl ConnShared {
    pub fn new(list: &Arc<IdleList<Checkout>>) -> Arc<Self> {
        Arc::new(ConnShared {
            list: Arc::downgrade(list),
            parked: Mutex::new(None),
            has_parked: AtomicBool::new(false),
        })
    }

    fn slot(&self) -> MutexGuard<'_, Option<H1Sender>> {
        self.parked.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands the sender back once the response head has arrived: straight to the idle list if
    /// the connection can already take a request, else parked until its task sees it idle.
    pub fn release(self: &Arc<Self>, sender: H1Sender) {
        if sender.is_closed() {
            return;
        }
        if sender.is_ready() {
            if let Some(list) = self.list.upgrade() {
                list.push(Checkout {
                    sender,
                    conn: self.clone(),
                });
            }
            return;
        }
        *self.slot() = Some(sender);
        self.has_parked.store(true, Ordering::Release);
        // The connection may have gone idle between the check above and parking: look again
        // (the task's own check after its next poll covers the other order).
        self.unpark_if_ready();
    }

    /// Called by the connection task after each poll, and by `release`: moves a parked
    /// sender to the idle list once the connection can take a request (drops it if closed).
    pub fn unpark_if_ready(self: &Arc<Self>) {
        if !self.has_parked.load(Ordering::Acquire) {
            return;
        }
        let ready = {
            let mut slot = self.slot();
            match slot.as_ref() {
                Some(s) if s.is_closed() => {
                    self.has_parked.store(false, Ordering::Release);
                    slot.take();
                    None
                }
                Some(s) if s.is_ready() => {
                    self.has_parked.store(false, Ordering::Release);
                    slot.take()
                }
                _ => None,
            }
        };
        if let Some(sender) = ready
            && let Some(list) = self.list.upgrade()
        {
            list.push(Checkout {
                sender,
                conn: self.clone(),
            });
        }
    }

    /// The connection ended: a parked sender goes with it.
    pub fn closed(&self) {
        self.has_parked.store(false, Ordering::Release);
        self.slot().take();
    }
}
