//! Guards beside a client connection (shutdown, idle, rapid reset) polled only when one of them
//! was woken, not at every poll of the connection.
//!
//! A connection task wakes several times per request (the request's bytes, the upstream's
//! answer, the socket becoming writable), and a `select!` over the connection and its guards
//! polls every guard each time: a watch receiver, a `Notify` (a lock each) and the idle sleep.
//! [`SideWake`] polls the guards with a waker of its own, which marks them woken and then wakes
//! the task; the task polls them again only after such a wake-up (or when a new guard future
//! replaces the last one).
//!
//! Cost per poll of the connection task: a waker comparison and an atomic load; after a guard's
//! wake-up, registering the task's waker again.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// The guards' wake-up flag and the task to wake with it.
struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// Polls a side future only after it was woken; one per connection task.
pub(super) struct SideWake {
    flag: Arc<Flag>,
    waker: Waker,
    /// The task's waker registered last.
    task: Option<Waker>,
}

impl SideWake {
    pub(super) fn new() -> Self {
        let flag = Arc::new(Flag {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        let waker = Waker::from(flag.clone());
        SideWake {
            flag,
            waker,
            task: None,
        }
    }

    /// The next [`SideWake::poll`] polls the side future whether or not it was woken: a new
    /// side future must be polled once to register its wake-ups.
    pub(super) fn rearm(&self) {
        self.flag.woken.store(true, Ordering::Relaxed);
    }

    /// Polls `side` if it was woken since its last poll (or [`SideWake::rearm`] was called);
    /// `Pending` otherwise. The task of `cx` is woken when `side` is.
    pub(super) fn poll<F: Future>(
        &mut self,
        cx: &mut Context<'_>,
        side: Pin<&mut F>,
    ) -> Poll<F::Output> {
        self.poll_fn(cx, |side_cx| side.poll(side_cx))
    }

    /// [`SideWake::poll`] for a side that is a poll function (`side` is called with the side's
    /// context, or not at all).
    pub(super) fn poll_fn<T>(
        &mut self,
        cx: &mut Context<'_>,
        side: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        // The flag's waker is taken by each wake-up: registered again when the flag is seen
        // set, or when the task's waker is not the one registered last.
        let same = self.task.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        if same && !self.flag.woken.load(Ordering::Acquire) {
            return Poll::Pending;
        }
        if !same {
            self.task = Some(cx.waker().clone());
        }
        self.flag.task.register(cx.waker());
        if !self.flag.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let polled = side(&mut Context::from_waker(&self.waker));
        if polled.is_ready() {
            // Whatever replaces it is new.
            self.rearm();
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts its polls; ready once `open` is set, waking whoever polled it last on `open`.
    struct Gate {
        polls: Arc<AtomicUsize>,
        open: Arc<AtomicBool>,
        waker: Arc<std::sync::Mutex<Option<Waker>>>,
    }

    impl Future for Gate {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls.fetch_add(1, Ordering::Relaxed);
            if self.open.load(Ordering::Relaxed) {
                return Poll::Ready(());
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_side_future_is_polled_once_then_only_after_its_own_wake_up() {
        let polls = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicBool::new(false));
        let waker = Arc::new(std::sync::Mutex::new(None::<Waker>));
        let gate = Gate {
            polls: polls.clone(),
            open: open.clone(),
            waker: waker.clone(),
        };
        let mut side = SideWake::new();
        let mut gate = std::pin::pin!(gate);
        for _ in 0..5 {
            let polled = std::future::poll_fn(|cx| Poll::Ready(side.poll(cx, gate.as_mut()))).await;
            assert!(polled.is_pending());
        }
        assert_eq!(
            polls.load(Ordering::Relaxed),
            1,
            "polled once, then left alone"
        );
        // Opening it and waking its waker: the task is woken and the next poll reaches it.
        open.store(true, Ordering::Relaxed);
        let wake = waker.lock().unwrap().take().expect("the gate kept a waker");
        let opened = tokio::spawn(async move { wake.wake() });
        std::future::poll_fn(|cx| side.poll(cx, gate.as_mut())).await;
        opened.await.unwrap();
        assert_eq!(polls.load(Ordering::Relaxed), 2);
    }
}
