//! basic-auth's reading of the host's monotonic clock for its verification cache.
//!
//! The clock is a host call (`monotonic-now`), and on a warm cache it was one of the plugin's
//! three crossings per request, serving nothing but the cache entries' expiry. The cache only
//! saves work: a cached answer is the answer the hash would give (the users cannot change
//! within an instance), so an entry used a few lookups past its expiry changes no response.
//! Hence the clock is read on the first lookup and then on every [`READ_EVERY`]th one, the
//! reading in between reused; a verification is recorded at a fresh reading (its TTL counts
//! from when the hash was checked, however long that took).
//!
//! Cost: one host call per [`READ_EVERY`] lookups instead of one per lookup.

use std::cell::Cell;

/// Lookups served by one reading of the clock.
pub const READ_EVERY: u32 = 16;

/// The last reading and how many more lookups it serves.
#[derive(Debug, Default)]
pub struct CoarseClock {
    reading: Cell<u64>,
    serves: Cell<u32>,
}

impl CoarseClock {
    /// The time for a cache lookup: `read()`'s answer on the first call and every
    /// [`READ_EVERY`]th after it, the last reading otherwise.
    pub fn for_lookup(&self, read: impl FnOnce() -> u64) -> u64 {
        match self.serves.get() {
            0 => self.fresh(read),
            left => {
                self.serves.set(left - 1);
                self.reading.get()
            }
        }
    }

    /// A fresh reading (to record a verification), which the next lookups reuse.
    pub fn fresh(&self, read: impl FnOnce() -> u64) -> u64 {
        let now = read();
        self.reading.set(now);
        self.serves.set(READ_EVERY - 1);
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_read_once_every_read_every_lookups_and_fresh_on_demand() {
        let clock = CoarseClock::default();
        let reads = Cell::new(0u64);
        let read = || {
            reads.set(reads.get() + 1);
            reads.get() * 1000
        };
        assert_eq!(
            clock.for_lookup(read),
            1000,
            "the first lookup reads the clock"
        );
        for _ in 1..READ_EVERY {
            assert_eq!(clock.for_lookup(read), 1000);
        }
        assert_eq!(reads.get(), 1);
        assert_eq!(
            clock.for_lookup(read),
            2000,
            "the next reading after READ_EVERY"
        );
        assert_eq!(clock.fresh(read), 3000, "a fresh reading always reads");
        assert_eq!(
            clock.for_lookup(read),
            3000,
            "and serves the lookups after it"
        );
        assert_eq!(reads.get(), 3);
    }
}
