//! HTTP/1 framing and target checks that run before anything else touches a request: the
//! request-smuggling defences hyper does not already enforce (hyper rejects malformed or
//! conflicting `Content-Length`, bad header names, NUL/CR/LF in values, non-chunked final
//! codings and HTTP/1.0 with `Transfer-Encoding`; the suite in tests/e2e pins those too).
//!
//! hyper itself handles `Content-Length` together with `Transfer-Encoding` by dropping the
//! `Content-Length`, reading the body as chunked and closing the connection after the response
//! (RFC 9112 §6.3), so the bytes after the body are never read as another request; the
//! header check below therefore only sees what hyper left (it cannot turn that case into 400).
//!
//! Cost: one pass over the request's fields (and a few look-ups on a response), no allocation.

use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING, UPGRADE};
use http::request::Parts;

use super::error::GatewayError;
use crate::config::H2cUpgrade;

/// Longest request target (path and query) accepted, as nginx's default 8 KiB buffers; longer
/// targets get 414. (Whole heads beyond the entrypoint's head limit get 431 from hyper.)
pub const MAX_TARGET_BYTES: usize = 8 << 10;

/// Rejects a request whose framing or target is ambiguous (400, and the connection closes):
/// - `Transfer-Encoding` together with `Content-Length` (RFC 9112 §6.1: a proxy must not forward
///   both; the classic CL.TE / TE.CL smuggling);
/// - `Transfer-Encoding` that is anything but a single `chunked` (repeated headers,
///   `chunked, chunked`, trailing whitespace or tabs, unknown codings);
/// - more than one `Host`, or a `Host` that disagrees with an absolute-form target;
/// - `Upgrade: h2c` when the entrypoint's `http2.h2cUpgrade` is `reject` (the default; the
///   upgrade itself is never performed, prior-knowledge h2c is served).
pub fn check_request(parts: &Parts, h2c: H2cUpgrade) -> Result<(), GatewayError> {
    if parts.uri.path_and_query().map_or(0, |pq| pq.as_str().len()) > MAX_TARGET_BYTES {
        return Err(GatewayError::UriTooLong);
    }
    // One pass over the fields, comparing names (standard names compare as their variant),
    // instead of a hashed look-up per header checked: ≈ 300 instructions a request less
    // (`bench/harness/instructions.py`).
    let mut te_count = 0usize;
    let mut first_te = None;
    let mut content_length = false;
    let mut hosts = 0usize;
    let mut host = None;
    let mut h2c_upgrade = false;
    for (name, value) in &parts.headers {
        if name == TRANSFER_ENCODING {
            te_count += 1;
            first_te.get_or_insert(value);
        } else if name == CONTENT_LENGTH {
            content_length = true;
        } else if name == HOST {
            hosts += 1;
            host.get_or_insert(value);
        } else if name == UPGRADE && h2c == H2cUpgrade::Reject {
            h2c_upgrade |= value
                .to_str()
                .is_ok_and(|s| s.split(',').any(|p| p.trim().eq_ignore_ascii_case("h2c")));
        }
    }
    if te_count > 0 {
        if content_length {
            return Err(GatewayError::BadRequest(
                "Transfer-Encoding together with Content-Length",
            ));
        }
        let only_chunked = te_count == 1
            && first_te.is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
        if !only_chunked {
            return Err(GatewayError::BadRequest(
                "Transfer-Encoding other than a single \"chunked\"",
            ));
        }
    }
    if hosts > 1 {
        return Err(GatewayError::BadRequest("more than one Host header"));
    }
    if let (Some(authority), Some(host)) = (parts.uri.authority(), host)
        && !authority
            .as_str()
            .as_bytes()
            .eq_ignore_ascii_case(host.as_bytes())
    {
        return Err(GatewayError::BadRequest(
            "Host disagrees with the absolute-form target",
        ));
    }
    if h2c_upgrade {
        return Err(GatewayError::BadRequest("h2c upgrade is refused"));
    }
    Ok(())
}

/// Rejects an upstream response whose framing is ambiguous (→ 502; the response is dropped,
/// never relayed, and its connection is not reused because its body is never read to the end):
/// `Transfer-Encoding` together with `Content-Length`, `Transfer-Encoding` that is anything but
/// a single `chunked`, or `Transfer-Encoding` in an HTTP/1.0 response. hyper's client already
/// refuses malformed or conflicting `Content-Length`, bad names and NUL/CR/LF in values (502).
pub fn check_response<B>(resp: &http::Response<B>) -> Result<(), GatewayError> {
    let headers = resp.headers();
    let te_count = headers.get_all(TRANSFER_ENCODING).iter().count();
    if te_count == 0 {
        return Ok(());
    }
    if headers.contains_key(CONTENT_LENGTH) {
        return Err(GatewayError::UpstreamBadResponse(
            "Transfer-Encoding together with Content-Length",
        ));
    }
    if resp.version() == http::Version::HTTP_10 {
        return Err(GatewayError::UpstreamBadResponse(
            "Transfer-Encoding in an HTTP/1.0 response",
        ));
    }
    let only_chunked = te_count == 1
        && headers
            .get(TRANSFER_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    if !only_chunked {
        return Err(GatewayError::UpstreamBadResponse(
            "Transfer-Encoding other than a single \"chunked\"",
        ));
    }
    Ok(())
}

/// 413 at once when a declared `Content-Length` is over the entrypoint's body limit (a chunked
/// body is counted while it streams, see `client_body`).
pub fn check_declared_length(parts: &Parts, limit: Option<u64>) -> Result<(), GatewayError> {
    let Some(limit) = limit else { return Ok(()) };
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > limit => Err(GatewayError::PayloadTooLarge),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(raw: &[(&str, &str)], uri: &str) -> Parts {
        let mut b = http::Request::builder().uri(uri);
        for (n, v) in raw {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn check_request_default(parts: &Parts) -> Result<(), GatewayError> {
        check_request(parts, H2cUpgrade::Reject)
    }

    #[test]
    fn an_h2c_upgrade_is_refused_or_ignored_as_configured() {
        let p = parts(
            &[
                ("connection", "Upgrade, HTTP2-Settings"),
                ("upgrade", "h2c"),
            ],
            "/",
        );
        assert!(check_request(&p, H2cUpgrade::Reject).is_err());
        assert!(check_request(&p, H2cUpgrade::Ignore).is_ok());
    }

    fn response(raw: &[(&str, &str)]) -> http::Response<()> {
        let mut b = http::Response::builder().status(200);
        for (n, v) in raw {
            b = b.header(*n, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn upstream_responses_with_ambiguous_framing_are_refused() {
        assert!(check_response(&response(&[("content-length", "5")])).is_ok());
        assert!(check_response(&response(&[("transfer-encoding", "chunked")])).is_ok());
        for bad in [
            &[("content-length", "5"), ("transfer-encoding", "chunked")][..],
            &[
                ("transfer-encoding", "chunked"),
                ("transfer-encoding", "chunked"),
            ][..],
            &[("transfer-encoding", "chunked, chunked")][..],
            &[("transfer-encoding", "gzip, chunked")][..],
            &[("transfer-encoding", "identity")][..],
        ] {
            assert!(
                matches!(
                    check_response(&response(bad)),
                    Err(GatewayError::UpstreamBadResponse(_))
                ),
                "{bad:?}"
            );
        }
        let mut old = response(&[("transfer-encoding", "chunked")]);
        *old.version_mut() = http::Version::HTTP_10;
        assert!(check_response(&old).is_err());
    }

    #[test]
    fn plain_requests_pass() {
        assert!(
            check_request_default(&parts(&[("host", "a"), ("content-length", "3")], "/")).is_ok()
        );
        assert!(
            check_request_default(&parts(
                &[("host", "a"), ("transfer-encoding", "Chunked")],
                "/"
            ))
            .is_ok()
        );
        assert!(check_request_default(&parts(&[("host", "A:80")], "http://a:80/x")).is_ok());
        assert!(check_request_default(&parts(&[("upgrade", "websocket")], "/")).is_ok());
    }

    #[test]
    fn ambiguous_framing_and_targets_are_rejected() {
        let bad = [
            (
                vec![("transfer-encoding", "chunked"), ("content-length", "4")],
                "/",
            ),
            (vec![("transfer-encoding", "chunked, chunked")], "/"),
            (vec![("transfer-encoding", "chunked\t")], "/"),
            (
                vec![
                    ("transfer-encoding", "chunked"),
                    ("transfer-encoding", "chunked"),
                ],
                "/",
            ),
            (vec![("transfer-encoding", "gzip")], "/"),
            (vec![("host", "a"), ("host", "b")], "/"),
            (vec![("host", "a")], "http://b/"),
            (vec![("upgrade", "h2c")], "/"),
        ];
        for (headers, uri) in bad {
            assert!(
                check_request_default(&parts(&headers, uri)).is_err(),
                "{headers:?} {uri}"
            );
        }
    }
}
