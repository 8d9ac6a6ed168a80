//! Path normalisation, applied once before routing so the router, every plugin and the
//! upstream see the same path (the defence against `/api/../admin`-style bypasses).
//!
//! Policy (defaults in `PathPolicy::default`):
//! - dot segments are resolved (RFC 3986 §5.2.4), including their percent-encoded spellings
//!   (`%2e`, `.%2E`, `%2e%2e`), and `..` never climbs above the root;
//! - encoded slashes `%2F` and backslashes `%5C` are rejected (400) unless allowed, like
//!   Traefik's `encodedCharacters` options; an encoded NUL `%00` is always rejected;
//! - runs of `/` are merged into one unless `merge_slashes` is off (so `//admin` is `/admin`);
//! - any other percent-encoding is kept as sent.

use std::borrow::Cow;

/// What the normaliser accepts and rewrites. Built once per entrypoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathPolicy {
    pub allow_encoded_slash: bool,
    pub allow_encoded_backslash: bool,
    pub merge_slashes: bool,
}

impl Default for PathPolicy {
    fn default() -> Self {
        PathPolicy {
            allow_encoded_slash: false,
            allow_encoded_backslash: false,
            merge_slashes: true,
        }
    }
}

/// Why a path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("encoded slash (%2F) in path")]
    EncodedSlash,
    #[error("encoded backslash (%5C) in path")]
    EncodedBackslash,
    #[error("encoded NUL (%00) in path")]
    EncodedNul,
}

/// The normalised form of `path`, borrowed when nothing changes (the common case: one scan,
/// no allocation). Paths that do not start with `/` (`*`) pass through unchanged.
pub fn normalize(path: &str, policy: PathPolicy) -> Result<Cow<'_, str>, PathError> {
    check_encoded(path, policy)?;
    if !path.starts_with('/') || !needs_work(path, policy) {
        return Ok(Cow::Borrowed(path));
    }
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, seg) in segments.iter().enumerate() {
        match dot_kind(seg) {
            Some(DotKind::Current) => trailing_slash = i == last,
            Some(DotKind::Parent) => {
                out.pop();
                trailing_slash = i == last;
            }
            None if seg.is_empty() && policy.merge_slashes => trailing_slash = i == last,
            None => {
                out.push(seg);
                trailing_slash = false;
            }
        }
    }
    let mut s = String::with_capacity(path.len());
    for seg in &out {
        s.push('/');
        s.push_str(seg);
    }
    if trailing_slash || s.is_empty() {
        s.push('/');
    }
    Ok(Cow::Owned(s))
}

fn check_encoded(path: &str, policy: PathPolicy) -> Result<(), PathError> {
    let bytes = path.as_bytes();
    let mut i = 0;
    while let Some(pos) = bytes[i..].iter().position(|&b| b == b'%') {
        let at = i + pos;
        if let Some(hex) = bytes.get(at + 1..at + 3) {
            match [hex[0].to_ascii_uppercase(), hex[1].to_ascii_uppercase()] {
                [b'2', b'F'] if !policy.allow_encoded_slash => return Err(PathError::EncodedSlash),
                [b'5', b'C'] if !policy.allow_encoded_backslash => {
                    return Err(PathError::EncodedBackslash);
                }
                [b'0', b'0'] => return Err(PathError::EncodedNul),
                _ => {}
            }
        }
        i = at + 1;
    }
    Ok(())
}

enum DotKind {
    Current,
    Parent,
}

/// `.`/`..` in any mix of literal and `%2e` spellings.
fn dot_kind(seg: &str) -> Option<DotKind> {
    let b = seg.as_bytes();
    let is_dot = |s: &[u8]| s == b"." || s.eq_ignore_ascii_case(b"%2e");
    if is_dot(b) {
        return Some(DotKind::Current);
    }
    for split in [1, 3] {
        if b.len() > split && is_dot(&b[..split]) && is_dot(&b[split..]) {
            return Some(DotKind::Parent);
        }
    }
    None
}

fn needs_work(path: &str, policy: PathPolicy) -> bool {
    (policy.merge_slashes && path.contains("//"))
        || path.split('/').any(|seg| dot_kind(seg).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(p: &str) -> String {
        normalize(p, PathPolicy::default()).unwrap().into_owned()
    }

    #[test]
    fn clean_paths_are_borrowed_unchanged() {
        for p in ["/", "/a", "/a/b/", "/a.b/c..d", "/%41", "*", "/a/.b/..c"] {
            let got = normalize(p, PathPolicy::default()).unwrap();
            assert!(matches!(got, Cow::Borrowed(x) if x == p), "{p}");
        }
    }

    #[test]
    fn dot_segments_are_resolved_in_every_spelling() {
        let cases = [
            ("/a/./b", "/a/b"),
            ("/a/../b", "/b"),
            ("/../../a", "/a"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/api/../admin", "/admin"),
            ("/..", "/"),
            ("/api/%2e%2e/admin", "/admin"),
            ("/api/.%2E/admin", "/admin"),
            ("/api/%2E./admin", "/admin"),
            ("/api/%2e/admin", "/api/admin"),
        ];
        for (input, want) in cases {
            assert_eq!(norm(input), want, "{input}");
        }
    }

    #[test]
    fn repeated_slashes_are_merged_unless_disabled() {
        assert_eq!(norm("//admin"), "/admin");
        assert_eq!(norm("/a//b///c/"), "/a/b/c/");
        assert_eq!(norm("/a//../b"), "/b");
        let keep = PathPolicy {
            merge_slashes: false,
            ..PathPolicy::default()
        };
        assert_eq!(normalize("//admin", keep).unwrap(), "//admin");
        assert_eq!(normalize("/a//../b", keep).unwrap(), "/a/b");
    }

    #[test]
    fn encoded_slashes_backslashes_and_nul_are_refused_by_default() {
        let p = PathPolicy::default();
        assert_eq!(normalize("/%2Fadmin", p), Err(PathError::EncodedSlash));
        assert_eq!(normalize("/a%2fb", p), Err(PathError::EncodedSlash));
        assert_eq!(normalize("/a%5Cb", p), Err(PathError::EncodedBackslash));
        assert_eq!(normalize("/a%00", p), Err(PathError::EncodedNul));
        let open = PathPolicy {
            allow_encoded_slash: true,
            allow_encoded_backslash: true,
            ..p
        };
        assert_eq!(normalize("/a%2Fb", open).unwrap(), "/a%2Fb");
        assert_eq!(normalize("/a%00", open), Err(PathError::EncodedNul));
        assert_eq!(normalize("/100%", p).unwrap(), "/100%");
    }
}
