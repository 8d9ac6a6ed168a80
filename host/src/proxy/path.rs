//! Path normalisation, applied once before routing so the router, every plugin and the
//! upstream see the same path.
//!
//! Resolves `.` and `..` segments (RFC 3986 §5.2.4); `..` never climbs above the root.
//! Percent-encoding is left as sent. (Encoded dot segments and encoded slashes are a hardening
//! issue of their own.)

use std::borrow::Cow;

/// The normalised form of `path`; borrowed when nothing changes (the common case, no allocation).
pub fn normalize(path: &str) -> Cow<'_, str> {
    if !needs_work(path) {
        return Cow::Borrowed(path);
    }
    let mut out: Vec<&str> = Vec::new();
    let trailing_slash = path.ends_with("/.") || path.ends_with("/..") || path.ends_with('/');
    for seg in path.split('/').skip(1) {
        match seg {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    // `split` yields a final "" for a trailing slash; drop it and re-add the slash once.
    if out.last() == Some(&"") {
        out.pop();
    }
    let mut s = String::with_capacity(path.len());
    for seg in &out {
        s.push('/');
        s.push_str(seg);
    }
    if trailing_slash || s.is_empty() {
        s.push('/');
    }
    Cow::Owned(s)
}

/// Only origin-form paths with a dot segment change (`*` and the like pass through).
fn needs_work(path: &str) -> bool {
    path.starts_with('/') && path.split('/').any(|seg| seg == "." || seg == "..")
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn clean_paths_are_borrowed_unchanged() {
        for p in ["/", "/a", "/a/b/", "/a.b/c..d", "/%2e%2e", "*"] {
            assert!(
                matches!(normalize(p), std::borrow::Cow::Borrowed(x) if x == p),
                "{p}"
            );
        }
    }

    #[test]
    fn dot_segments_are_resolved() {
        let cases = [
            ("/a/./b", "/a/b"),
            ("/a/../b", "/b"),
            ("/../../a", "/a"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/api/../admin", "/admin"),
            ("/..", "/"),
            ("/a//../b", "/a/b"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input), want, "{input}");
        }
    }
}
