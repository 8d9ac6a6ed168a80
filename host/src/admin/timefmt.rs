//! Timestamps for the access log (CLF's `02/Jan/2006:15:04:05 -0700` and RFC 3339), without a
//! date crate: in UTC, or at the process's local offset (`StartLocal`, the JSON line's `time`,
//! and CLF's time when `StartUTC` is dropped), as Traefik writes them.

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime};

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
}

/// The calendar date and time of day `offset` seconds east of UTC at `t`.
fn civil(t: SystemTime, offset: i32) -> Civil {
    civil_at(since_epoch(t).as_secs(), offset)
}

/// [`civil`] of `secs` seconds since the epoch.
fn civil_at(secs: u64, offset: i32) -> Civil {
    let secs = shifted(secs, offset);
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
    }
}

/// `t` as time since the epoch (the epoch itself for an earlier `t`).
fn since_epoch(t: SystemTime) -> Duration {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default()
}

/// Seconds since the epoch moved by `offset` (clamped at the epoch).
fn shifted(secs: u64, offset: i32) -> u64 {
    secs.saturating_add_signed(i64::from(offset))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `14/Nov/2023:22:13:20 +0000` at `offset` seconds east of UTC (`-0700` as Go writes it).
pub fn clf_time(t: SystemTime, offset: i32) -> String {
    let c = civil(t, offset);
    let month = MONTHS[(c.month as usize).saturating_sub(1).min(11)];
    let sign = if offset < 0 { '-' } else { '+' };
    let (h, m) = (
        offset.unsigned_abs() / 3600,
        offset.unsigned_abs() % 3600 / 60,
    );
    format!(
        "{:02}/{month}/{:04}:{:02}:{:02}:{:02} {sign}{h:02}{m:02}",
        c.day, c.year, c.hour, c.minute, c.second
    )
}

/// `2023-11-14T22:13:20.123456789Z` (fraction omitted when zero, as Go's RFC3339Nano).
pub fn rfc3339_utc(t: SystemTime) -> String {
    rfc3339(t, 0, true)
}

/// RFC 3339 in whole seconds at the process's local offset: logrus' `time` field (Traefik's
/// JSON access log), as Go writes a local `time.Time` with `time.RFC3339`.
pub fn rfc3339_local_seconds(t: SystemTime) -> String {
    rfc3339(t, local_offset(t), false)
}

/// RFC 3339 at `offset` seconds east of UTC: Go's RFC3339Nano (`fraction`: nanoseconds
/// without trailing zeros) or RFC3339 (whole seconds); the zone `Z` at offset 0, else `+01:00`.
fn rfc3339(t: SystemTime, offset: i32, fraction: bool) -> String {
    let c = civil(t, offset);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
    .into_bytes();
    if fraction {
        push_fraction(&mut out, since_epoch(t));
    }
    push_zone(&mut out, offset);
    String::from_utf8(out).unwrap_or_default()
}

/// The wall clock at one monotonic instant: turns a request's arrival [`Instant`] into the
/// wall-clock time the access log prints, so the request path reads the clock once (the
/// `Instant` it needs for the duration). The access-log writer takes a new one each round.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    mono: Instant,
    /// The wall clock's reading at `mono`, as time since the epoch.
    epoch: Duration,
}

impl WallClock {
    /// Now (two clock reads).
    pub fn now() -> WallClock {
        WallClock::at(SystemTime::now(), Instant::now())
    }

    /// A wall clock that read `wall` at `mono`.
    pub fn at(wall: SystemTime, mono: Instant) -> WallClock {
        WallClock {
            mono,
            epoch: since_epoch(wall),
        }
    }

    /// The wall-clock time of `then`.
    pub fn wall(&self, then: Instant) -> SystemTime {
        SystemTime::UNIX_EPOCH + self.since_epoch(then)
    }

    /// The wall-clock time of `then` as time since the epoch (the epoch for a time before it):
    /// one clock subtraction, for the JSON line's times.
    pub fn since_epoch(&self, then: Instant) -> Duration {
        match self.mono.checked_duration_since(then) {
            Some(ago) => self.epoch.saturating_sub(ago),
            None => self.epoch + then.duration_since(self.mono),
        }
    }

    /// The wall-clock time this clock was read at: when the writer's round began.
    pub fn read_at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + self.epoch
    }
}

thread_local! {
    /// The last two whole seconds formatted on this thread (most recent first) and their
    /// `YYYY-MM-DDTHH:MM:SS` text, keyed by the seconds as shifted to their offset: the lines
    /// of one second share them and format only their fraction and zone. Two, because a line
    /// writes its start in UTC and at the local offset.
    static LAST_SECONDS: Cell<[(u64, [u8; 19]); 2]> =
        const { Cell::new([(u64::MAX, [0; 19]); 2]) };
    /// The second the local offset was last asked for, and the offset.
    static LOCAL_OFFSET: Cell<(u64, i32)> = const { Cell::new((u64::MAX, 0)) };
}

/// The process's offset from UTC at `t`, in seconds east: the local time zone as the C library
/// reads it (`TZ`, else `/etc/localtime`; UTC where neither says), as Go's `time.Local`. Asked
/// of `localtime_r` once per second of `t` on each thread (the offset moves only at a zone's
/// transitions); a thread-local comparison otherwise.
pub fn local_offset(t: SystemTime) -> i32 {
    local_offset_at(since_epoch(t).as_secs())
}

/// [`local_offset`] at `secs` seconds since the epoch.
pub fn local_offset_at(secs: u64) -> i32 {
    let (last, offset) = LOCAL_OFFSET.get();
    if last == secs {
        return offset;
    }
    let offset = local_offset_of(secs);
    LOCAL_OFFSET.set((secs, offset));
    offset
}

fn local_offset_of(secs: u64) -> i32 {
    let Ok(at) = libc::time_t::try_from(secs) else {
        return 0;
    };
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: `localtime_r` writes the broken-down time into `tm`, memory this frame owns and
    // zeroed (a valid `libc::tm`), and reads `at`; it is thread-safe. A null return leaves `tm`
    // as it was and is read as UTC.
    let done = unsafe { libc::localtime_r(&at, tm.as_mut_ptr()) };
    if done.is_null() {
        return 0;
    }
    // SAFETY: zeroed, then possibly filled by `localtime_r`: initialised either way.
    let tm = unsafe { tm.assume_init() };
    i32::try_from(tm.tm_gmtoff).unwrap_or(0)
}

/// Go's RFC3339Nano at `offset` seconds east of UTC of the time `since` the epoch appended to
/// `out`, as [`rfc3339`] with the fraction. Runs on the access-log writer for every line's
/// start: the date and time of day are formatted once per second and offset.
pub fn push_rfc3339(out: &mut Vec<u8>, since: Duration, offset: i32) {
    let secs = shifted(since.as_secs(), offset);
    let [newest, older] = LAST_SECONDS.get();
    let text = if newest.0 == secs {
        newest.1
    } else if older.0 == secs {
        LAST_SECONDS.set([older, newest]);
        older.1
    } else {
        let Some(text) = date_time(since.as_secs(), offset) else {
            let t = SystemTime::UNIX_EPOCH + since;
            out.extend_from_slice(rfc3339(t, offset, true).as_bytes());
            return;
        };
        LAST_SECONDS.set([(secs, text), newest]);
        text
    };
    out.extend_from_slice(&text);
    push_fraction(out, since);
    push_zone(out, offset);
}

/// `YYYY-MM-DDTHH:MM:SS` of `secs` since the epoch at `offset`; `None` for a year without
/// four digits.
fn date_time(secs: u64, offset: i32) -> Option<[u8; 19]> {
    let c = civil_at(secs, offset);
    if !(0..=9999).contains(&c.year) {
        return None;
    }
    let mut text = [0u8; 19];
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
    Some(text)
}

/// `Z` at offset 0, else `+01:00` / `-05:30` (Go's `Z07:00`).
fn push_zone(out: &mut Vec<u8>, offset: i32) {
    if offset == 0 {
        out.push(b'Z');
        return;
    }
    let minutes = offset.unsigned_abs() / 60;
    let mut zone = *b"+00:00";
    if offset < 0 {
        zone[0] = b'-';
    }
    push_digits(&mut zone[1..3], u64::from(minutes / 60));
    push_digits(&mut zone[4..6], u64::from(minutes % 60));
    out.extend_from_slice(&zone);
}

/// `n`'s last `into.len()` decimal digits, zero-padded.
fn push_digits(into: &mut [u8], mut n: u64) {
    for d in into.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// `"00"` to `"99"`, so that numbers are spelt two digits per division.
const DIGIT_PAIRS: [u8; 200] = {
    let mut pairs = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        pairs[2 * i] = b'0' + (i / 10) as u8;
        pairs[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    pairs
};

/// `n`'s decimal digits at the end of `digits` (which has room for them: 20 bytes for any
/// `u64`); where they start. Two digits per step (a duration in nanoseconds has eight or nine).
pub(super) fn spell_u64(digits: &mut [u8], mut n: u64) -> usize {
    let mut at = digits.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        digits[at] = b'0' + n as u8;
    }
    at
}

/// `.123456789` without trailing zeros; nothing for a whole second (Go's RFC3339Nano).
fn push_fraction(out: &mut Vec<u8>, since: Duration) {
    let nanos = since.subsec_nanos();
    if nanos == 0 {
        return;
    }
    // `.` and nine digits (the nanoseconds' own after leading zeros); then the trailing zeros
    // cut.
    let mut digits = *b".000000000";
    if let Some(nine) = digits.get_mut(1..) {
        spell_u64(nine, u64::from(nanos));
    }
    let len = digits.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
    out.extend_from_slice(&digits[..len]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(clf_time(t, 0), "29/Feb/2000:00:00:00 +0000");
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000);
        assert_eq!(rfc3339_utc(t), "2023-11-14T22:13:20.5Z");
    }

    /// `StartLocal`, `time` and CLF's local time are written as Go writes a `time.Local`:
    /// the wall time at the offset, and the offset as `+01:00` (RFC 3339) or `+0100` (CLF).
    #[test]
    fn local_times_carry_their_offset_as_go_writes_it() {
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 120_000_000);
        assert_eq!(rfc3339(t, 3600, true), "2023-11-14T23:13:20.12+01:00");
        assert_eq!(
            rfc3339(t, -5 * 3600 - 1800, false),
            "2023-11-14T16:43:20-05:30"
        );
        assert_eq!(rfc3339(t, 0, false), "2023-11-14T22:13:20Z");
        assert_eq!(clf_time(t, 9 * 3600), "15/Nov/2023:07:13:20 +0900");
        assert_eq!(clf_time(t, -8 * 3600), "14/Nov/2023:14:13:20 -0800");
        // Alternating zones on one thread, as a line's StartLocal and StartUTC do.
        for offset in [3600, 0, 3600, -1800, 0] {
            let mut out = Vec::new();
            push_rfc3339(&mut out, since_epoch(t), offset);
            assert_eq!(
                String::from_utf8_lossy(&out),
                rfc3339(t, offset, true),
                "{offset}"
            );
        }
    }

    /// The test process runs in whatever zone the machine has; whichever it is, the offset
    /// asked twice in one second is the same and is whole minutes within a day.
    #[test]
    fn the_local_offset_is_asked_once_per_second_and_is_a_real_offset() {
        let now = SystemTime::now();
        let first = local_offset(now);
        assert_eq!(local_offset(now), first);
        assert_eq!(first % 60, 0, "{first}");
        assert!(first.abs() < 86_400, "{first}");
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
            push_rfc3339(&mut out, since_epoch(t), 0);
            assert_eq!(String::from_utf8_lossy(&out), rfc3339_utc(t));
        }
    }

    #[test]
    fn fractions_are_nine_digits_without_trailing_zeros_as_go_writes_them() {
        for nanos in [
            1,
            9,
            10,
            99,
            100,
            120_000_000,
            123_456_789,
            500_000_000,
            999_999_999,
        ] {
            let mut out = Vec::new();
            push_fraction(&mut out, Duration::new(7, nanos));
            let want = format!(".{nanos:09}");
            assert_eq!(String::from_utf8_lossy(&out), want.trim_end_matches('0'));
        }
        let mut out = Vec::new();
        push_fraction(&mut out, Duration::from_secs(7));
        assert!(out.is_empty());
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
        assert_eq!(clock.since_epoch(mono), Duration::from_secs(998));
        assert_eq!(
            clock.since_epoch(mono + Duration::from_secs(3)),
            Duration::from_secs(1_001)
        );
        let early = WallClock::at(SystemTime::UNIX_EPOCH, mono + Duration::from_secs(2));
        assert_eq!(early.since_epoch(mono), Duration::ZERO);
    }
}
