//! The guards beside a client connection's server (hyper's or the own HTTP/1.1 one): gateway
//! shutdown, rapid reset (HTTP/2), idle timeout, and the drain limit after a rapid-reset GOAWAY.
//!
//! On shutdown, once no bytes have moved for `idle_timeout`, or after too many premature
//! resets, the server is shut down gracefully: an idle keep-alive connection closes at once,
//! requests in flight finish first (HTTP/2: GOAWAY, open streams finish). A connection that
//! then stays idle for another `idle_timeout` with no request in flight is dropped (an HTTP/2
//! client that never acknowledges the GOAWAY's PING would otherwise stay forever), as is a
//! rapid-reset connection [`RESET_DRAIN`] after its GOAWAY.
//!
//! Runs on the connection's task; the guards are polled only when one of them woke
//! (`SideWake`), not at each of the server's several wake-ups per request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::watch;

use super::reset_guard::ConnectionResets;
use super::side_wake::SideWake;
use crate::tcp::Activity;

/// What the guards watch for one connection.
pub(super) struct Guards {
    pub(super) client: SocketAddr,
    pub(super) shutdown: watch::Receiver<bool>,
    pub(super) resets: Arc<ConnectionResets>,
    pub(super) activity: Arc<Activity>,
    pub(super) idle_timeout: Option<Duration>,
}

/// What the guard loop asks of the server it drives.
pub(super) enum Drive<'a, 'b> {
    /// Poll it.
    Poll(&'a mut Context<'b>),
    /// Shut it down gracefully (then it is polled again).
    Shutdown,
}

impl Guards {
    /// Drives a server (`drive`: poll it, or shut it down gracefully) to its end under the
    /// guards: `Some` with its output, `None` when a guard dropped it.
    pub(super) async fn run<R>(
        &mut self,
        mut drive: impl FnMut(Drive<'_, '_>) -> Poll<R>,
    ) -> Option<R> {
        let activity = self.activity.clone();
        let idle_timeout = self.idle_timeout;
        let mut idle_wait = std::pin::pin!(activity.idle_for_at_most(idle_timeout));
        let mut drain_limit = std::pin::pin!(deadline(None));
        let mut closing = false;
        if *self.shutdown.borrow_and_update() {
            let _ = drive(Drive::Shutdown);
            closing = true;
        }
        let client = self.client;
        let mut side_wake = SideWake::new();
        loop {
            let open = !closing;
            let next = {
                let shutdown = &mut self.shutdown;
                let resets = &self.resets;
                let side = async {
                    tokio::select! {
                        biased;
                        // A dropped sender (the gateway is exiting) counts as shutdown too.
                        _ = shutdown.changed(), if open => Side::Shutdown,
                        () = resets.tripped(), if open => Side::Tripped,
                        () = &mut idle_wait => Side::Idle,
                        () = &mut drain_limit => Side::Drained,
                    }
                };
                let mut side = std::pin::pin!(side);
                side_wake.rearm();
                std::future::poll_fn(|cx| {
                    if let Poll::Ready(result) = drive(Drive::Poll(cx)) {
                        return Poll::Ready(Next::Ended(result));
                    }
                    side_wake.poll(cx, side.as_mut()).map(Next::Side)
                })
                .await
            };
            match next {
                Next::Ended(result) => return Some(result),
                Next::Side(Side::Shutdown) => {
                    let _ = drive(Drive::Shutdown);
                    closing = true;
                }
                Next::Side(Side::Tripped) => {
                    tracing::warn!(
                        %client,
                        "closing a connection that reset most of its requests \
                         after they were forwarded (rapid reset)"
                    );
                    let _ = drive(Drive::Shutdown);
                    closing = true;
                    drain_limit.set(deadline(Some(RESET_DRAIN)));
                }
                Next::Side(Side::Idle) => {
                    if !closing {
                        tracing::debug!(%client, "closing an idle client connection");
                        let _ = drive(Drive::Shutdown);
                        closing = true;
                    } else if self.resets.in_flight() == 0 {
                        tracing::debug!(%client, "dropping a connection idle while closing");
                        return None;
                    }
                    idle_wait.set(activity.idle_for_at_most(idle_timeout));
                }
                Next::Side(Side::Drained) => return None,
            }
        }
    }
}

/// What the connection task's wait ended with.
enum Next<R> {
    /// The server ended (its output).
    Ended(R),
    /// A guard beside it resolved.
    Side(Side),
}

/// What woke one of the guards beside a connection.
enum Side {
    /// The gateway is shutting down.
    Shutdown,
    /// Too many premature resets (rapid reset).
    Tripped,
    /// No bytes moved for `idle_timeout`.
    Idle,
    /// The drain time after a rapid-reset GOAWAY is over.
    Drained,
}

/// Resolves after `after`; never with `None`.
async fn deadline(after: Option<Duration>) {
    match after {
        Some(after) => tokio::time::sleep(after).await,
        None => std::future::pending().await,
    }
}

/// How long a connection closed for rapid reset may take to finish after its GOAWAY.
const RESET_DRAIN: Duration = Duration::from_secs(1);
