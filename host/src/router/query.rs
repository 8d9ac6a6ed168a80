//! Reading query parameters the way Go's `url.ParseQuery` does (and so Traefik), without
//! allocating: pairs are split on `&`, keys and values are `+`/`%XX` decoded lazily while they
//! are compared.
//!
//! Go's rules kept here: empty pairs are skipped; a pair containing `;` is skipped; a pair whose
//! key or value holds a malformed `%` escape is skipped; `key` without `=` has the empty value.

/// Decoded values up to this many bytes are decoded on the stack for `QueryRegexp`; longer ones
/// (rare: the query string of a normal request is far shorter) are decoded into a heap buffer.
const STACK_DECODE: usize = 512;

/// The `(raw key, raw value)` pairs Go would keep, in order, still percent-encoded.
/// Costs one pass over the query; allocates nothing.
pub(crate) fn pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query.split('&').filter_map(|pair| {
        if pair.is_empty() || pair.contains(';') {
            return None;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (escapes_valid(key) && escapes_valid(value)).then_some((key, value))
    })
}

/// True when every `%` in `raw` starts a two-hex-digit escape (Go's `QueryUnescape` check).
fn escapes_valid(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// The bytes of a query component once decoded (`+` is a space, `%XX` a byte).
/// Expects a component that passed [`escapes_valid`]; a stray `%` is passed through as is.
struct Decoded<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Iterator for Decoded<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.pos)?;
        self.pos += 1;
        match byte {
            b'+' => Some(b' '),
            b'%' => {
                let hi = self
                    .bytes
                    .get(self.pos)
                    .and_then(|b| char::from(*b).to_digit(16));
                let lo = self
                    .bytes
                    .get(self.pos + 1)
                    .and_then(|b| char::from(*b).to_digit(16));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => {
                        self.pos += 2;
                        Some((hi * 16 + lo) as u8)
                    }
                    _ => Some(b'%'),
                }
            }
            other => Some(other),
        }
    }
}

fn decoded(raw: &str) -> Decoded<'_> {
    Decoded {
        bytes: raw.as_bytes(),
        pos: 0,
    }
}

/// Whether the query component `raw`, once decoded, equals `expected`. Allocates nothing.
pub(crate) fn decoded_eq(raw: &str, expected: &str) -> bool {
    decoded(raw).eq(expected.bytes())
}

/// Calls `f` with the decoded bytes of the query component `raw`. Without escapes `raw` is passed
/// as is; with escapes it is decoded into a stack buffer, or into a heap buffer past
/// [`STACK_DECODE`] bytes.
pub(crate) fn with_decoded<R>(raw: &str, f: impl FnOnce(&[u8]) -> R) -> R {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return f(raw.as_bytes());
    }
    if raw.len() <= STACK_DECODE {
        let mut buf = [0u8; STACK_DECODE];
        let mut len = 0;
        for (slot, byte) in buf.iter_mut().zip(decoded(raw)) {
            *slot = byte;
            len += 1;
        }
        return f(&buf[..len]);
    }
    let owned: Vec<u8> = decoded(raw).collect();
    f(&owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_follow_go_parse_query() {
        let got: Vec<_> = pairs("a=1&&b&c=&d=x=y&e;f=2&g=%zz&h=%41").collect();
        assert_eq!(
            got,
            vec![("a", "1"), ("b", ""), ("c", ""), ("d", "x=y"), ("h", "%41")]
        );
        assert_eq!(pairs("").count(), 0);
    }

    #[test]
    fn decodes_plus_and_percent_while_comparing() {
        assert!(decoded_eq("a+b%20c", "a b c"));
        assert!(decoded_eq("%7e%7E", "~~"));
        assert!(decoded_eq("", ""));
        assert!(!decoded_eq("a+b", "a+b"));
        assert!(!decoded_eq("ab", "abc"));
        assert!(!decoded_eq("abc", "ab"));
    }

    #[test]
    fn with_decoded_uses_raw_stack_or_heap() {
        assert_eq!(with_decoded("plain", |b| b.to_vec()), b"plain");
        assert_eq!(with_decoded("a%2Fb+c", |b| b.to_vec()), b"a/b c");
        assert_eq!(with_decoded("%FF", |b| b.to_vec()), vec![0xFF]);
        let long = "%41".repeat(STACK_DECODE);
        assert_eq!(with_decoded(&long, |b| b.len()), STACK_DECODE);
        let exact = "+".repeat(STACK_DECODE);
        assert!(with_decoded(&exact, |b| b.iter().all(|c| *c == b' ')));
    }

    #[test]
    fn malformed_escapes_are_rejected_like_go() {
        assert!(escapes_valid("a%20b"));
        assert!(!escapes_valid("%"));
        assert!(!escapes_valid("%2"));
        assert!(!escapes_valid("%g0"));
        assert!(!escapes_valid("ok%é"));
    }
}
