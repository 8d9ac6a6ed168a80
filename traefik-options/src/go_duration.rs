//! Go's `time.ParseDuration`, as Traefik reads a duration option written as text. Config time.

/// Parses a Go duration (`1s`, `1m30s`, `1.5h`, `250ms`) into nanoseconds; no sign.
pub fn parse(text: &str) -> Result<u64, String> {
    if text == "0" {
        return Ok(0);
    }
    if text.starts_with('-') {
        return Err(format!("negative value not valid: {text}"));
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.is_empty() {
        return Err(format!("invalid duration {text:?}"));
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("missing unit in duration {text:?}"))?;
        let number: f64 = rest[..number_len]
            .parse()
            .map_err(|_| format!("invalid duration {text:?}"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            unit => return Err(format!("unknown unit {unit:?} in duration {text:?}")),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Ok(total as u64)
}
