//! Path normalisation, applied once per request before routing, so that the router, every
//! plugin (`path`), the `encodedCharacters` check and the upstream all read one path. This is
//! the defence against route bypasses such as `/%61dmin` or `/api/../admin` reaching an upstream
//! (which decodes them to `/admin`) through a router other than the one guarding `/admin`.
//!
//! The steps are Traefik's (v3.4.1+, RFC 3986 §6.2.2), in this order:
//! 1. **Escapes made canonical** (§6.2.2.1, §6.2.2.2): a percent-encoded *unreserved* character
//!    (`A-Z a-z 0-9 - . _ ~`) is decoded, every other escape keeps its encoding with the hex
//!    digits upper-cased (`%2f` becomes `%2F`). A `%` not followed by two hex digits is refused
//!    (Go's URL parser, and so Traefik, answer 400 too): upstreams read such a path in different
//!    ways. Reserved characters stay encoded, so `%2F` never becomes a separator here.
//! 2. **Dot segments removed** (§6.2.2.3, §5.2.4), and runs of `/` merged into one unless the
//!    policy keeps them; `..` never climbs above the root. `%2e` was already decoded in step 1,
//!    so `/api/%2e%2e/admin` is `/admin`.
//! 3. The escapes of the seven ambiguous characters Traefik governs with `encodedCharacters`
//!    (`%2F %5C %00 %3B %25 %3F %23`) are reported in [`Encoded`]; the caller checks them against
//!    the policy of the router that matched, or of the entrypoint ([`Encoded::check`]).
//!
//! The result is a fixed point: normalising a normalised path returns it unchanged, so nothing
//! downstream ever decodes twice (`%252e` stays `%252e`, never `%2e`, never `.`).
//!
//! Cost: one scan and no allocation for a path that is already canonical (the common case);
//! otherwise one allocation per step that changes something.

use std::borrow::Cow;

/// A set of the encoded characters Traefik's `encodedCharacters` options govern. As an allow
/// list it is built once per entrypoint or router at config time; as a finding it is
/// collected by [`normalize`] while it scans the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Encoded(u8);

impl Encoded {
    /// `%2F` (`allowEncodedSlash`).
    pub const SLASH: Encoded = Encoded(1);
    /// `%5C` (`allowEncodedBackSlash`).
    pub const BACKSLASH: Encoded = Encoded(1 << 1);
    /// `%00` (`allowEncodedNullCharacter`).
    pub const NUL: Encoded = Encoded(1 << 2);
    /// `%3B` (`allowEncodedSemicolon`).
    pub const SEMICOLON: Encoded = Encoded(1 << 3);
    /// `%25` (`allowEncodedPercent`).
    pub const PERCENT: Encoded = Encoded(1 << 4);
    /// `%3F` (`allowEncodedQuestionMark`).
    pub const QUESTION_MARK: Encoded = Encoded(1 << 5);
    /// `%23` (`allowEncodedHash`).
    pub const HASH: Encoded = Encoded(1 << 6);
    /// No character.
    pub const NONE: Encoded = Encoded(0);
    /// Every governed character.
    pub const ALL: Encoded = Encoded(0x7f);

    /// The characters, with the error each one's refusal gives, in Traefik's option order.
    const REFUSALS: [(Encoded, PathError); 7] = [
        (Encoded::SLASH, PathError::EncodedSlash),
        (Encoded::BACKSLASH, PathError::EncodedBackslash),
        (Encoded::NUL, PathError::EncodedNul),
        (Encoded::SEMICOLON, PathError::EncodedSemicolon),
        (Encoded::PERCENT, PathError::EncodedPercent),
        (Encoded::QUESTION_MARK, PathError::EncodedQuestionMark),
        (Encoded::HASH, PathError::EncodedHash),
    ];

    /// Both sets together.
    pub const fn union(self, other: Encoded) -> Encoded {
        Encoded(self.0 | other.0)
    }

    /// The characters in both sets.
    pub const fn intersection(self, other: Encoded) -> Encoded {
        Encoded(self.0 & other.0)
    }

    /// Whether every character of `other` is in this set.
    pub const fn contains(self, other: Encoded) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether the two sets share a character.
    pub const fn intersects(self, other: Encoded) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set of characters whose escape is `%<hi><lo>` (upper-case hex), if governed.
    fn of_escape(byte: u8) -> Encoded {
        match byte {
            b'/' => Encoded::SLASH,
            b'\\' => Encoded::BACKSLASH,
            0 => Encoded::NUL,
            b';' => Encoded::SEMICOLON,
            b'%' => Encoded::PERCENT,
            b'?' => Encoded::QUESTION_MARK,
            b'#' => Encoded::HASH,
            _ => Encoded::NONE,
        }
    }

    /// Refuses the first found character (in Traefik's option order) that `allowed` does not
    /// allow. Runs once per request: a few bit operations.
    pub fn check(self, allowed: Encoded) -> Result<(), PathError> {
        let refused = Encoded(self.0 & !allowed.0);
        if refused.is_empty() {
            return Ok(());
        }
        match Encoded::REFUSALS.iter().find(|(c, _)| refused.contains(*c)) {
            Some((_, error)) => Err(*error),
            None => Ok(()),
        }
    }
}

impl From<&crate::config::EncodedCharacters> for Encoded {
    /// The allow list Traefik's options describe (built once per entrypoint or router).
    fn from(options: &crate::config::EncodedCharacters) -> Self {
        [
            (options.allow_encoded_slash, Encoded::SLASH),
            (options.allow_encoded_back_slash, Encoded::BACKSLASH),
            (options.allow_encoded_null_character, Encoded::NUL),
            (options.allow_encoded_semicolon, Encoded::SEMICOLON),
            (options.allow_encoded_percent, Encoded::PERCENT),
            (options.allow_encoded_question_mark, Encoded::QUESTION_MARK),
            (options.allow_encoded_hash, Encoded::HASH),
        ]
        .into_iter()
        .filter(|(allowed, _)| *allowed)
        .fold(Encoded::NONE, |set, (_, c)| set.union(c))
    }
}

/// What an entrypoint accepts and rewrites. Built once per entrypoint at config time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathPolicy {
    /// Encoded characters allowed in the path (`entryPoints.<ep>.http.encodedCharacters`).
    pub allowed: Encoded,
    /// Whether runs of `/` are merged into one (on by default: `//admin` is `/admin`).
    pub merge_slashes: bool,
}

impl Default for PathPolicy {
    /// An entrypoint's default ([`crate::config::EncodedCharacters::ENTRYPOINT_DEFAULT`]: encoded
    /// slash, backslash and NUL refused, the other four allowed), slashes merged.
    fn default() -> Self {
        PathPolicy {
            allowed: Encoded::from(&crate::config::EncodedCharacters::ENTRYPOINT_DEFAULT),
            merge_slashes: true,
        }
    }
}

/// Why a path was refused (each maps to 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("encoded slash (%2F) in path")]
    EncodedSlash,
    #[error("encoded backslash (%5C) in path")]
    EncodedBackslash,
    #[error("encoded NUL (%00) in path")]
    EncodedNul,
    #[error("encoded semicolon (%3B) in path")]
    EncodedSemicolon,
    #[error("encoded percent (%25) in path")]
    EncodedPercent,
    #[error("encoded question mark (%3F) in path")]
    EncodedQuestionMark,
    #[error("encoded hash (%23) in path")]
    EncodedHash,
    #[error("'%' not followed by two hex digits in path")]
    InvalidEscape,
}

/// A normalised path and the governed escapes it still holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized<'a> {
    /// The path routers match, plugins read as `path`, and the upstream receives.
    pub path: Cow<'a, str>,
    /// The `encodedCharacters`-governed escapes found in it.
    pub encoded: Encoded,
}

/// Normalises `path` (steps 1 and 2 of the module doc) and reports the governed escapes it
/// holds; refuses only malformed escapes. Borrowed when nothing changes. A target that does
/// not start with `/` (`*`) only has its escapes made canonical.
pub fn normalize(path: &str, merge_slashes: bool) -> Result<Normalized<'_>, PathError> {
    let (canonical, encoded) = canonical_escapes(path)?;
    if !canonical.starts_with('/') || !has_dot_work(&canonical, merge_slashes) {
        return Ok(Normalized {
            path: canonical,
            encoded,
        });
    }
    let resolved = remove_dot_segments(&canonical, merge_slashes);
    Ok(Normalized {
        path: Cow::Owned(resolved),
        encoded,
    })
}

/// [`normalize`] and then [`Encoded::check`] against the policy: the whole entrypoint-level
/// reading of a path in one call (tests, fuzzing, callers without per-router options).
pub fn normalize_checked(path: &str, policy: PathPolicy) -> Result<Cow<'_, str>, PathError> {
    let normalized = normalize(path, policy.merge_slashes)?;
    normalized.encoded.check(policy.allowed)?;
    Ok(normalized.path)
}

/// The form a `Path`/`PathPrefix` rule literal is compared in, computed once at config time so
/// that a rule and a request written differently but meaning the same path agree: bytes that
/// cannot appear raw in a request target (non-ASCII such as `é`, space, `"<>\^`{|}`, controls)
/// are percent-encoded, a `%` that starts no escape becomes `%25`, and escapes are made
/// canonical as in [`normalize`] (`/caf%c3%a9`, `/café` and `/caf%C3%A9` are one rule).
pub fn canonical_rule_path(literal: &str) -> String {
    let bytes = literal.as_bytes();
    let mut encoded = String::with_capacity(literal.len());
    for (i, &b) in bytes.iter().enumerate() {
        let starts_escape = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if (b == b'%' && !starts_escape) || !is_raw_path_byte(b) {
            push_escape(&mut encoded, b);
        } else {
            encoded.push(char::from(b));
        }
    }
    match canonical_escapes(&encoded) {
        Ok((canonical, _)) => canonical.into_owned(),
        // Unreachable: every '%' left above starts a valid escape.
        Err(_) => encoded,
    }
}

/// Step 1: escapes made canonical; the governed escapes found.
fn canonical_escapes(path: &str) -> Result<(Cow<'_, str>, Encoded), PathError> {
    let bytes = path.as_bytes();
    let mut encoded = Encoded::NONE;
    let mut rewrite = false;
    let mut at = 0;
    while let Some(offset) = bytes[at..].iter().position(|&b| b == b'%') {
        let pct = at + offset;
        let (hi, lo) = hex_pair(bytes, pct)?;
        let value = hi << 4 | lo;
        if is_unreserved(value) || bytes[pct + 1..pct + 3].iter().any(u8::is_ascii_lowercase) {
            rewrite = true;
        }
        encoded = encoded.union(Encoded::of_escape(value));
        at = pct + 3;
    }
    if !rewrite {
        return Ok((Cow::Borrowed(path), encoded));
    }
    let mut out = String::with_capacity(path.len());
    let mut copied = 0;
    let mut at = 0;
    while let Some(offset) = bytes[at..].iter().position(|&b| b == b'%') {
        let pct = at + offset;
        out.push_str(&path[copied..pct]);
        let (hi, lo) = hex_pair(bytes, pct)?;
        let value = hi << 4 | lo;
        if is_unreserved(value) {
            out.push(char::from(value));
        } else {
            push_escape(&mut out, value);
        }
        at = pct + 3;
        copied = at;
    }
    out.push_str(&path[copied..]);
    Ok((Cow::Owned(out), encoded))
}

/// The two hex digits after the `%` at `pct`, as values.
fn hex_pair(bytes: &[u8], pct: usize) -> Result<(u8, u8), PathError> {
    let digit = |i: usize| {
        bytes
            .get(i)
            .and_then(|&b| char::from(b).to_digit(16))
            .and_then(|d| u8::try_from(d).ok())
            .ok_or(PathError::InvalidEscape)
    };
    Ok((digit(pct + 1)?, digit(pct + 2)?))
}

fn push_escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0xf)]));
}

/// RFC 3986 §2.3 unreserved characters.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Bytes a request target carries unescaped in its path (RFC 3986 `pchar`, `/`, and `%`).
fn is_raw_path_byte(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b'/' | b'%'
                | b'!'
                | b'$'
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
        )
}

/// Whether step 2 changes `path`: a `.` or `..` segment, or (`merge_slashes`) an empty segment
/// between two slashes. Runs on every request: one pass over the bytes (`str::split` and
/// `contains("//")` set up searchers that cost ≈ 250 instructions on a path of `/`).
fn has_dot_work(path: &str, merge_slashes: bool) -> bool {
    let bytes = path.as_bytes();
    let mut segment_start = 0;
    for i in 0..=bytes.len() {
        let at_end = i == bytes.len();
        if !at_end && bytes[i] != b'/' {
            continue;
        }
        match &bytes[segment_start..i] {
            b"." | b".." => return true,
            b"" if merge_slashes && !at_end && i > 0 => return true,
            _ => {}
        }
        segment_start = i + 1;
    }
    false
}

/// Step 2 on a path that starts with `/`.
fn remove_dot_segments(path: &str, merge_slashes: bool) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => trailing_slash = i == last,
            ".." => {
                kept.pop();
                trailing_slash = i == last;
            }
            "" if merge_slashes => trailing_slash = i == last,
            _ => {
                kept.push(segment);
                trailing_slash = false;
            }
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in &kept {
        out.push('/');
        out.push_str(segment);
    }
    if trailing_slash || out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(p: &str) -> String {
        normalize_checked(p, PathPolicy::default())
            .unwrap()
            .into_owned()
    }

    /// The byte scan finds dot work exactly where the segment definition does: a `.` or `..`
    /// segment, or with `merge_slashes` a `//`.
    #[test]
    fn dot_work_is_found_as_the_segments_define_it() {
        let by_segments = |path: &str, merge: bool| {
            (merge && path.contains("//")) || path.split('/').any(|s| s == "." || s == "..")
        };
        for path in [
            "/", "//", "///", "/a", "/a/", "/a//b", "/a/b/", "/.", "/..", "/./a", "/a/..", "/a/.b",
            "/a/b.", "/...", "/a/../b", "/a/./", "/.a", "/a..", "/%2e", "/a/b//",
        ] {
            for merge in [false, true] {
                assert_eq!(
                    has_dot_work(path, merge),
                    by_segments(path, merge),
                    "{path} merge_slashes={merge}"
                );
            }
        }
    }

    #[test]
    fn clean_paths_are_borrowed_unchanged() {
        for p in [
            "/",
            "/a",
            "/a/b/",
            "/a.b/c..d",
            "/%C3%A9",
            "*",
            "/a/.b/..c",
            "/a;b",
        ] {
            let got = normalize(p, true).unwrap();
            assert!(matches!(got.path, Cow::Borrowed(x) if x == p), "{p}");
        }
    }

    #[test]
    fn encoded_unreserved_characters_are_decoded_and_other_escapes_upper_cased() {
        let cases = [
            ("/%61dmin/x", "/admin/x"),
            ("/%41%42%43", "/ABC"),
            ("/%7e%2D%5f", "/~-_"),
            ("/caf%c3%a9", "/caf%C3%A9"),
            ("/a%3ab", "/a%3Ab"),
            ("/a%20b", "/a%20b"),
            ("/%2561", "/%2561"),
        ];
        for (input, want) in cases {
            assert_eq!(norm(input), want, "{input}");
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
            ("/api/%2E%2e/%61dmin", "/admin"),
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
        assert_eq!(normalize("//admin", false).unwrap().path, "//admin");
        assert_eq!(normalize("/a//../b", false).unwrap().path, "/a/b");
    }

    #[test]
    fn governed_escapes_are_reported_and_refused_unless_allowed() {
        let p = PathPolicy::default();
        let refuse = |path| normalize_checked(path, p).unwrap_err();
        assert_eq!(refuse("/%2Fadmin"), PathError::EncodedSlash);
        assert_eq!(refuse("/a%2fb"), PathError::EncodedSlash);
        assert_eq!(refuse("/a%5Cb"), PathError::EncodedBackslash);
        assert_eq!(refuse("/a%00"), PathError::EncodedNul);
        for allowed in ["/a%3Bb", "/a%25b", "/a%3Fb", "/a%23b"] {
            assert_eq!(norm(allowed), allowed);
        }
        let strict = PathPolicy {
            allowed: Encoded::NONE,
            ..p
        };
        let refuse = |path| normalize_checked(path, strict).unwrap_err();
        assert_eq!(refuse("/a%3bb"), PathError::EncodedSemicolon);
        assert_eq!(refuse("/a%25b"), PathError::EncodedPercent);
        assert_eq!(refuse("/a%3fb"), PathError::EncodedQuestionMark);
        assert_eq!(refuse("/a%23b"), PathError::EncodedHash);
        let open = PathPolicy {
            allowed: Encoded::ALL,
            ..p
        };
        assert_eq!(normalize_checked("/a%2fb", open).unwrap(), "/a%2Fb");
        assert_eq!(normalize_checked("/a%00", open).unwrap(), "/a%00");
        let found = normalize("/%2F%5c%3B", true).unwrap().encoded;
        assert_eq!(
            found,
            Encoded::SLASH
                .union(Encoded::BACKSLASH)
                .union(Encoded::SEMICOLON)
        );
    }

    #[test]
    fn malformed_escapes_are_refused() {
        for path in ["/100%", "/a%2", "/a%zz", "/%%61dmin", "/%G1"] {
            assert_eq!(
                normalize(path, true).unwrap_err(),
                PathError::InvalidEscape,
                "{path}"
            );
        }
    }

    #[test]
    fn rule_literals_take_the_canonical_form_requests_are_compared_in() {
        let cases = [
            ("/admin", "/admin"),
            ("/café", "/caf%C3%A9"),
            ("/caf%c3%a9", "/caf%C3%A9"),
            ("/%61dmin", "/admin"),
            ("/a b", "/a%20b"),
            ("/100%", "/100%25"),
            ("/a;b=c", "/a;b=c"),
        ];
        for (literal, want) in cases {
            assert_eq!(canonical_rule_path(literal), want, "{literal}");
            assert_eq!(norm(want), want, "{literal}: the canonical form is normal");
        }
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        for p in [
            "/%2561",
            "/a/%2e%2e/%2E%2e/b",
            "/x/%252e%252e/admin",
            "/%7E//./a/",
            "/a%3b/..",
        ] {
            let once = norm(p);
            assert_eq!(norm(&once), once, "{p}");
        }
    }
}
