//! Waits between retries of a provider whose source fails: doubling from the provider's own
//! interval up to [`MAX_BACKOFF`] (or the interval, when that is longer), reset by a success.

use std::time::Duration;

/// The longest wait between two attempts while a source keeps failing.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Consecutive failures of one provider, and the wait they call for.
#[derive(Debug)]
pub(crate) struct Backoff {
    base: Duration,
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration) -> Backoff {
        Backoff { base, failures: 0 }
    }

    /// The source answered: the next wait is the base interval again.
    pub(crate) fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// The wait before the next attempt after one more failure: base x 2^(failures - 1).
    pub(crate) fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let factor = 1u32 << self.failures.saturating_sub(1).min(16);
        self.base
            .saturating_mul(factor)
            .min(MAX_BACKOFF.max(self.base))
    }

    /// Whether the last attempt failed (a recovery is logged once).
    pub(crate) fn is_failing(&self) -> bool {
        self.failures > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets_on_success() {
        let mut b = Backoff::new(Duration::from_secs(1));
        assert_eq!(b.failed(), Duration::from_secs(1));
        assert_eq!(b.failed(), Duration::from_secs(2));
        assert_eq!(b.failed(), Duration::from_secs(4));
        for _ in 0..20 {
            b.failed();
        }
        assert_eq!(b.failed(), MAX_BACKOFF);
        b.succeeded();
        assert!(!b.is_failing());
        assert_eq!(b.failed(), Duration::from_secs(1));
    }

    #[test]
    fn backoff_never_waits_less_than_a_long_interval() {
        let mut b = Backoff::new(Duration::from_secs(60));
        assert_eq!(b.failed(), Duration::from_secs(60));
        assert_eq!(b.failed(), Duration::from_secs(60));
    }
}
