//! A list of checked request or response header edits, applied in order: what a middleware
//! declared as fixed edits (`fixed_edits`) and what a remembered `on-request` call made
//! (`verdict_memo`). Per edit: one header-map insert, append or remove (names and values were
//! parsed once; each applied edit clones a `HeaderValue`, a reference-count increment).

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};

/// One checked edit, with the semantics of the head's host call of the same name.
#[derive(Debug, Clone)]
pub enum Edit {
    Set(HeaderName, HeaderValue),
    Append(HeaderName, HeaderValue),
    Remove(HeaderName),
}

/// Applies `edits` in order. An edit that would take the headers past `max_headers` (the
/// middleware's header budget) is skipped, as the host call would have refused it with
/// `limit-exceeded`.
pub fn apply(edits: &[Edit], headers: &mut HeaderMap, max_headers: usize) {
    for edit in edits {
        match edit {
            Edit::Set(name, value) => {
                // Below the budget a set always fits; at it, only by replacing the name's values
                // (counted then: a look-up hashes the name, ≈ 120 instructions an edit).
                let fits = headers.len() < max_headers
                    || headers.len() - headers.get_all(name).iter().count() < max_headers;
                if fits {
                    // `HeaderMap` holds at most 32 768 entries: beyond, skipped as well.
                    let _ = headers.try_insert(name.clone(), value.clone());
                }
            }
            Edit::Append(name, value) => {
                if headers.len() < max_headers {
                    let _ = headers.try_append(name.clone(), value.clone());
                }
            }
            Edit::Remove(name) => {
                headers.remove(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &'static str) -> HeaderValue {
        HeaderValue::from_static(text)
    }

    /// At the budget a set still replaces the values its name holds (it adds no header), and a
    /// set of a new name or an append is skipped; below it everything applies.
    #[test]
    fn a_set_at_the_header_budget_replaces_but_does_not_add() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", value("1"));
        headers.insert("x-b", value("2"));
        headers.insert("x-d", value("3"));
        let edits = [
            Edit::Set(HeaderName::from_static("x-a"), value("new")),
            Edit::Set(HeaderName::from_static("x-c"), value("skipped")),
            Edit::Append(HeaderName::from_static("x-b"), value("skipped")),
        ];
        apply(&edits, &mut headers, 3);
        let a: Vec<_> = headers.get_all("x-a").iter().collect();
        assert_eq!(a, ["new"]);
        assert!(headers.get("x-c").is_none());
        assert_eq!(headers.get_all("x-b").iter().count(), 1);
        apply(&edits, &mut headers, 10);
        assert_eq!(
            headers.get("x-c").map(|v| v.as_bytes()),
            Some(&b"skipped"[..])
        );
        assert_eq!(headers.get_all("x-b").iter().count(), 2);
    }
}
