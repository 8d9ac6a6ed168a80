//! UTC timestamps for the access log (CLF's `02/Jan/2006:15:04:05 -0700` and RFC 3339), without
//! a date crate. wasmgate logs in UTC: the offset is always `+0000` / `Z`.

use std::time::SystemTime;

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
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
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `2023-11-14T22:13:20.123456789Z` (fraction omitted when zero, as Go's RFC3339Nano).
pub fn rfc3339_utc(t: SystemTime) -> String {
    Clock::default().rfc3339(t).to_string()
}

/// The second last formatted, spelt both ways, kept by whoever formats many timestamps (each
/// access-log line buffer has one): a timestamp in the same second as the one before costs no
/// date arithmetic and no allocation, only its fraction's digits.
#[derive(Debug, Default)]
pub struct Clock {
    /// The Unix second `rfc` and `clf` spell, `None` before the first.
    second: Option<u64>,
    /// `2023-11-14T22:13:20`.
    rfc: String,
    /// `14/Nov/2023:22:13:20 +0000`.
    clf: String,
    /// The last full RFC 3339 timestamp (`rfc` with its fraction and `Z`).
    full: String,
}

impl Clock {
    /// Spells `t`'s second, unless it is the one spelt last; returns its nanoseconds.
    fn at(&mut self, t: SystemTime) -> u32 {
        let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        if self.second != Some(since.as_secs()) {
            let c = civil(t);
            let month = MONTHS[(c.month as usize).saturating_sub(1).min(11)];
            self.rfc = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                c.year, c.month, c.day, c.hour, c.minute, c.second
            );
            self.clf = format!(
                "{:02}/{month}/{:04}:{:02}:{:02}:{:02} +0000",
                c.day, c.year, c.hour, c.minute, c.second
            );
            self.second = Some(since.as_secs());
        }
        since.subsec_nanos()
    }

    /// `14/Nov/2023:22:13:20 +0000`.
    pub fn clf(&mut self, t: SystemTime) -> &str {
        self.at(t);
        &self.clf
    }

    /// `2023-11-14T22:13:20.123456789Z` (fraction omitted when zero, trailing zeros trimmed,
    /// as Go's RFC3339Nano).
    pub fn rfc3339(&mut self, t: SystemTime) -> &str {
        let nanos = self.at(t);
        self.full.clear();
        self.full.push_str(&self.rfc);
        if nanos != 0 {
            let mut digits = [b'0'; 9];
            let mut n = nanos;
            for d in digits.iter_mut().rev() {
                *d = b'0' + (n % 10) as u8;
                n /= 10;
            }
            let used = digits.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
            self.full.push('.');
            for &d in &digits[..used] {
                self.full.push(char::from(d));
            }
        }
        self.full.push('Z');
        &self.full
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(Clock::default().clf(t), "29/Feb/2000:00:00:00 +0000");
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 500_000_000);
        assert_eq!(rfc3339_utc(t), "2023-11-14T22:13:20.5Z");
    }

    #[test]
    fn a_clock_spells_each_instant_as_a_fresh_one_would() {
        let mut clock = Clock::default();
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        for (secs, nanos) in [
            (0, 0),
            (0, 1),
            (0, 120_000_000),
            (0, 999_999_999),
            (1, 10),
            (86_400, 0),
        ] {
            let t = base + Duration::new(secs, nanos);
            assert_eq!(clock.rfc3339(t), Clock::default().rfc3339(t));
            assert_eq!(clock.clf(t), Clock::default().clf(t));
        }
        let t = base + Duration::new(0, 1);
        assert_eq!(clock.rfc3339(t), "2023-11-14T22:13:20.000000001Z");
        assert_eq!(clock.clf(t), "14/Nov/2023:22:13:20 +0000");
    }
}
