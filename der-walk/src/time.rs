//! Certificate times: UTCTime and GeneralizedTime in the forms RFC 5280 requires, as Unix
//! seconds.

use super::{GENERALIZED_TIME, UTC_TIME};

/// A UTCTime (`YYMMDDHHMMSSZ`; years 1950..2049 as RFC 5280 says) or GeneralizedTime
/// (`YYYYMMDDHHMMSSZ`) as Unix seconds; `None` for another tag or form.
pub fn unix_seconds(tag: u8, text: &[u8]) -> Option<i64> {
    let text = core::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |at: usize, len: usize| text.get(at..at + len)?.parse::<i64>().ok();
    let (year, rest) = match (tag, text.len()) {
        (UTC_TIME, 12) => {
            let yy = num(0, 2)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, 2)
        }
        (GENERALIZED_TIME, 14) => (num(0, 4)?, 4),
        _ => return None,
    };
    let (month, day) = (num(rest, 2)?, num(rest + 2, 2)?);
    let (hour, minute, second) = (num(rest + 4, 2)?, num(rest + 6, 2)?, num(rest + 8, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_unix_seconds() {
        assert_eq!(unix_seconds(UTC_TIME, b"700101000000Z"), Some(0));
        assert_eq!(
            unix_seconds(UTC_TIME, b"491231235959Z"),
            Some(2_524_607_999)
        );
        assert_eq!(
            unix_seconds(GENERALIZED_TIME, b"20500101000000Z"),
            Some(2_524_608_000)
        );
        assert_eq!(
            unix_seconds(UTC_TIME, b"240229120000Z"),
            Some(1_709_208_000)
        );
        assert_eq!(unix_seconds(UTC_TIME, b"2402291200Z"), None);
        assert_eq!(unix_seconds(GENERALIZED_TIME, b"20240229120000+0100"), None);
        assert_eq!(unix_seconds(0x04, b"240229120000Z"), None);
    }
}
