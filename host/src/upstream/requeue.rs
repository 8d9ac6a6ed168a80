//! One trip to the back of the worker's run queue before a request goes to its server, so that
//! the requests read in one I/O batch are written to their servers in a run.
//!
//! Why: each write to a server (or, through its answer, to a client) wakes that peer if it
//! sleeps in `epoll_wait`, and on loopback the wake-up runs on the gateway's core
//! (`sock_def_readable` → `try_to_wake_up`, a cross-core interrupt when the peer's core is
//! idle). Written one per task poll, the writes to the server came a whole request's gateway
//! work apart, longer than the server takes per request, so it slept and was woken again about
//! every fifth to seventh request; written in a run, about once per twenty (nginx's rate in the
//! same bench). Measured in bench/README.md (2026-12-05, branch sysgap).
//!
//! Runs once per request on the own HTTP/1.1 client's path. Cost: one more poll of the
//! request's task (≈ 0.3 µs); unlike `tokio::task::yield_now`, the task is not held back until
//! after the next I/O poll (no extra non-blocking `epoll_wait` when the queue is otherwise
//! empty).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Pending once, with the task woken at once: the scheduler puts a task that woke itself while
/// being polled at the back of its run queue, behind the tasks already ready.
pub(super) fn requeue() -> Requeue {
    Requeue { woken: false }
}

/// The future of [`requeue`].
pub(super) struct Requeue {
    woken: bool,
}

impl Future for Requeue {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.woken {
            return Poll::Ready(());
        }
        self.woken = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::requeue;

    #[test]
    fn a_requeued_task_lets_the_tasks_already_ready_run_first() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let order = Arc::new(Mutex::new(Vec::new()));
        rt.block_on(async {
            let (a_order, b_order) = (order.clone(), order.clone());
            let a = tokio::spawn(async move {
                a_order.lock().expect("lock").push("a reads");
                requeue().await;
                a_order.lock().expect("lock").push("a writes");
            });
            let b = tokio::spawn(async move {
                b_order.lock().expect("lock").push("b reads");
            });
            a.await.expect("task a");
            b.await.expect("task b");
        });
        assert_eq!(
            *order.lock().expect("lock"),
            vec!["a reads", "b reads", "a writes"]
        );
    }
}
