//! The access log's line buffers: a few more than the cores, each a mutex-guarded `String` that
//! the threads mapped to it format their finished requests' lines into. The writer thread swaps
//! each buffer for an empty one every round and writes what it took.
//!
//! Runs on the request path, once per logged request: one uncontended lock (a thread has its
//! own buffer unless there are more threads than buffers; the writer holds a lock only for a
//! swap) and the formatting, with no allocation once the buffer has grown, no channel, and
//! nothing handed to another thread to free. A buffer holding `bufferingSize` lines takes no
//! more until the writer empties it: later lines are dropped (and counted by the caller), so a
//! request never waits for the disk. Each thread that logs has that much room (Traefik's
//! `bufferingSize` is its one channel's): memory stays bounded by the buffers in use.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};

use super::timefmt::Clock;

/// The buffers of one access log.
#[derive(Debug)]
pub(super) struct Shards {
    shards: Box<[Mutex<Shard>]>,
    /// Lines a buffer holds before it drops.
    limit: usize,
}

/// One buffer and what its lines are formatted with.
#[derive(Debug, Default)]
pub(super) struct Shard {
    text: String,
    lines: usize,
    clock: Clock,
}

/// Numbers the threads that log, in the order they first do: thread `n` uses buffer
/// `n % count`.
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD: Cell<Option<usize>> = const { Cell::new(None) };
}

fn this_thread() -> usize {
    THREAD.with(|n| match n.get() {
        Some(n) => n,
        None => {
            let next = NEXT_THREAD.fetch_add(1, Relaxed);
            n.set(Some(next));
            next
        }
    })
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shards {
    /// Buffers for the machine's threads (twice its cores, at least 2), each holding up to
    /// `buffering_size` lines.
    pub(super) fn new(buffering_size: usize) -> Shards {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let count = (cores * 2).clamp(2, 64);
        Shards {
            shards: (0..count).map(|_| Mutex::default()).collect(),
            limit: buffering_size.max(1),
        }
    }

    /// Appends one line to the calling thread's buffer with `write`; false (nothing written)
    /// when that buffer is full.
    pub(super) fn append(&self, write: impl FnOnce(&mut String, &mut Clock)) -> bool {
        let mut shard = lock(&self.shards[this_thread() % self.shards.len()]);
        if shard.lines >= self.limit {
            return false;
        }
        shard.lines += 1;
        let Shard { text, clock, .. } = &mut *shard;
        write(text, clock);
        true
    }

    /// How many buffers there are.
    pub(super) fn count(&self) -> usize {
        self.shards.len()
    }

    /// Swaps buffer `i`'s text for `spare` (which must be empty): `spare` then holds its lines.
    pub(super) fn take(&self, i: usize, spare: &mut String) {
        let mut shard = lock(&self.shards[i]);
        std::mem::swap(&mut shard.text, spare);
        shard.lines = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_buffer_takes_no_line_until_the_writer_empties_it() {
        let shards = Shards::new(1);
        assert!(shards.append(|out, _| out.push_str("a\n")));
        assert!(!shards.append(|out, _| out.push_str("b\n")));
        let mut spare = String::new();
        let mine = this_thread() % shards.count();
        shards.take(mine, &mut spare);
        assert_eq!(spare, "a\n");
        assert!(shards.append(|out, _| out.push_str("c\n")));
    }
}
