//! Round robin over a fixed server list: one relaxed atomic increment per pick, no lock.

use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl RoundRobin {
    pub fn new() -> Self {
        RoundRobin {
            next: AtomicUsize::new(0),
        }
    }

    /// Index of the next server among `len`; `None` when there are none.
    pub fn pick(&self, len: usize) -> Option<usize> {
        if len == 0 {
            return None;
        }
        Some(self.next.fetch_add(1, Ordering::Relaxed) % len)
    }
}

#[cfg(test)]
mod tests {
    use super::RoundRobin;

    #[test]
    fn picks_cycle_evenly() {
        let rr = RoundRobin::new();
        let mut counts = [0usize; 3];
        for _ in 0..300 {
            counts[rr.pick(3).unwrap()] += 1;
        }
        assert_eq!(counts, [100, 100, 100]);
        assert_eq!(rr.pick(0), None);
    }
}
