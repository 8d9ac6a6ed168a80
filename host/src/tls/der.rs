//! A minimal walk of a DER X.509 certificate: the fields of its TBSCertificate that the
//! gateway reads (serial, validity, subject, extensions). Runs when a certificate is loaded
//! (config time, ACME issuance), never per handshake; costs a few dozen byte reads.

/// One DER element: its tag and contents, and the bytes after it.
pub(crate) fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The contents of the TBSCertificate fields read here.
pub(crate) struct TbsFields<'a> {
    /// serialNumber's contents (big-endian two's complement).
    pub(crate) serial: &'a [u8],
    /// Validity's contents: notBefore then notAfter.
    pub(crate) validity: &'a [u8],
    /// subject's contents (the RDN sequence).
    pub(crate) subject: &'a [u8],
    /// The contents of the `[3]` extensions wrapper (a SEQUENCE of Extension), when present.
    pub(crate) extensions: Option<&'a [u8]>,
}

pub(crate) const SEQUENCE: u8 = 0x30;

/// The fields of a DER certificate; `None` when it is not X.509 as expected.
pub(crate) fn tbs_fields(der: &[u8]) -> Option<TbsFields<'_>> {
    const VERSION: u8 = 0xa0;
    const EXTENSIONS: u8 = 0xa3;
    let (tag, certificate, _) = element(der)?;
    (tag == SEQUENCE).then_some(())?;
    let (tag, tbs, _) = element(certificate)?;
    (tag == SEQUENCE).then_some(())?;
    let mut rest = tbs;
    let (tag, _, after) = element(rest)?;
    if tag == VERSION {
        rest = after;
    }
    let (_, serial, rest) = element(rest)?;
    // signature, issuer
    let rest = element(element(rest)?.2)?.2;
    let (tag, validity, rest) = element(rest)?;
    (tag == SEQUENCE).then_some(())?;
    let (tag, subject, mut rest) = element(rest)?;
    (tag == SEQUENCE).then_some(())?;
    let mut extensions = None;
    while let Some((tag, contents, after)) = element(rest) {
        if tag == EXTENSIONS {
            let (tag, list, _) = element(contents)?;
            (tag == SEQUENCE).then_some(())?;
            extensions = Some(list);
        }
        rest = after;
    }
    Some(TbsFields {
        serial,
        validity,
        subject,
        extensions,
    })
}
