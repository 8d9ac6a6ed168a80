//! Coarse clock readings for what needs no more than the kernel tick's precision (1–10 ms):
//! the idle lists' stamps and expiry (`idle`), the `Date` header's second (`proxy::h1_date`),
//! the header read timeout's deadline (`proxy::h1_stream`, seconds long).
//!
//! Runs wherever those run, per request. Cost: one vDSO call that reads the kernel's last tick
//! (`CLOCK_MONOTONIC_COARSE`, `CLOCK_REALTIME_COARSE`), no counter read: a third to a half of
//! a precise reading (`Instant::now`, `SystemTime::now`), which on this path were five per
//! proxied request (bench/README, branch plainpath). A coarse reading lags the precise clock by
//! at most one tick.

use std::sync::OnceLock;
use std::time::Duration;

/// Monotonic time since an unspecified start (the same start for every caller), to the tick.
pub fn monotonic() -> Duration {
    read(libc::CLOCK_MONOTONIC_COARSE)
}

/// A tokio instant within a tick of now, for deadlines seconds away: the coarse monotonic
/// clock, placed on the precise one by a pair of readings taken once per process (both are
/// `CLOCK_MONOTONIC`, one at the tick, so they differ by less than a tick). Not for paused
/// tokio time (tests with `tokio::time::pause` see real time here).
pub fn instant() -> tokio::time::Instant {
    static ANCHOR: OnceLock<(std::time::Instant, Duration)> = OnceLock::new();
    let (precise, coarse) = *ANCHOR.get_or_init(|| (std::time::Instant::now(), monotonic()));
    tokio::time::Instant::from_std(precise + monotonic().saturating_sub(coarse))
}

/// Whole seconds since the Unix epoch, to the tick (0 if the clock is before the epoch).
pub fn unix_seconds() -> u64 {
    read(libc::CLOCK_REALTIME_COARSE).as_secs()
}

fn read(clock: libc::clockid_t) -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock ids are Linux's coarse clocks,
    // which `clock_gettime` always supports (a failure leaves `ts` zeroed).
    unsafe { libc::clock_gettime(clock, &mut ts) };
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_time_moves_forward_with_the_precise_clock() {
        let a = monotonic();
        std::thread::sleep(Duration::from_millis(30));
        let b = monotonic();
        assert!(b > a, "{a:?} then {b:?}");
    }

    /// Within a tick (4 ms at 250 Hz) of the precise clock; half a second allowed for a
    /// preempted test thread.
    #[test]
    fn a_coarse_instant_is_within_a_tick_of_now() {
        for _ in 0..3 {
            let coarse = instant();
            let precise = tokio::time::Instant::now();
            let apart = match coarse > precise {
                true => coarse - precise,
                false => precise - coarse,
            };
            assert!(apart < Duration::from_millis(500), "{apart:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn coarse_seconds_agree_with_the_system_clock() {
        let precise = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let coarse = unix_seconds();
        assert!(
            coarse + 1 >= precise && coarse <= precise + 1,
            "{coarse} {precise}"
        );
    }
}
