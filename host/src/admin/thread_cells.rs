//! Counters split by thread: a thread adds to cells of its own (a plain load and store on
//! cache lines no other thread writes: no locked read-modify-write, no line bouncing between
//! cores), and a reader sums every thread's cells. Used for the request metrics, which every
//! request adds to about fifteen times (`metrics::Series`).
//!
//! Each thread that records takes the next slot number when it first records (one global
//! counter, never reused). The first [`owned_slots`] threads each get their own block of cells in
//! every [`ThreadCells`] they add to, allocated on their first add there; threads beyond (a
//! gateway runs one recording thread per worker, so only when threads come and go) share one
//! block of atomics and pay a `fetch_add`. A count is exact whichever thread added it: the
//! sum reads every block.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Cells per cache line.
const PER_LINE: usize = 8;

/// One cache line of cells: a thread's block starts on a line of its own.
#[repr(align(64))]
#[derive(Debug, Default)]
pub struct Line([AtomicU64; PER_LINE]);

/// `width` counters, one block per recording thread.
#[derive(Debug)]
pub struct ThreadCells {
    width: usize,
    /// Blocks of the threads that own a slot, by slot; allocated on the thread's first add.
    owned: Box<[OnceLock<Box<[Line]>>]>,
    /// The cells of threads without a slot of their own (added to with `fetch_add`).
    shared: Box<[AtomicU64]>,
}

/// The slot numbers handed out so far.
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot number; `usize::MAX` until it first records.
    static SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// How many threads get blocks of their own: the machine's cores and a few more (a gateway
/// records on its worker threads, one per core at most). Read once.
fn owned_slots() -> usize {
    static OWNED: OnceLock<usize> = OnceLock::new();
    *OWNED.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(4, usize::from)
            .saturating_add(4)
            .min(64)
    })
}

/// This thread's slot number (taken on its first call).
fn slot() -> usize {
    SLOT.with(|s| {
        let mine = s.get();
        if mine != usize::MAX {
            return mine;
        }
        let taken = NEXT_SLOT.fetch_add(1, Relaxed);
        s.set(taken);
        taken
    })
}

/// Where the calling thread adds: its own block or the shared atomics.
pub enum Writer<'a> {
    Owned(&'a [Line]),
    Shared(&'a [AtomicU64]),
}

impl Writer<'_> {
    /// Adds `n` to cell `i` (`i < width`).
    #[inline]
    pub fn add(&self, i: usize, n: u64) {
        match self {
            Writer::Owned(lines) => {
                // Only this thread writes this cell: a load and a store, never torn, read by
                // scrapes at any time.
                if let Some(cell) = lines.get(i / PER_LINE).map(|l| &l.0[i % PER_LINE]) {
                    cell.store(cell.load(Relaxed).wrapping_add(n), Relaxed);
                }
            }
            Writer::Shared(cells) => {
                if let Some(cell) = cells.get(i) {
                    cell.fetch_add(n, Relaxed);
                }
            }
        }
    }
}

impl ThreadCells {
    /// `width` counters at zero. Allocates the shared cells and one pointer per owned slot;
    /// each recording thread's block (`width` cells rounded up to whole cache lines) comes
    /// with its first add.
    pub fn new(width: usize) -> ThreadCells {
        ThreadCells {
            width,
            owned: (0..owned_slots()).map(|_| OnceLock::new()).collect(),
            shared: (0..width).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The calling thread's cells. Per request: a thread-local read and a pointer load (the
    /// first call on a thread allocates its block).
    #[inline]
    pub fn writer(&self) -> Writer<'_> {
        match self.owned.get(slot()) {
            Some(block) => Writer::Owned(block.get_or_init(|| {
                (0..self.width.div_ceil(PER_LINE))
                    .map(|_| Line::default())
                    .collect()
            })),
            None => Writer::Shared(&self.shared),
        }
    }

    /// Counter `i` summed over every thread. Scrape time.
    pub fn sum(&self, i: usize) -> u64 {
        let owned = self
            .owned
            .iter()
            .filter_map(OnceLock::get)
            .filter_map(|lines| lines.get(i / PER_LINE))
            .map(|line| line.0[i % PER_LINE].load(Relaxed));
        let shared = self.shared.get(i).map_or(0, |c| c.load(Relaxed));
        owned.fold(shared, u64::wrapping_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn counts_added_on_more_threads_than_owned_slots_sum_exactly() {
        let cells = Arc::new(ThreadCells::new(11));
        let threads = owned_slots() + 6;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let cells = cells.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        let w = cells.writer();
                        w.add(0, 1);
                        w.add(10, t as u64);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(cells.sum(0), threads as u64 * 10_000);
        let expected: u64 = (0..threads as u64).map(|t| t * 10_000).sum();
        assert_eq!(cells.sum(10), expected);
        assert_eq!(cells.sum(5), 0);
    }
}
