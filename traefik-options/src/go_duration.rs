//! Go's `time.Duration` text: parsed for `rateLimit.period` and `retry.initialInterval`, written for
//! `rateLimit`'s `X-Retry-In`.

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

/// Go's `Duration.String()`: `9.999ms`, `1.5s`, `1m0.5s`, `0s`.
pub fn format(ns: u64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{}µs", fraction(ns, 1_000));
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", fraction(ns, 1_000_000));
    }
    let (hours, rest) = (ns / 3_600_000_000_000, ns % 3_600_000_000_000);
    let (minutes, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
    let seconds = fraction(rest, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `value / unit` with its fractional digits, trailing zeros dropped.
fn fraction(value: u64, unit: u64) -> String {
    let whole = value / unit;
    let frac = value % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}
