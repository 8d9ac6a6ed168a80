//! The timer behind hyper's HTTP/1 `header_read_timeout` (the slowloris cut), one per client
//! connection, that does not touch the runtime's timer wheel for every request.
//!
//! hyper asks its timer for a new sleep each time it starts reading a request head (the wait of
//! a keep-alive connection for its next request included) and drops it once the head is parsed.
//! With tokio's timer (`hyper_util::rt::TokioTimer`) each of those is a boxed timer entry taken
//! from the runtime handle, inserted into the timer wheel when the read waits and removed again
//! when the head arrives: two locked wheel updates per request. Here the connection keeps one
//! tokio sleep for its life. hyper's sleeps are small boxes holding their deadline; polling one
//! polls that shared entry, which is moved only when it fires before the deadline of the sleep
//! that polls it (deadlines only grow, so that is once per header timeout at most) or when a
//! sleep with an earlier deadline polls it.
//!
//! Cost per request head: hyper's clock read, one small allocation, and when the read waits one
//! uncontended lock and one poll of an entry already in the wheel. An entry left armed after
//! its head arrived fires once at that deadline and wakes the connection task for nothing.
//!
//! One connection task's HTTP/1 side only: the shared entry keeps the waker of the last poll,
//! so sleeps polled from different tasks at the same time would steal each other's wake-ups.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::time::Sleep;

/// The tokio sleep a connection's head deadlines share, created on the first wait.
type Entry = Arc<Mutex<Option<Pin<Box<Sleep>>>>>;

/// A [`hyper::rt::Timer`] for one client connection's HTTP/1 request heads.
#[derive(Default)]
pub(super) struct HeadTimer {
    entry: Entry,
}

impl hyper::rt::Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HeadSleep {
            deadline: tokio::time::Instant::from_std(deadline),
            entry: self.entry.clone(),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HeadSleep>() {
            Some(mine) => mine.get_mut().deadline = tokio::time::Instant::from_std(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// One request head's deadline, resolved through the connection's shared entry.
struct HeadSleep {
    deadline: tokio::time::Instant,
    entry: Entry,
}

impl hyper::rt::Sleep for HeadSleep {}

impl Future for HeadSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline;
        let mut entry = self.entry.lock().unwrap_or_else(PoisonError::into_inner);
        poll_shared_sleep(&mut entry, deadline, cx)
    }
}

/// Polls a connection's one head-deadline sleep for `deadline`: created on the first wait,
/// moved only when it is set later than `deadline` or fires for an earlier head (deadlines only
/// grow, so that is once per header timeout at most). Shared by hyper's [`HeadSleep`] and the
/// own HTTP/1.1 server (`h1_stream`). Ready once `deadline` has passed.
pub(super) fn poll_shared_sleep(
    slot: &mut Option<Pin<Box<Sleep>>>,
    deadline: tokio::time::Instant,
    cx: &mut Context<'_>,
) -> Poll<()> {
    let sleep = slot.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
    if sleep.deadline() > deadline {
        sleep.as_mut().reset(deadline);
    }
    loop {
        match sleep.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(()) if sleep.deadline() >= deadline => return Poll::Ready(()),
            // It fired for an earlier head: move it to this one's deadline.
            Poll::Ready(()) => sleep.as_mut().reset(deadline),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Timer;

    /// Polls `sleep` once: whether it is still pending.
    async fn pending(sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>) -> bool {
        std::future::poll_fn(|cx| Poll::Ready(sleep.as_mut().poll(cx).is_pending())).await
    }

    /// Awaits `sleep` (bounded by a generous hang guard); returns when it resolved.
    async fn fired(sleep: Pin<Box<dyn hyper::rt::Sleep>>) -> Instant {
        tokio::time::timeout(Duration::from_secs(10), sleep)
            .await
            .expect("the head deadline fires");
        Instant::now()
    }

    #[tokio::test]
    async fn a_later_head_deadline_fires_after_an_earlier_one_left_the_entry_armed() {
        let timer = HeadTimer::default();
        // A head that arrived in time: its sleep waited once, then was dropped.
        let mut first = timer.sleep(Duration::from_millis(30));
        assert!(pending(&mut first).await);
        drop(first);
        // The next head's deadline is later: the entry fires early for it and is moved out.
        let deadline = Instant::now() + Duration::from_millis(80);
        let second = timer.sleep_until(deadline);
        assert!(fired(second).await >= deadline, "never before its deadline");
    }

    #[tokio::test]
    async fn a_shorter_deadline_pulls_in_an_entry_armed_later() {
        let timer = HeadTimer::default();
        let mut long = timer.sleep(Duration::from_secs(3600));
        assert!(pending(&mut long).await);
        let deadline = Instant::now() + Duration::from_millis(20);
        assert!(fired(timer.sleep_until(deadline)).await >= deadline);
        assert!(pending(&mut long).await, "the long one still waits");
    }

    #[tokio::test]
    async fn a_reset_sleep_takes_the_new_deadline() {
        let timer = HeadTimer::default();
        let mut sleep = timer.sleep(Duration::from_secs(3600));
        assert!(pending(&mut sleep).await);
        let deadline = Instant::now() + Duration::from_millis(20);
        timer.reset(&mut sleep, deadline);
        assert!(fired(sleep).await >= deadline);
    }
}
