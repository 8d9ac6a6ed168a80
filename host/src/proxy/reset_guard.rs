//! HTTP/2 rapid-reset protection for streams the gateway has already accepted.
//!
//! h2's `max_pending_accept_reset_streams` bounds streams reset *before* the server accepted
//! them. A client can instead wait until each request has been forwarded and only then reset
//! it (CVE-2023-44487 variant): the stream's concurrency slot frees at once, so one connection
//! limited to N streams can make the gateway send any number of requests it then abandons.
//! Envoy closes such connections on a premature-reset ratio; so does this module.
//!
//! Every request of a connection carries a [`RequestGuard`]; a guard dropped before its request
//! produced a response head is a *premature reset*. Once a connection has at least `limit` of
//! them and they are more than half of its requests, [`ConnectionResets::tripped`] resolves and
//! the connection task shuts the connection down (GOAWAY). Browsers cancelling the odd stream
//! stay far below the ratio.
//!
//! Cost per request: one `Arc` clone, one atomic increment, one flag check on drop.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::Notify;

/// Per-connection request accounting.
#[derive(Debug)]
pub struct ConnectionResets {
    limit: u32,
    started: AtomicU32,
    premature: AtomicU32,
    /// Requests whose guard is alive (started, handler not finished or dropped).
    in_flight: AtomicU32,
    trip: Notify,
}

impl ConnectionResets {
    /// `limit`: premature resets tolerated before the ratio is checked.
    pub fn new(limit: u32) -> Arc<Self> {
        Arc::new(ConnectionResets {
            limit: limit.max(1),
            started: AtomicU32::new(0),
            premature: AtomicU32::new(0),
            in_flight: AtomicU32::new(0),
            trip: Notify::new(),
        })
    }

    /// Called when a request starts; the guard reports how it ended.
    pub fn start(self: &Arc<Self>) -> RequestGuard {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        RequestGuard {
            resets: self.clone(),
            answered: false,
        }
    }

    /// Requests of this connection whose handler is still running (their response head is not
    /// ready yet).
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Resolves once the connection has reset too many of its requests prematurely.
    pub async fn tripped(&self) {
        self.trip.notified().await;
    }

    fn record_premature(&self) {
        let premature = self.premature.fetch_add(1, Ordering::Relaxed) + 1;
        let started = self.started.load(Ordering::Relaxed);
        if premature >= self.limit && premature.saturating_mul(2) > started {
            // `notify_one` keeps a permit if the connection task is not waiting right now.
            self.trip.notify_one();
        }
    }
}

/// One request's accounting: dropped without [`RequestGuard::answered`], it counts as a
/// premature reset.
pub struct RequestGuard {
    resets: Arc<ConnectionResets>,
    answered: bool,
}

impl RequestGuard {
    /// The request produced its response head.
    pub fn answered(mut self) {
        self.answered = true;
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.resets.in_flight.fetch_sub(1, Ordering::Relaxed);
        if !self.answered {
            self.resets.record_premature();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn is_tripped(resets: &ConnectionResets) -> bool {
        tokio::time::timeout(Duration::from_millis(50), resets.tripped())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_connection_resetting_most_of_its_requests_trips_at_the_limit() {
        let resets = ConnectionResets::new(5);
        for _ in 0..4 {
            drop(resets.start());
        }
        assert!(!is_tripped(&resets).await, "below the limit");
        let last = resets.start();
        assert_eq!(resets.in_flight(), 1);
        drop(last);
        assert_eq!(resets.in_flight(), 0);
        assert!(is_tripped(&resets).await, "5 of 5 requests reset");
    }

    #[tokio::test]
    async fn occasional_cancellations_among_answered_requests_do_not_trip() {
        let resets = ConnectionResets::new(5);
        for i in 0..1000 {
            let guard = resets.start();
            if i % 10 == 0 {
                drop(guard);
            } else {
                guard.answered();
            }
        }
        assert!(!is_tripped(&resets).await, "100 of 1000 is a normal client");
    }
}
