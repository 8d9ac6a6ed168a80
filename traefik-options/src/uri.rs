//! Go's URL path encoding rules (`net/url`), which Traefik's path middlewares inherit.
//!
//! The gateway hands plugins the path in its percent-encoded form (as the client sent it, dot
//! segments resolved); Traefik's middlewares work on Go's decoded `URL.Path` and keep the encoded
//! form (`URL.RawPath`) alongside. These helpers translate between the two so each plugin can do
//! what Traefik does while the path sent upstream keeps the client's encoding wherever Traefik's
//! does. Used by the path plugins. Every function is one pass over its input.

use std::borrow::Cow;

/// Go's `url.PathUnescape`: decodes `%XX`; `Err` names the first malformed escape (Traefik
/// answers 500 with that message when a rewritten path has one).
pub fn unescape(encoded: &str) -> Result<Vec<u8>, String> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(hi), Some(lo)) => {
                    out.push((hi << 4) | lo);
                    i += 3;
                }
                _ => {
                    let bad: String = encoded[i..].chars().take(3).collect();
                    return Err(format!("invalid URL escape {bad:?}"));
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// The decoded form of a request path, for matching as Traefik matches `URL.Path`. Borrowed when
/// the path has no `%` (the common case); a malformed escape stays literal (the gateway passes
/// such paths through, where Go's server would have refused them).
pub fn decode_lenient(encoded: &str) -> Cow<'_, [u8]> {
    if !encoded.contains('%') {
        return Cow::Borrowed(encoded.as_bytes());
    }
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (byte, width) = decoded_at(bytes, i);
        out.push(byte);
        i += width;
    }
    Cow::Owned(out)
}

/// How many bytes of `encoded` decode (leniently) to exactly `decoded_prefix`; `None` when the
/// decoded path does not start with it. Lets a plugin match on the decoded path, as Traefik does,
/// and cut the encoded path at the same place, keeping the client's encoding of the rest.
pub fn encoded_prefix_len(encoded: &str, decoded_prefix: &[u8]) -> Option<usize> {
    let bytes = encoded.as_bytes();
    let mut i = 0;
    for &want in decoded_prefix {
        if i >= bytes.len() {
            return None;
        }
        let (byte, width) = decoded_at(bytes, i);
        if byte != want {
            return None;
        }
        i += width;
    }
    Some(i)
}

/// The byte at `i` once decoded, and how many encoded bytes it takes.
fn decoded_at(bytes: &[u8], i: usize) -> (u8, usize) {
    if bytes[i] == b'%'
        && let (Some(hi), Some(lo)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2)))
    {
        return ((hi << 4) | lo, 3);
    }
    (bytes[i], 1)
}

fn hex(byte: Option<&u8>) -> Option<u8> {
    match byte? {
        b @ b'0'..=b'9' => Some(b - b'0'),
        b @ b'a'..=b'f' => Some(b - b'a' + 10),
        b @ b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Go's `shouldEscape(c, encodePath)`: everything but unreserved characters and
/// `$ & + , / : ; = @` is escaped in a path.
fn should_escape(byte: u8) -> bool {
    !(byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'-' | b'_'
                | b'.'
                | b'~'
                | b'$'
                | b'&'
                | b'+'
                | b','
                | b'/'
                | b':'
                | b';'
                | b'='
                | b'@'
        ))
}

/// Go's `url.PathEscape`-style escaping of a decoded path (`escape(s, encodePath)`): the
/// canonical encoded form Go sends when it has no better one.
pub fn escape_path(decoded: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(decoded.len());
    for &byte in decoded {
        if should_escape(byte) {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        } else {
            out.push(char::from(byte));
        }
    }
    out
}

/// Go's `validEncoded(s, encodePath)`: whether `s` may be sent as it is (Go then keeps it as
/// `RawPath` instead of re-escaping the decoded path).
pub fn is_valid_encoded(s: &str) -> bool {
    s.bytes().all(|byte| {
        matches!(
            byte,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'['
                | b']'
                | b'%'
        ) || !should_escape(byte)
    })
}

/// The path Go sends upstream after a middleware set `RawPath = raw` (and `Path` to its
/// decoding): `raw` itself when it is validly encoded, else the canonical escaping of the
/// decoded path. `Err` on a malformed escape, as `url.PathUnescape`.
pub fn wire_path(raw: &str) -> Result<String, String> {
    let decoded = unescape(raw)?;
    if is_valid_encoded(raw) {
        Ok(raw.to_string())
    } else {
        Ok(escape_path(&decoded))
    }
}

/// Traefik's `ensureLeadingSlash`, plus what Go does when it sends an empty path: `/`.
pub fn with_leading_slash(path: &str) -> Cow<'_, str> {
    if path.starts_with('/') {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(format!("/{path}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_decodes_and_names_a_malformed_escape() {
        assert_eq!(unescape("/a%20b%2Fc"), Ok(b"/a b/c".to_vec()));
        assert_eq!(unescape("/caf%C3%A9"), Ok("/café".as_bytes().to_vec()));
        assert_eq!(
            unescape("/a%zzb"),
            Err(r#"invalid URL escape "%zz""#.to_string())
        );
        assert_eq!(
            unescape("/a%4"),
            Err(r#"invalid URL escape "%4""#.to_string())
        );
    }

    #[test]
    fn lenient_decoding_keeps_malformed_escapes_and_borrows_plain_paths() {
        assert!(matches!(decode_lenient("/plain/path"), Cow::Borrowed(_)));
        assert_eq!(&*decode_lenient("/a%20b%zz"), b"/a b%zz");
    }

    #[test]
    fn encoded_prefix_len_matches_decoded_text() {
        assert_eq!(encoded_prefix_len("/api/users", b"/api"), Some(4));
        assert_eq!(
            encoded_prefix_len("/caf%C3%A9/menu", "/café".as_bytes()),
            Some(10)
        );
        assert_eq!(encoded_prefix_len("/my%20app/x", b"/my app"), Some(9));
        assert_eq!(encoded_prefix_len("/ap", b"/api"), None);
        assert_eq!(encoded_prefix_len("/apx", b"/api"), None);
        assert_eq!(encoded_prefix_len("/x", b""), Some(0));
    }

    #[test]
    fn escape_path_follows_go() {
        assert_eq!(escape_path(b"/a b/c"), "/a%20b/c");
        assert_eq!(escape_path("/café".as_bytes()), "/caf%C3%A9");
        assert_eq!(escape_path(b"/a?b#c%"), "/a%3Fb%23c%25");
        assert_eq!(escape_path(b"/$&+,:;=@-_.~"), "/$&+,:;=@-_.~");
        assert_eq!(escape_path(b"/(x)!*'"), "/%28x%29%21%2A%27");
    }

    #[test]
    fn wire_path_keeps_valid_encodings_and_escapes_the_rest() {
        assert_eq!(wire_path("/a%2Fb(c)"), Ok("/a%2Fb(c)".to_string()));
        assert_eq!(wire_path("/a b"), Ok("/a%20b".to_string()));
        assert_eq!(wire_path("/x?y=1"), Ok("/x%3Fy=1".to_string()));
        assert!(wire_path("/%zz").is_err());
    }

    #[test]
    fn leading_slash() {
        assert_eq!(with_leading_slash("a/b"), "/a/b");
        assert_eq!(with_leading_slash("/a"), "/a");
        assert_eq!(with_leading_slash(""), "/");
    }
}
