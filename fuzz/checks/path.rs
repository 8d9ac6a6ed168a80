//! Path normalisation: [`normalize`] on any path, under every [`PathPolicy`], never panics, is
//! idempotent (the router, the plugins and the upstream see one path, whichever normalised it),
//! keeps a leading `/`, leaves no `.` or `..` segment in any spelling (`%2e`, `.%2E`...), leaves
//! no `//` when slashes are merged, and refuses exactly the encodings the policy forbids.

use wasmgate::proxy::path::{PathError, PathPolicy, normalize};

/// The check libFuzzer and the corpus regression test run on one input. Request targets reach
/// the normaliser as text, so other bytes are not a path. Panics when a property fails.
pub fn check_path(data: &[u8]) {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    for bits in 0..8u8 {
        let policy = PathPolicy {
            allow_encoded_slash: bits & 1 != 0,
            allow_encoded_backslash: bits & 2 != 0,
            merge_slashes: bits & 4 != 0,
        };
        check_under(path, policy);
    }
}

fn check_under(path: &str, policy: PathPolicy) {
    let expected_refusal = refusal(path, policy);
    let once = match normalize(path, policy) {
        Ok(once) => once,
        Err(error) => {
            assert!(
                expected_refusal.is_some(),
                "{path:?} refused ({error}) under {policy:?}, but has no forbidden encoding"
            );
            return;
        }
    };
    assert!(
        expected_refusal.is_none(),
        "{path:?} accepted as {once:?} under {policy:?}, but has {expected_refusal:?}"
    );
    match normalize(&once, policy) {
        Ok(twice) => assert_eq!(
            twice, once,
            "normalising {path:?} twice gives another path under {policy:?}"
        ),
        Err(error) => panic!("{path:?} normalises to {once:?}, which is then refused: {error}"),
    }
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
}

/// The refusal the policy calls for: an encoded NUL always, an encoded slash or backslash
/// unless allowed.
fn refusal(path: &str, policy: PathPolicy) -> Option<PathError> {
    let lower = path.to_ascii_lowercase();
    if lower.contains("%00") {
        Some(PathError::EncodedNul)
    } else if !policy.allow_encoded_slash && lower.contains("%2f") {
        Some(PathError::EncodedSlash)
    } else if !policy.allow_encoded_backslash && lower.contains("%5c") {
        Some(PathError::EncodedBackslash)
    } else {
        None
    }
}

/// `.` or `..`, each dot written as `.` or `%2e` in either case.
fn is_dot_segment(segment: &str) -> bool {
    let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}
