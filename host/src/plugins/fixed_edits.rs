//! A middleware's per-request work declared as fixed header edits (`fixed-edits` in the
//! contract): checked once at config time, then applied by the chain natively where the hooks
//! would have run, with no instance checked out and no hook or host call. Per request: one
//! header-map insert, append or remove per edit (`edit_list`; names and values parsed once,
//! here).

use http::HeaderMap;

use super::bindings::EditError;
use super::bindings::fixed_edits::{Edits, HeaderEdit};
use super::edit_list::{Edit, apply};
use super::head_edits::{header_name, header_value};

/// What a middleware's hooks always do, as checked edits (`PluginMiddleware::fixed_edits`).
#[derive(Debug, Clone, Default)]
pub struct FixedEdits {
    request: Box<[Edit]>,
    response: Box<[Edit]>,
}

impl FixedEdits {
    /// Checks the plugin's answer as the `set-header` host call checks its arguments (header
    /// name, value bytes and size); the first invalid edit is the error, naming it.
    pub fn check(declared: Edits) -> Result<Self, String> {
        Ok(FixedEdits {
            request: checked(declared.request_headers, "request")?,
            response: checked(declared.response_headers, "response")?,
        })
    }

    /// Applies the request edits, in order, to a request's headers. An edit that would take
    /// them past `max_headers` (the middleware's header budget) is skipped, as the host call
    /// would have refused it with `limit-exceeded`.
    pub fn apply_request(&self, headers: &mut HeaderMap, max_headers: usize) {
        apply(&self.request, headers, max_headers);
    }

    /// The same with the response edits, on a response's headers.
    pub fn apply_response(&self, headers: &mut HeaderMap, max_headers: usize) {
        apply(&self.response, headers, max_headers);
    }
}

fn checked(edits: Vec<HeaderEdit>, side: &str) -> Result<Box<[Edit]>, String> {
    let invalid = |what: &str, name: &str, e: EditError| {
        let why = match e {
            EditError::InvalidHeaderName => "not a valid header name".to_owned(),
            EditError::InvalidHeaderValue => "the value has a byte HTTP forbids".to_owned(),
            EditError::LimitExceeded => "the value is over 16 KiB".to_owned(),
            EditError::Invalid(why) => why,
        };
        format!("{side} edit {what} {name:?}: {why}")
    };
    edits
        .into_iter()
        .map(|edit| match edit {
            HeaderEdit::Set((name, value)) => Ok(Edit::Set(
                header_name(&name).map_err(|e| invalid("set", &name, e))?,
                header_value(value).map_err(|e| invalid("set", &name, e))?,
            )),
            HeaderEdit::Append((name, value)) => Ok(Edit::Append(
                header_name(&name).map_err(|e| invalid("append", &name, e))?,
                header_value(value).map_err(|e| invalid("append", &name, e))?,
            )),
            HeaderEdit::Remove(name) => Ok(Edit::Remove(
                header_name(&name).map_err(|e| invalid("remove", &name, e))?,
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use http::header::HeaderValue;

    use super::*;

    fn edits(request: Vec<HeaderEdit>, response: Vec<HeaderEdit>) -> Edits {
        Edits {
            request_headers: request,
            response_headers: response,
        }
    }

    #[test]
    fn fixed_edits_apply_in_order_as_the_host_calls_would() {
        let fixed = FixedEdits::check(edits(
            vec![
                HeaderEdit::Set(("x-a".into(), b"1".to_vec())),
                HeaderEdit::Append(("x-a".into(), b"2".to_vec())),
                HeaderEdit::Remove("x-gone".into()),
                HeaderEdit::Set(("x-b".into(), b"3".to_vec())),
            ],
            vec![],
        ))
        .expect("valid");
        let mut headers = HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_static("old"));
        headers.insert("x-gone", HeaderValue::from_static("bye"));
        fixed.apply_request(&mut headers, usize::MAX);
        let a: Vec<_> = headers.get_all("x-a").iter().collect();
        assert_eq!(a, ["1", "2"]);
        assert!(headers.get("x-gone").is_none());
        assert_eq!(headers.get("x-b").map(|v| v.as_bytes()), Some(&b"3"[..]));
        let mut response = HeaderMap::new();
        fixed.apply_response(&mut response, usize::MAX);
        assert!(response.is_empty());
    }

    #[test]
    fn an_edit_past_the_header_budget_is_skipped() {
        let fixed = FixedEdits::check(edits(
            vec![
                HeaderEdit::Set(("x-a".into(), b"1".to_vec())),
                HeaderEdit::Set(("x-b".into(), b"2".to_vec())),
                HeaderEdit::Append(("x-a".into(), b"3".to_vec())),
            ],
            vec![],
        ))
        .expect("valid");
        let mut headers = HeaderMap::new();
        fixed.apply_request(&mut headers, 1);
        assert_eq!(headers.len(), 1);
        assert!(headers.get("x-b").is_none());
    }

    #[test]
    fn an_invalid_fixed_edit_is_refused_naming_it() {
        let bad_name = FixedEdits::check(edits(
            vec![HeaderEdit::Set(("bad name".into(), b"v".to_vec()))],
            vec![],
        ));
        let err = bad_name.expect_err("a space in a name");
        assert!(err.contains("request edit set \"bad name\""), "{err}");
        let bad_value = FixedEdits::check(edits(
            vec![],
            vec![HeaderEdit::Append(("x-ok".into(), b"a\r\nb".to_vec()))],
        ));
        let err = bad_value.expect_err("CR LF in a value");
        assert!(err.contains("response edit append \"x-ok\""), "{err}");
        assert!(FixedEdits::check(edits(vec![HeaderEdit::Remove("".into())], vec![])).is_err());
    }
}
