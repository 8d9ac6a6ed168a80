//! Path normalisation ([`normalize`], `router::path`), on any path and under every policy:
//! - never panics; refuses exactly the malformed escapes and the governed escapes the policy
//!   forbids;
//! - is a fixed point (normalising the result changes nothing), so nothing downstream decodes
//!   twice;
//! - keeps a leading `/`, leaves no `.`/`..` segment and, when slashes are merged, no `//`;
//! - leaves no escape of an unreserved character and no lower-case hex digit;
//! - **the upstream's reading equals the router's**: percent-decoding the forwarded path, as an
//!   upstream server does, gives a path with no dot segment (so the upstream resolves nothing
//!   further) and equals the decoding of the input with its dot segments resolved — unless the
//!   policy let through an encoding an upstream decodes into a separator or an escape (`%2F`,
//!   `%5C`, `%25`), the split views the `encodedCharacters` options exist to warn about.

use wasmgate::router::path::{Encoded, PathError, PathPolicy, normalize, normalize_checked};

/// The check libFuzzer and the corpus regression test run on one input. Request targets reach
/// the normaliser as text, so other bytes are not a path. Panics when a property fails.
pub fn check_path(data: &[u8]) {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    // Four allow lists (none, the default, the default plus `%2F`/`%5C`, all) by both slash
    // modes.
    let allow_lists = [
        Encoded::NONE,
        PathPolicy::default().allowed,
        PathPolicy::default()
            .allowed
            .union(Encoded::SLASH)
            .union(Encoded::BACKSLASH),
        Encoded::ALL,
    ];
    for allowed in allow_lists {
        for merge_slashes in [true, false] {
            check_under(
                path,
                PathPolicy {
                    allowed,
                    merge_slashes,
                },
            );
        }
    }
}

fn check_under(path: &str, policy: PathPolicy) {
    let expected_refusal = refusal(path, policy.allowed);
    let once = match normalize_checked(path, policy) {
        Ok(once) => once.into_owned(),
        Err(error) => {
            assert_eq!(
                Some(error),
                expected_refusal,
                "{path:?} refused under {policy:?}"
            );
            return;
        }
    };
    assert!(
        expected_refusal.is_none(),
        "{path:?} accepted as {once:?} under {policy:?}, but has {expected_refusal:?}"
    );
    let twice = normalize(&once, policy.merge_slashes)
        .unwrap_or_else(|e| panic!("{path:?} normalises to {once:?}, which is then refused: {e}"));
    assert_eq!(
        twice.path, once,
        "normalising {path:?} twice gives another path under {policy:?}"
    );
    assert_canonical_escapes(path, &once);
    if !path.starts_with('/') {
        return;
    }
    assert!(
        once.starts_with('/'),
        "{path:?} normalises to {once:?}, which lost its leading '/'"
    );
    assert!(
        !once.split('/').any(is_dot_segment),
        "{path:?} normalises to {once:?}, which still has a dot segment under {policy:?}"
    );
    if policy.merge_slashes {
        assert!(
            !once.contains("//"),
            "{path:?} normalises to {once:?}, which still has '//' under {policy:?}"
        );
    }
    let split_view = Encoded::SLASH
        .union(Encoded::BACKSLASH)
        .union(Encoded::PERCENT);
    let found = normalize(path, policy.merge_slashes)
        .map(|n| n.encoded)
        .unwrap_or_default();
    if found.intersects(split_view) {
        return;
    }
    let upstream = decode(&once);
    assert!(
        !upstream
            .split(|&b| b == b'/')
            .any(|s| s == b"." || s == b".."),
        "{path:?} is forwarded as {once:?}, which an upstream decodes to {:?}, a path with a dot segment",
        String::from_utf8_lossy(&upstream)
    );
    let routed = resolve_dots(&decode(path), policy.merge_slashes);
    assert_eq!(
        upstream, routed,
        "{path:?}: the upstream's decoding of {once:?} differs from the decoded input, resolved"
    );
}

/// The refusal the policy calls for: a malformed escape, else the first forbidden governed
/// escape in Traefik's option order.
fn refusal(path: &str, allowed: Encoded) -> Option<PathError> {
    let bytes = path.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let Some(hex) = bytes.get(i + 1..i + 3) else {
                return Some(PathError::InvalidEscape);
            };
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return Some(PathError::InvalidEscape);
            }
            let text = std::str::from_utf8(hex).unwrap_or("00");
            let value = u8::from_str_radix(text, 16).unwrap_or(0);
            found.push(value);
            i += 3;
        } else {
            i += 1;
        }
    }
    let order = [
        (b'/', Encoded::SLASH, PathError::EncodedSlash),
        (b'\\', Encoded::BACKSLASH, PathError::EncodedBackslash),
        (0, Encoded::NUL, PathError::EncodedNul),
        (b';', Encoded::SEMICOLON, PathError::EncodedSemicolon),
        (b'%', Encoded::PERCENT, PathError::EncodedPercent),
        (b'?', Encoded::QUESTION_MARK, PathError::EncodedQuestionMark),
        (b'#', Encoded::HASH, PathError::EncodedHash),
    ];
    order
        .into_iter()
        .find(|(byte, c, _)| found.contains(byte) && !allowed.contains(*c))
        .map(|(_, _, e)| e)
}

/// Every escape of the output is upper-case and not of an unreserved character.
fn assert_canonical_escapes(path: &str, once: &str) {
    let bytes = once.as_bytes();
    for (i, _) in once.match_indices('%') {
        let hex = &bytes[i + 1..i + 3];
        assert!(
            !hex.iter().any(u8::is_ascii_lowercase),
            "{path:?} normalises to {once:?}, which keeps a lower-case escape"
        );
        let value = u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16)
            .unwrap_or_else(|_| panic!("{path:?} normalises to {once:?}, a malformed escape"));
        assert!(
            !(value.is_ascii_alphanumeric() || b"-._~".contains(&value)),
            "{path:?} normalises to {once:?}, which keeps an escaped unreserved character"
        );
    }
}

/// Percent-decoding as an upstream server does it, once.
fn decode(path: &str) -> Vec<u8> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], escape) {
            (b'%', Some(value)) => {
                out.push(value);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// RFC 3986 §5.2.4 on decoded bytes, with runs of `/` merged when asked.
fn resolve_dots(path: &[u8], merge_slashes: bool) -> Vec<u8> {
    let segments: Vec<&[u8]> = path.split(|&b| b == b'/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut trailing = false;
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            b"." => trailing = i == last,
            b".." => {
                kept.pop();
                trailing = i == last;
            }
            b"" if merge_slashes => trailing = i == last,
            _ => {
                kept.push(segment);
                trailing = false;
            }
        }
    }
    let mut out = Vec::new();
    for segment in kept {
        out.push(b'/');
        out.extend_from_slice(segment);
    }
    if trailing || out.is_empty() {
        out.push(b'/');
    }
    out
}

/// `.` or `..` (after normalisation every dot is literal).
fn is_dot_segment(segment: &str) -> bool {
    segment == "." || segment == ".."
}
