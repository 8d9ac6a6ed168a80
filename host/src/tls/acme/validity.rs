//! When a certificate is valid: its `notBefore` and `notAfter`, read from the DER with a minimal walk of the
//! X.509 structure (crate `der-walk`). Runs when a stored certificate is
//! loaded and after each issuance; costs a few dozen byte reads.

use std::time::{Duration, SystemTime};

use der_walk::{tbs_fields, validity_seconds};

/// The validity period of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    pub(crate) not_before: SystemTime,
    pub(crate) not_after: SystemTime,
}

/// The validity of a DER certificate; `None` when the structure is not X.509 as expected (or
/// a time is before 1970).
pub(crate) fn validity(der: &[u8]) -> Option<Validity> {
    let fields = tbs_fields(der)?;
    let (not_before, not_after) = validity_seconds(fields.validity)?;
    let at = |seconds: i64| {
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).ok()?))
    };
    Some(Validity {
        not_before: at(not_before)?,
        not_after: at(not_after)?,
    })
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
