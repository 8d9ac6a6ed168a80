//! Traefik's regular expressions are Go's (RE2 syntax); Rust's `regex` crate is close but not the
//! same. This module rewrites a Go pattern into a Rust pattern with the same meaning, then
//! compiles it. Used by the regex plugins (`stripPrefixRegex`, `replacePathRegex`,
//! `redirectRegex`), which turn on this crate's `go-regex` feature.
//!
//! What differs, and what the rewrite does:
//! - `\d \w \s \b` (and `\D \W \S \B`) are ASCII-only in Go, Unicode-aware in Rust: they become
//!   explicit ASCII classes (`\s` is Go's `[\t\n\f\r ]`, without `\v`) and `(?-u:\b)`;
//! - inside a bracket class Go takes `[` (outside `[:name:]`), `&&`, `~~` and `--` literally,
//!   where Rust reads nested classes and set operations: they are escaped;
//! - `\Q...\E` quotes a literal in Go: it becomes the escaped literal;
//! - a `{` that does not start a repetition (`/{id}`) is a literal in Go: it is escaped, as is a
//!   stray `}`;
//! - octal escapes (`\101`) are on, as in Go.
//!
//! Everything else (flags `(?i)`, `(?s)`, `(?m)`, `(?U)`, named groups in either form, `\pL`,
//! `\p{Greek}`, `[[:alpha:]]`, `\z`, `\x{...}`) means the same in both and is copied. Case
//! folding and Unicode classes need the crate's `unicode-case`, `unicode-gencat` and
//! `unicode-script` features; Perl classes never reach the crate in Unicode form, so
//! `unicode-perl` is not needed.
//!
//! Runs at config load and once per instance; cost is one pass over the pattern plus the
//! crate's compilation.

/// A compiled pattern matching text (`str`), from [`compile`].
pub use regex::Regex;
/// A compiled pattern matching bytes, from [`compile_bytes`].
pub use regex::bytes::Regex as BytesRegex;

/// Deepest nesting of groups, repetitions and classes a pattern may have. The crate's compiler
/// recurses once per level, and in a plugin's 64 KiB guest stack 200 levels exhausted it: the
/// plugin trapped while loading its config instead of refusing the pattern. Go's own limit is
/// 1000; real patterns stay within a handful of levels.
pub const MAX_NESTING: u32 = 64;

/// Compiles a Go pattern for matching text (`str`).
pub fn compile(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(&translate(pattern))
        .octal(true)
        .nest_limit(MAX_NESTING)
        .build()
        .map_err(|e| describe(pattern, &e))
}

/// Compiles a Go pattern for matching bytes that may not be UTF-8 (a decoded path).
pub fn compile_bytes(pattern: &str) -> Result<BytesRegex, String> {
    regex::bytes::RegexBuilder::new(&translate(pattern))
        .octal(true)
        .nest_limit(MAX_NESTING)
        .build()
        .map_err(|e| describe(pattern, &e))
}

/// "invalid regular expression "pattern": <the crate's reason>" on one line.
fn describe(pattern: &str, error: &regex::Error) -> String {
    let reason = match error {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find(|line| line.trim_start().starts_with("error:"))
            .map(|line| {
                line.trim_start()
                    .trim_start_matches("error:")
                    .trim()
                    .to_string()
            })
            .unwrap_or_else(|| text.trim().to_string()),
        other => other.to_string(),
    };
    format!("invalid regular expression {pattern:?}: {reason}")
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
const SPACE: &str = r"\t\n\f\r ";

/// The Rust pattern with the Go pattern's meaning (see the module docs).
pub fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i = escape(&chars, i, &mut out, false),
            '[' => i = class(&chars, i, &mut out),
            '{' => match repetition_len(&chars[i..]) {
                Some(len) => {
                    out.extend(&chars[i..i + len]);
                    i += len;
                }
                None => {
                    out.push_str(r"\{");
                    i += 1;
                }
            },
            '}' => {
                out.push_str(r"\}");
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Length of a Go repetition `{n}`, `{n,}` or `{n,m}` at the start of `rest`, if it is one.
fn repetition_len(rest: &[char]) -> Option<usize> {
    let close = rest.iter().position(|&c| c == '}')?;
    let inner: String = rest[1..close].iter().collect();
    let (min, max) = match inner.split_once(',') {
        Some((min, max)) => (min, Some(max)),
        None => (inner.as_str(), None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let valid = digits(min) && max.is_none_or(|m| m.is_empty() || digits(m));
    valid.then_some(close + 1)
}

/// Rewrites the escape at `chars[i]` (a backslash); returns the index after it.
fn escape(chars: &[char], i: usize, out: &mut String, in_class: bool) -> usize {
    let Some(&e) = chars.get(i + 1) else {
        // A trailing backslash: left for the crate to refuse, as Go refuses it.
        out.push('\\');
        return i + 1;
    };
    let (set, negated) = match e {
        'd' => (DIGIT, false),
        'D' => (DIGIT, true),
        'w' => (WORD, false),
        'W' => (WORD, true),
        's' => (SPACE, false),
        'S' => (SPACE, true),
        'b' | 'B' if !in_class => {
            out.push_str(if e == 'b' { r"(?-u:\b)" } else { r"(?-u:\B)" });
            return i + 2;
        }
        'Q' if !in_class => {
            let rest: String = chars[i + 2..].iter().collect();
            let (literal, consumed) = match rest.find(r"\E") {
                Some(end) => (&rest[..end], end + 2),
                None => (rest.as_str(), rest.len()),
            };
            out.push_str(&regex::escape(literal));
            return i + 2 + literal_chars(&rest[..consumed]);
        }
        'p' | 'P' | 'x' => {
            // `\pL`, `\p{Greek}`, `\x7F`, `\x{10FFFF}`: same syntax in both; copy it whole.
            out.push('\\');
            out.push(e);
            let mut j = i + 2;
            if chars.get(j) == Some(&'{') {
                while j < chars.len() && chars[j] != '}' {
                    out.push(chars[j]);
                    j += 1;
                }
                if j < chars.len() {
                    out.push('}');
                    j += 1;
                }
            } else {
                let width = if e == 'x' { 2 } else { 1 };
                for &c in chars.iter().skip(j).take(width) {
                    out.push(c);
                    j += 1;
                }
            }
            return j;
        }
        other => {
            out.push('\\');
            out.push(other);
            return i + 2;
        }
    };
    match (in_class, negated) {
        (true, false) => out.push_str(set),
        // A nested class (Rust) inside the class being written.
        (_, true) => {
            out.push_str("[^");
            out.push_str(set);
            out.push(']');
        }
        (false, false) => {
            out.push('[');
            out.push_str(set);
            out.push(']');
        }
    }
    i + 2
}

fn literal_chars(text: &str) -> usize {
    text.chars().count()
}

/// Rewrites the bracket class starting at `chars[start]` (a `[`); returns the index after it.
fn class(chars: &[char], start: usize, out: &mut String) -> usize {
    out.push('[');
    let mut i = start + 1;
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    // Go (like POSIX) takes a `]` right after `[` or `[^` as a literal.
    if chars.get(i) == Some(&']') {
        out.push_str(r"\]");
        i += 1;
    }
    while i < chars.len() {
        match chars[i] {
            ']' => {
                out.push(']');
                return i + 1;
            }
            '\\' => i = escape(chars, i, out, true),
            '[' => match posix_class_len(&chars[i..]) {
                Some(len) => {
                    out.extend(&chars[i..i + len]);
                    i += len;
                }
                None => {
                    out.push_str(r"\[");
                    i += 1;
                }
            },
            '&' | '~' => {
                out.push('\\');
                out.push(chars[i]);
                i += 1;
            }
            // Rust's class difference operator; Go has none.
            '-' if chars.get(i + 1) == Some(&'-') => {
                out.push_str(r"\-\-");
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    // Unclosed: left for the crate to refuse, as Go refuses it.
    i
}

/// Length of `[:name:]` / `[:^name:]` at the start of `rest`, if it is one.
fn posix_class_len(rest: &[char]) -> Option<usize> {
    if rest.get(1) != Some(&':') {
        return None;
    }
    let mut j = 2;
    if rest.get(j) == Some(&'^') {
        j += 1;
    }
    let name_start = j;
    while rest.get(j).is_some_and(|c| c.is_ascii_lowercase()) {
        j += 1;
    }
    (j > name_start && rest.get(j) == Some(&':') && rest.get(j + 1) == Some(&']')).then_some(j + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_match(pattern: &str, text: &str) -> bool {
        compile(pattern)
            .unwrap_or_else(|e| panic!("{e}"))
            .is_match(text)
    }

    #[test]
    fn perl_classes_are_ascii_as_in_go() {
        assert!(is_match(r"^\w+$", "abc_09"));
        assert!(!is_match(r"^\w+$", "café"));
        assert!(!is_match(r"^\d$", "٣"));
        assert!(is_match(r"^\s$", "\u{c}"));
        assert!(!is_match(r"^\s$", "\u{b}"), "Go's \\s has no vertical tab");
        assert!(is_match(r"^\W$", "é"));
        assert!(is_match(r"^[\w.-]+$", "a.b-c"));
        assert!(!is_match(r"^[\w]+$", "é"));
        assert!(is_match(r"^[^\d]$", "x"));
        assert!(is_match(r"^[\D]$", "x"));
        assert!(!is_match(r"^[\D]$", "1"));
        assert!(is_match(r"\bfoo\b", "a foo b"));
        assert!(is_match(r"\Bo", "foo"));
    }

    #[test]
    fn class_literals_go_reads_literally() {
        assert!(is_match(r"^[[]$", "["));
        assert!(is_match(r"^[]a]+$", "]a"));
        assert!(is_match(r"^[^]a]$", "b"));
        assert!(is_match(r"^[a&&b]+$", "a&b"));
        assert!(is_match(r"^[~~]$", "~"));
        assert!(is_match(r"^[[:alpha:]]+$", "abc"));
        assert!(is_match(r"^[[:^digit:]]$", "a"));
    }

    #[test]
    fn quoting_braces_and_octal() {
        assert!(is_match(r"^\Qa.b*\E$", "a.b*"));
        assert!(!is_match(r"^\Qa.b\E$", "axb"));
        assert!(is_match(r"^\Q(unclosed", "(unclosed"));
        assert!(is_match(r"^/{id}$", "/{id}"));
        assert!(is_match(r"^a{2}$", "aa"));
        assert!(is_match(r"^a{2,}$", "aaa"));
        assert!(is_match(r"^a{1,2}b}$", "ab}"));
        assert!(is_match(r"^\101$", "A"));
    }

    #[test]
    fn shared_syntax_is_copied() {
        assert_eq!(
            translate(r"(?i)^/(?P<id>\pL+)\p{Greek}\x{41}\x41$"),
            r"(?i)^/(?P<id>\pL+)\p{Greek}\x{41}\x41$"
        );
        assert!(is_match(r"(?i)^/API", "/api"));
        assert!(is_match(r"^/(?<v>v\d)/", "/v1/x"));
    }

    #[test]
    fn errors_name_the_pattern_on_one_line() {
        let err = compile("/api/(").err().unwrap_or_default();
        assert!(
            err.starts_with(r#"invalid regular expression "/api/(": "#),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
        assert!(compile(r"\").is_err());
        assert!(compile(r"[a").is_err());
        assert!(compile_bytes(r"^/x").is_ok());
    }

    /// `depth` groups, one inside the other, around `a`.
    fn nested(depth: u32) -> String {
        let depth = depth as usize;
        format!("{}a{}", "(".repeat(depth), ")".repeat(depth))
    }

    #[test]
    fn patterns_nested_past_the_limit_are_refused_not_compiled() {
        assert!(compile(&nested(MAX_NESTING - 1)).is_ok());
        assert!(compile_bytes(&nested(MAX_NESTING - 1)).is_ok());
        for too_deep in [nested(MAX_NESTING + 1), nested(1000)] {
            let err = compile(&too_deep).err().unwrap_or_default();
            assert!(err.contains("nest"), "{err}");
            assert!(!err.contains('\n'), "{err}");
            assert!(compile_bytes(&too_deep).is_err());
        }
    }
}
