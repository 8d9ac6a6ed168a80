//! Byte sizes: an integer number of bytes, or a string with a unit. Binary units `KiB`, `MiB`,
//! `GiB` are powers of 1024; decimal units `KB`, `MB`, `GB` are powers of 1000; `B` is bytes.
//! Units are case-sensitive, the number is a non-negative integer, a space before the unit is
//! allowed (`"64 KiB"`).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

const UNITS: &[(&str, u64)] = &[
    ("", 1),
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
];

/// Parses a size string; the error is the reason only (the caller adds the value).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits_len = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_len);
    let unit = unit.trim_start();
    if number.is_empty() {
        return Err("expected a whole number of bytes, optionally with a unit".to_string());
    }
    let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(format!(
            "unknown unit \"{unit}\" (B, KiB, MiB, GiB, KB, MB, GB)"
        ));
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| "too large".to_string())
}

/// A size field in the raw config structs, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SizeValue(pub(crate) u64);

impl<'de> Deserialize<'de> for SizeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SizeVisitor)
    }
}

struct SizeVisitor;

impl Visitor<'_> for SizeVisitor {
    type Value = SizeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a size such as 65536, \"64KiB\" or \"16MiB\"")
    }

    fn visit_u64<E: de::Error>(self, bytes: u64) -> Result<SizeValue, E> {
        Ok(SizeValue(bytes))
    }

    fn visit_i64<E: de::Error>(self, bytes: i64) -> Result<SizeValue, E> {
        u64::try_from(bytes)
            .map(SizeValue)
            .map_err(|_| E::custom(format_args!("invalid size {bytes}: must not be negative")))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<SizeValue, E> {
        parse_size(text)
            .map(SizeValue)
            .map_err(|reason| E::custom(format_args!("invalid size \"{text}\": {reason}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_decimal_units() {
        assert_eq!(parse_size("64KiB"), Ok(65_536));
        assert_eq!(parse_size("16MiB"), Ok(16 * 1024 * 1024));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("64 KiB"), Ok(65_536));
        assert_eq!(parse_size("2KB"), Ok(2_000));
        assert_eq!(parse_size("3MB"), Ok(3_000_000));
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size("4096"), Ok(4096));
    }

    #[test]
    fn rejects_bad_sizes_with_reason() {
        assert_eq!(
            parse_size("16mb"),
            Err("unknown unit \"mb\" (B, KiB, MiB, GiB, KB, MB, GB)".to_string())
        );
        assert_eq!(
            parse_size("1.5MiB"),
            Err("unknown unit \".5MiB\" (B, KiB, MiB, GiB, KB, MB, GB)".to_string())
        );
        assert_eq!(
            parse_size("MiB"),
            Err("expected a whole number of bytes, optionally with a unit".to_string())
        );
        assert_eq!(parse_size("99999999999GiB"), Err("too large".to_string()));
    }
}
