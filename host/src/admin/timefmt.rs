//! UTC timestamps for the access log (CLF's `02/Jan/2006:15:04:05 -0700` and RFC 3339), without
//! a date crate. wasmgate logs in UTC: the offset is always `+0000` / `Z`.

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime};

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    nanos: u32,
}

fn civil(t: SystemTime) -> Civil {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
        nanos: since.subsec_nanos(),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `14/Nov/2023:22:13:20 +0000`.
pub fn clf_time(t: SystemTime) -> String {
    let c = civil(t);
    let month = MONTHS[(c.month as usize).saturating_sub(1).min(11)];
    format!(
        "{:02}/{month}/{:04}:{:02}:{:02}:{:02} +0000",
        c.day, c.year, c.hour, c.minute, c.second
    )
}

/// `2023-11-14T22:13:20.123456789Z` (fraction omitted when zero, as Go's RFC3339Nano).
pub fn rfc3339_utc(t: SystemTime) -> String {
    let c = civil(t);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
    if c.nanos != 0 {
        let frac = format!("{:09}", c.nanos);
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// The wall clock at one monotonic instant: turns a request's arrival [`Instant`] into the
/// wall-clock time the access log prints, so the request path reads the clock once (the
/// `Instant` it needs for the duration). The access-log writer takes a new one each round.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    wall: SystemTime,
    mono: Instant,
}

impl WallClock {
    /// Now (two clock reads).
    pub fn now() -> WallClock {
        WallClock {
            wall: SystemTime::now(),
            mono: Instant::now(),
        }
    }

    /// A wall clock that read `wall` at `mono` (tests).
    pub fn at(wall: SystemTime, mono: Instant) -> WallClock {
        WallClock { wall, mono }
    }

    /// The wall-clock time of `then`.
    pub fn wall(&self, then: Instant) -> SystemTime {
        match self.mono.checked_duration_since(then) {
            Some(ago) => self.wall.checked_sub(ago).unwrap_or(self.wall),
            None => self.wall + then.duration_since(self.mono),
        }
    }
}

thread_local! {
    /// The whole second last formatted on this thread and its `YYYY-MM-DDTHH:MM:SS` text:
    /// access-log lines of one second share it and format only their fraction.
    static LAST_SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
}

/// `2023-11-14T22:13:20.123456789Z` (as [`rfc3339_utc`]) appended to `out`. Runs on the
/// access-log writer for every line: the date and time of day are formatted once per second.
pub fn push_rfc3339_utc(out: &mut Vec<u8>, t: SystemTime) {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (last, mut text) = LAST_SECOND.get();
    if last != secs {
        let c = civil(t);
        if !(0..=9999).contains(&c.year) {
            out.extend_from_slice(rfc3339_utc(t).as_bytes());
            return;
        }
        let mut at = 0;
        for (n, width) in [
            (u64::try_from(c.year).unwrap_or(0), 4),
            (u64::from(c.month), 2),
            (u64::from(c.day), 2),
            (c.hour, 2),
            (c.minute, 2),
            (c.second, 2),
        ] {
            if at > 0 {
                text[at] = match at {
                    4 | 7 => b'-',
                    10 => b'T',
                    _ => b':',
                };
                at += 1;
            }
            push_digits(&mut text[at..at + width], n);
            at += width;
        }
        LAST_SECOND.set((secs, text));
    }
    out.extend_from_slice(&text);
    push_fraction(out, since);
    out.push(b'Z');
}

/// `n`'s last `into.len()` decimal digits, zero-padded.
fn push_digits(into: &mut [u8], mut n: u64) {
    for d in into.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// `.123456789` without trailing zeros; nothing for a whole second (Go's RFC3339Nano).
fn push_fraction(out: &mut Vec<u8>, since: Duration) {
    let nanos = since.subsec_nanos();
    if nanos == 0 {
        return;
    }
    let mut digits = [0u8; 9];
    push_digits(&mut digits, u64::from(nanos));
    let len = digits.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
    out.push(b'.');
    out.extend_from_slice(&digits[..len]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(clf_time(t), "29/Feb/2000:00:00:00 +0000");
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000);
        assert_eq!(rfc3339_utc(t), "2023-11-14T22:13:20.5Z");
    }

    #[test]
    fn the_cached_formatter_agrees_with_the_plain_one() {
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        for t in [
            base,
            base + Duration::from_nanos(1),
            base + Duration::from_nanos(123_456_780),
            base + Duration::from_millis(999),
            base + Duration::from_secs(1),
            SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400),
            SystemTime::UNIX_EPOCH + Duration::from_secs(400_000_000_000),
        ] {
            let mut out = Vec::new();
            push_rfc3339_utc(&mut out, t);
            assert_eq!(String::from_utf8_lossy(&out), rfc3339_utc(t));
        }
    }

    #[test]
    fn a_wall_clock_maps_instants_before_and_after_it() {
        let mono = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let clock = WallClock::at(wall, mono + Duration::from_secs(2));
        assert_eq!(clock.wall(mono), wall - Duration::from_secs(2));
        assert_eq!(
            clock.wall(mono + Duration::from_secs(3)),
            wall + Duration::from_secs(1)
        );
    }
}
