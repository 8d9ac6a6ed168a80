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
                let existing = headers.get_all(name).iter().count();
                if headers.len() - existing < max_headers {
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
