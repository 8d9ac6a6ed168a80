//! Which per-core worker the current thread is (`app::per_core`), so per-worker state (the
//! upstream pools' idle connections) stays on the thread that uses it. Threads that are no
//! worker (the shared runtime's, the control runtime's, the blocking pool's) are worker 0.
//!
//! Cost: one thread-local read.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

/// How many per-core workers this process runs (1 without per-core workers). Set once at
/// start-up, before any pool is built.
static COUNT: AtomicUsize = AtomicUsize::new(1);

/// Records how many workers there are; runs once at start-up, before the config is built.
pub fn set_count(workers: usize) {
    COUNT.store(workers.max(1), Ordering::Relaxed);
}

/// How many workers per-worker state is split over.
pub fn count() -> usize {
    COUNT.load(Ordering::Relaxed)
}

/// Marks the calling thread as worker `index`; runs once when a worker thread starts.
pub fn set_current(index: usize) {
    CURRENT.with(|c| c.set(index));
}

/// The calling thread's worker index (below [`count`]).
pub fn current() -> usize {
    CURRENT.with(Cell::get)
}
