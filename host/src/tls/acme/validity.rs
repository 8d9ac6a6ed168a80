//! When a certificate is valid: its `notBefore` and `notAfter`, read from the DER with a minimal walk of the
//! X.509 structure (`tls::der`). Runs when a stored certificate is
//! loaded and after each issuance; costs a few dozen byte reads.

use std::time::{Duration, SystemTime};

use crate::tls::der::{element, tbs_fields};

/// The validity period of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    pub(crate) not_before: SystemTime,
    pub(crate) not_after: SystemTime,
}

/// The validity of a DER certificate; `None` when the structure is not X.509 as expected.
pub(crate) fn validity(der: &[u8]) -> Option<Validity> {
    let fields = tbs_fields(der)?;
    let (tag, time, after_not_before) = element(fields.validity)?;
    let not_before = parse_time(tag, time)?;
    let (tag, time, _) = element(after_not_before)?;
    let not_after = parse_time(tag, time)?;
    Some(Validity {
        not_before,
        not_after,
    })
}

/// UTCTime (`YYMMDDHHMMSSZ`, tag 0x17) or GeneralizedTime (`YYYYMMDDHHMMSSZ`, tag 0x18).
fn parse_time(tag: u8, text: &[u8]) -> Option<SystemTime> {
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i64 = text.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        0x18 => (text.get(..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    let field = |at: usize| -> Option<i64> { rest.get(at..at + 2)?.parse().ok() };
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    let seconds = u64::try_from(seconds).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
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
    fn the_validity_of_a_generated_certificate_is_read() {
        let mut params = rcgen::CertificateParams::new(vec!["a.test".to_string()]).expect("params");
        params.not_after = rcgen::date_time_ymd(2031, 7, 9);
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        let expected = SystemTime::UNIX_EPOCH + Duration::from_secs(1_941_321_600);
        let read = validity(cert.der()).map(|v| v.not_after);
        assert_eq!(read, Some(expected));
        assert_eq!(validity(b"\x30\x03\x02\x01"), None);
    }
}
