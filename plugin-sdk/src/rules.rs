//! The rules the host applies to edits and replies, for plugins that check input up front
//! (config validation) and for the native test doubles.
//!
//! Each check is a pure function over bytes, costs one pass over its input, and matches what the
//! gateway refuses, so a plugin can turn a bad configured header into a config error at load time
//! instead of a refused edit at request time.
//!
//! The limits are the host's own: both take them from the `plugin-contract` crate, whose test
//! also holds `wit/plugin.wit`'s text to them.

use crate::{EditError, Reply};

/// The contract's limits: [`MAX_STATE_BYTES`] (per-request scratch kept with
/// [`Request::set_state`](crate::Request::set_state)), [`MAX_HEADER_VALUE_BYTES`] (a header value
/// in an edit or a reply), [`DEFAULT_MAX_REPLY_BODY`] and [`DEFAULT_MAX_HEADERS`] (the gateway's
/// default `maxReplyBodySize` and `maxHeaders` budgets), [`STATUS_RANGE`] (200..=599: a plugin
/// cannot produce an interim 1xx).
pub use plugin_contract::{
    DEFAULT_MAX_HEADERS, DEFAULT_MAX_REPLY_BODY, MAX_HEADER_VALUE_BYTES, MAX_STATE_BYTES,
    STATUS_RANGE,
};

/// A header name must be a non-empty RFC 9110 token (`!#$%&'*+-.^_`|~`, digits, letters).
///
/// Upper-case letters are accepted: the host stores names lower-case.
pub fn check_header_name(name: &str) -> Result<(), EditError> {
    if !name.is_empty() && name.bytes().all(is_tchar) {
        Ok(())
    } else {
        Err(EditError::InvalidHeaderName)
    }
}

/// A header value may hold visible ASCII, space, horizontal tab and bytes 0x80..=0xFF; NUL, CR,
/// LF, the other control bytes and DEL are refused (the `http` crate's rule, which the host uses),
/// and a value over [`MAX_HEADER_VALUE_BYTES`] is [`EditError::LimitExceeded`].
pub fn check_header_value(value: &[u8]) -> Result<(), EditError> {
    if value.len() > MAX_HEADER_VALUE_BYTES {
        return Err(EditError::LimitExceeded);
    }
    if value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
    {
        Ok(())
    } else {
        Err(EditError::InvalidHeaderValue)
    }
}

/// A status a plugin sets or replies with must be in [`STATUS_RANGE`] (200..=599).
pub fn check_status(status: u16) -> Result<(), EditError> {
    if STATUS_RANGE.contains(&status) {
        Ok(())
    } else {
        Err(EditError::Invalid(format!(
            "status {status} is outside {}..={}",
            STATUS_RANGE.start(),
            STATUS_RANGE.end()
        )))
    }
}

/// A path must start with `/`, carry no `?` or `#`, and hold only bytes a URI path may hold
/// unencoded (the `http` crate's rule): no space, control bytes, `<`, `>`, `` ` `` or DEL.
/// Percent-encode anything else. Non-ASCII UTF-8 is accepted.
pub fn check_path(path: &str) -> Result<(), EditError> {
    if !path.starts_with('/') {
        return Err(EditError::Invalid(format!(
            "path {path:?} does not start with '/'"
        )));
    }
    match path.bytes().find(|&b| !is_path_byte(b)) {
        Some(b) => Err(EditError::Invalid(format!(
            "path {path:?} contains byte 0x{b:02x}"
        ))),
        None => Ok(()),
    }
}

/// A query (without the leading `?`) may not hold `#`, space, control bytes, `"`, `<`, `>` or
/// DEL (the `http` crate's rule). Non-ASCII UTF-8 is accepted.
pub fn check_query(query: &str) -> Result<(), EditError> {
    match query.bytes().find(|&b| !is_query_byte(b)) {
        Some(b) => Err(EditError::Invalid(format!(
            "query {query:?} contains byte 0x{b:02x}"
        ))),
        None => Ok(()),
    }
}

/// Per-request scratch is at most [`MAX_STATE_BYTES`].
pub fn check_state(value: &[u8]) -> Result<(), EditError> {
    if value.len() <= MAX_STATE_BYTES {
        Ok(())
    } else {
        Err(EditError::LimitExceeded)
    }
}

/// The checks the host runs on a reply when a hook returns it, with the gateway's default
/// budgets: status, at most [`DEFAULT_MAX_HEADERS`] headers, every header name and value, and a
/// body of at most [`DEFAULT_MAX_REPLY_BODY`] bytes. (A middleware's budgets may be configured
/// differently on the gateway.)
pub fn check_reply(reply: &Reply) -> Result<(), EditError> {
    check_status(reply.status)?;
    if reply.headers.len() > DEFAULT_MAX_HEADERS {
        return Err(EditError::LimitExceeded);
    }
    for (name, value) in &reply.headers {
        check_header_name(name)?;
        check_header_value(value)?;
    }
    if reply.body.len() > DEFAULT_MAX_REPLY_BODY {
        return Err(EditError::LimitExceeded);
    }
    Ok(())
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Bytes a path may hold unencoded: the `http` crate's path table, minus `?` and `#`.
fn is_path_byte(b: u8) -> bool {
    matches!(b, 0x21..=0x22 | 0x24..=0x3b | 0x3d | 0x40..=0x5f | 0x61..=0x7e | 0x80..=0xff)
        && b != b'?'
}

/// Bytes a query may hold unencoded: the `http` crate's query table, minus `#`.
fn is_query_byte(b: u8) -> bool {
    matches!(b, 0x21 | 0x24..=0x3b | 0x3d | 0x3f..=0x7e | 0x80..=0xff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_follow_the_rfc_9110_token_rule() {
        for ok in ["x-api-key", "X-Upper", "a", "!#$%&'*+-.^_`|~09az"] {
            assert_eq!(check_header_name(ok), Ok(()), "{ok:?}");
        }
        for bad in ["", "bad name", "x:y", "x\r\ny", "é", "a(b)", "a\"b"] {
            assert_eq!(
                check_header_name(bad),
                Err(EditError::InvalidHeaderName),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn header_values_refuse_control_bytes_and_del_but_allow_tab_and_obs_text() {
        for ok in [&b""[..], b"plain", b"with space\tand tab", b"\xe9\xff"] {
            assert_eq!(check_header_value(ok), Ok(()), "{ok:?}");
        }
        for bad in [&b"a\r\nb"[..], b"nul\0", b"\x7f", b"\x1b[0m", b"\n"] {
            assert_eq!(
                check_header_value(bad),
                Err(EditError::InvalidHeaderValue),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn status_must_be_200_to_599() {
        assert!(check_status(200).is_ok());
        assert!(check_status(599).is_ok());
        assert!(matches!(check_status(101), Err(EditError::Invalid(_))));
        assert!(matches!(check_status(199), Err(EditError::Invalid(_))));
        assert!(matches!(check_status(600), Err(EditError::Invalid(_))));
        assert!(matches!(check_status(999), Err(EditError::Invalid(_))));
    }

    #[test]
    fn paths_start_with_a_slash_and_carry_no_query_fragment_or_space() {
        for ok in ["/", "/a/b%20c;p=1", "/é", "/{\"json\"}", "/a^b|c~d"] {
            assert!(check_path(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "", "a/b", "/a?b", "/a#b", "/a b", "/a<b>", "/a`b", "/a\u{7f}", "/a\tb",
        ] {
            assert!(
                matches!(check_path(bad), Err(EditError::Invalid(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn queries_carry_no_fragment_or_space() {
        for ok in ["", "a=1&b=%20", "q=é", "a?b=/c", "x={}"] {
            assert!(check_query(ok).is_ok(), "{ok:?}");
        }
        for bad in ["a=1#x", "a=1 2", "a=\"b\"", "a=<b>", "a=\n"] {
            assert!(check_query(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn state_is_capped_at_64_kib() {
        assert!(check_state(&vec![0; MAX_STATE_BYTES]).is_ok());
        assert_eq!(
            check_state(&vec![0; MAX_STATE_BYTES + 1]),
            Err(EditError::LimitExceeded)
        );
    }

    #[test]
    fn replies_are_checked_like_the_host_checks_them() {
        assert!(check_reply(&Reply::new(204).header("x-a", "b")).is_ok());
        assert!(check_reply(&Reply::new(999)).is_err());
        assert_eq!(
            check_reply(&Reply::new(200).header("bad name", "v")),
            Err(EditError::InvalidHeaderName)
        );
        assert_eq!(
            check_reply(&Reply::new(200).header("x", "a\r\nb")),
            Err(EditError::InvalidHeaderValue)
        );
        assert_eq!(
            check_reply(&Reply::new(200).body(vec![b'x'; DEFAULT_MAX_REPLY_BODY + 1])),
            Err(EditError::LimitExceeded)
        );
        let many =
            (0..=DEFAULT_MAX_HEADERS).fold(Reply::new(200), |r, i| r.header(format!("x-{i}"), "v"));
        assert_eq!(check_reply(&many), Err(EditError::LimitExceeded));
    }
}
