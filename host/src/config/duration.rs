//! Traefik-style durations: Go `time.ParseDuration` strings (`"100ms"`, `"2s"`, `"1m30s"`,
//! `"1.5h"`; units ns, us/µs, ms, s, m, h) or a bare integer meaning seconds (`30` or `"30"`).
//! Negative durations are rejected.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, Visitor};

const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a duration string; the error is the reason only (the caller adds the value).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".to_string());
    }
    if text.starts_with('-') {
        return Err("must not be negative".to_string());
    }
    let text = text.strip_prefix('+').unwrap_or(text);
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| "too large".to_string());
    }
    let mut nanos: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if number.is_empty() {
            return Err(format!("expected a number before \"{unit}\""));
        }
        if unit.is_empty() {
            return Err("missing unit (ns, us, ms, s, m, h)".to_string());
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(format!("unknown unit \"{unit}\" (ns, us, ms, s, m, h)"));
        };
        nanos = nanos
            .checked_add(scaled(number, scale)?)
            .ok_or_else(|| "too large".to_string())?;
        rest = after;
    }
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| "too large".to_string())?;
    // The remainder of a division by 1e9 always fits in u32.
    let subsec = (nanos % 1_000_000_000) as u32;
    Ok(Duration::new(secs, subsec))
}

/// `number` (digits with an optional fraction) times `scale` nanoseconds, truncated.
fn scaled(number: &str, scale: u128) -> Result<u128, String> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(format!("invalid number \"{number}\""));
    }
    let too_large = || "too large".to_string();
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_large())?
    };
    let mut total = whole.checked_mul(scale).ok_or_else(too_large)?;
    let mut place = scale;
    for digit in fraction.bytes().take(20) {
        place /= 10;
        total += u128::from(digit - b'0') * place;
    }
    Ok(total)
}

/// A duration field in the raw config structs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DurationValue(pub(crate) Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DurationVisitor)
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = DurationValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"50ms\", \"1m30s\" or a number of seconds")
    }

    fn visit_u64<E: de::Error>(self, secs: u64) -> Result<DurationValue, E> {
        Ok(DurationValue(Duration::from_secs(secs)))
    }

    fn visit_i64<E: de::Error>(self, secs: i64) -> Result<DurationValue, E> {
        u64::try_from(secs)
            .map(|secs| DurationValue(Duration::from_secs(secs)))
            .map_err(|_| {
                E::custom(format_args!(
                    "invalid duration {secs}: must not be negative"
                ))
            })
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<DurationValue, E> {
        parse_duration(text)
            .map(DurationValue)
            .map_err(|reason| E::custom(format_args!("invalid duration \"{text}\": {reason}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn traefik_style_strings() {
        assert_eq!(parse_duration("100ms"), Ok(ms(100)));
        assert_eq!(parse_duration("2s"), Ok(ms(2_000)));
        assert_eq!(parse_duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse_duration("1.5h"), Ok(ms(5_400_000)));
        assert_eq!(parse_duration("2h45m0.5s"), Ok(ms(9_900_500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration(".5s"), Ok(ms(500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn bare_integer_means_seconds() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_bad_durations_with_reason() {
        assert_eq!(
            parse_duration("-1s"),
            Err("must not be negative".to_string())
        );
        assert_eq!(
            parse_duration("1h5"),
            Err("missing unit (ns, us, ms, s, m, h)".to_string())
        );
        assert_eq!(
            parse_duration("5x"),
            Err("unknown unit \"x\" (ns, us, ms, s, m, h)".to_string())
        );
        assert_eq!(
            parse_duration("ms"),
            Err("expected a number before \"ms\"".to_string())
        );
        assert_eq!(
            parse_duration("1.2.3s"),
            Err("invalid number \"1.2.3\"".to_string())
        );
        assert_eq!(parse_duration(""), Err("empty duration".to_string()));
        assert_eq!(
            parse_duration("99999999999999999999h"),
            Err("too large".to_string())
        );
    }
}
