//! When a certificate is renewed, and how failed orders are retried. Pure arithmetic, called
//! by a domain set's task after each issuance and at its start.

use std::time::{Duration, SystemTime};

use super::validity::Validity;

/// First wait after a failed order; doubled after each failure up to [`LONGEST_RETRY`].
pub(crate) const FIRST_RETRY: Duration = Duration::from_secs(2);
/// Longest wait between two failed orders.
pub(crate) const LONGEST_RETRY: Duration = Duration::from_secs(3600);
/// Longest single sleep of a task waiting for a renewal (it checks again after it).
pub(crate) const LONGEST_SLEEP: Duration = Duration::from_secs(86_400);

const DAY: u64 = 86_400;

/// How long before `notAfter` a certificate is renewed, from `certificatesDuration` (Traefik's
/// table: 4 months for a year or more, 30 days for 90 days, 1 day for 7 days, 6 hours for a
/// day, else 20 minutes).
pub(crate) fn renew_before(certificates_duration: Duration) -> Duration {
    let secs = certificates_duration.as_secs();
    Duration::from_secs(match secs {
        s if s >= 365 * DAY => 120 * DAY,
        s if s >= 90 * DAY => 30 * DAY,
        s if s >= 7 * DAY => DAY,
        s if s >= DAY => 6 * 3600,
        _ => 20 * 60,
    })
}

/// When a certificate valid over `validity` is renewed: [`renew_before`] its expiry, but never
/// later than two thirds into its life (a CA issuing shorter certificates than
/// `certificatesDuration` says would otherwise be asked again at once, forever).
pub(crate) fn renew_at(validity: Validity, certificates_duration: Duration) -> SystemTime {
    let lifetime = validity
        .not_after
        .duration_since(validity.not_before)
        .unwrap_or_default();
    let before = renew_before(certificates_duration).min(lifetime / 3);
    validity
        .not_after
        .checked_sub(before)
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The wait after a failure that waited `previous`.
pub(crate) fn next_retry(previous: Duration) -> Duration {
    (previous * 2).min(LONGEST_RETRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ninety_day_certificates_renew_thirty_days_before_expiry() {
        let ninety = Duration::from_secs(90 * DAY);
        assert_eq!(renew_before(ninety), Duration::from_secs(30 * DAY));
        assert_eq!(
            renew_before(Duration::from_secs(3600)),
            Duration::from_secs(1200)
        );
        let day = |n: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(n * DAY);
        let validity = Validity {
            not_before: day(10),
            not_after: day(100),
        };
        assert_eq!(renew_at(validity, ninety), day(70));
    }

    #[test]
    fn certificates_shorter_than_configured_renew_two_thirds_into_their_life() {
        let at = |n: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(n);
        let validity = Validity {
            not_before: at(0),
            not_after: at(6 * DAY),
        };
        assert_eq!(
            renew_at(validity, Duration::from_secs(90 * DAY)),
            at(4 * DAY)
        );
    }

    #[test]
    fn retries_back_off_up_to_an_hour() {
        assert_eq!(next_retry(FIRST_RETRY), Duration::from_secs(4));
        assert_eq!(next_retry(Duration::from_secs(3000)), LONGEST_RETRY);
    }
}
