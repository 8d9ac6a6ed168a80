//! Smooth weighted round robin (nginx's algorithm), precomputed: the whole cycle of picks is
//! laid out once at config time, and each pick is one relaxed atomic increment plus a table
//! read, with no lock. Over a cycle every target gets exactly its weight's share, interleaved
//! as evenly as nginx's SWRR does (weights 3:1 give `a a b a`, never a burst of one target).
//!
//! Targets that are unavailable (health) are skipped: their slots are consumed and the next
//! slot is taken, so the available targets keep their weights' proportions.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Longest cycle kept; larger weight sums are scaled down to fit (each weight above 0 keeps at
/// least one slot), which costs some precision in the proportions.
pub const MAX_CYCLE: u64 = 4096;

#[derive(Debug)]
pub struct SmoothWeighted {
    /// Target index of each slot of one cycle.
    cycle: Box<[u32]>,
    next: AtomicUsize,
}

impl SmoothWeighted {
    /// Lays out the cycle for `weights` (index = target). Weight 0 targets are never picked.
    /// Runs at config time; costs O(cycle length x targets).
    pub fn new(weights: &[u32]) -> Self {
        let weights = reduce(weights);
        let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
        let mut current = vec![0i64; weights.len()];
        let mut cycle = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        for _ in 0..total {
            let mut best: Option<usize> = None;
            for (i, &w) in weights.iter().enumerate() {
                if w == 0 {
                    continue;
                }
                current[i] += i64::from(w);
                if best.is_none_or(|b| current[i] > current[b]) {
                    best = Some(i);
                }
            }
            if let Some(b) = best {
                current[b] -= total;
                cycle.push(b as u32);
            }
        }
        SmoothWeighted {
            cycle: cycle.into_boxed_slice(),
            next: AtomicUsize::new(0),
        }
    }

    /// The next target for which `available` holds, or `None` if there is none. Per pick: one
    /// atomic increment, plus one per skipped slot; none for a cycle of one slot (a service
    /// with one server, or one with weight), whose pick is always that slot: every worker
    /// writing the one shared counter per request would pass its cache line from core to core.
    pub fn pick(&self, available: impl Fn(usize) -> bool) -> Option<usize> {
        let len = self.cycle.len();
        if len == 0 {
            return None;
        }
        if len == 1 {
            let only = self.cycle[0] as usize;
            return available(only).then_some(only);
        }
        for _ in 0..len {
            let slot = self.next.fetch_add(1, Ordering::Relaxed) % len;
            let target = self.cycle[slot] as usize;
            if available(target) {
                return Some(target);
            }
        }
        // Every slot we drew was unavailable (other threads may have drawn the rest).
        self.cycle
            .iter()
            .map(|&t| t as usize)
            .find(|&t| available(t))
    }

    /// Slots in one cycle (the sum of the reduced weights).
    pub fn cycle_len(&self) -> usize {
        self.cycle.len()
    }
}

/// Divides by the common divisor, then scales down to at most [`MAX_CYCLE`] slots.
fn reduce(weights: &[u32]) -> Vec<u32> {
    let divisor = weights
        .iter()
        .copied()
        .filter(|&w| w > 0)
        .fold(0, gcd)
        .max(1);
    let reduced: Vec<u32> = weights.iter().map(|w| w / divisor).collect();
    let total: u64 = reduced.iter().map(|&w| u64::from(w)).sum();
    if total <= MAX_CYCLE {
        return reduced;
    }
    reduced
        .iter()
        .map(|&w| match w {
            0 => 0,
            // w * MAX_CYCLE / total < w <= u32::MAX, so the conversion cannot fail.
            w => u32::try_from(u64::from(w) * MAX_CYCLE / total)
                .unwrap_or(u32::MAX)
                .max(1),
        })
        .collect()
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picks(s: &SmoothWeighted, n: usize) -> Vec<usize> {
        (0..n).map(|_| s.pick(|_| true).unwrap()).collect()
    }

    #[test]
    fn three_to_one_interleaves_like_nginx() {
        let s = SmoothWeighted::new(&[3, 1]);
        assert_eq!(picks(&s, 8), [0, 0, 1, 0, 0, 0, 1, 0]);
    }

    #[test]
    fn equal_weights_are_round_robin_and_common_divisors_shrink_the_cycle() {
        let s = SmoothWeighted::new(&[5, 5, 5]);
        assert_eq!(s.cycle_len(), 3);
        assert_eq!(picks(&s, 6), [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn nginx_reference_sequence_for_5_1_1() {
        // The sequence nginx documents for weights a=5, b=1, c=1.
        let s = SmoothWeighted::new(&[5, 1, 1]);
        assert_eq!(picks(&s, 7), [0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn unavailable_targets_are_skipped_and_the_rest_keep_their_proportions() {
        let s = SmoothWeighted::new(&[2, 1, 1]);
        let mut counts = [0usize; 3];
        for _ in 0..300 {
            counts[s.pick(|t| t != 1).unwrap()] += 1;
        }
        assert_eq!(counts, [200, 0, 100]);
        assert_eq!(s.pick(|_| false), None);
    }

    #[test]
    fn zero_weights_are_never_picked_and_huge_weights_are_scaled() {
        let s = SmoothWeighted::new(&[0, 1]);
        assert_eq!(picks(&s, 3), [1, 1, 1]);
        let s = SmoothWeighted::new(&[u32::MAX, 1]);
        assert!(s.cycle_len() as u64 <= MAX_CYCLE + 1);
        let cycle = picks(&s, s.cycle_len());
        assert_eq!(cycle.iter().filter(|&&t| t == 1).count(), 1);
        assert_eq!(SmoothWeighted::new(&[]).pick(|_| true), None);
    }

    #[test]
    fn a_one_slot_cycle_is_picked_without_writing_the_shared_counter() {
        for weights in [&[1][..], &[5], &[0, 3, 0]] {
            let s = SmoothWeighted::new(weights);
            assert_eq!(s.cycle_len(), 1);
            let only = weights.iter().position(|&w| w > 0);
            for _ in 0..3 {
                assert_eq!(s.pick(|_| true), only);
            }
            assert_eq!(s.pick(|_| false), None);
            assert_eq!(s.next.load(Ordering::Relaxed), 0, "{weights:?}");
        }
    }
}
