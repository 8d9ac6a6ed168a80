//! The edits a plugin makes to a lent head, each checked so the head stays a valid HTTP head
//! within the middleware's budget: path and query, per-request scratch, status, headers. Runs
//! inside host calls from the guest; each check is one pass over the input.

use http::header::{HeaderName, HeaderValue};
use http::uri::PathAndQuery;
use http::{HeaderMap, Uri};

use super::bindings::EditError;
use super::edit_list::Edit;
use super::heads::{
    MAX_HEADER_VALUE_BYTES, MAX_STATE_BYTES, RequestHeadFields, ResponseHead, STATUS_RANGE,
};
use super::memo_record::MemoRecord;

impl RequestHeadFields {
    pub fn set_path(&mut self, path: &str) -> Result<(), EditError> {
        if !path.starts_with('/') {
            return Err(EditError::Invalid("path must start with '/'".into()));
        }
        if path.contains('?') || path.contains('#') {
            return Err(EditError::Invalid(
                "path must not contain '?' or '#'".into(),
            ));
        }
        let pq = match self.parts.uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        self.replace_path_and_query(&pq)
    }

    pub fn set_query(&mut self, query: Option<&str>) -> Result<(), EditError> {
        let path = self.parts.uri.path();
        let pq = match query {
            Some(q) if q.contains('#') => {
                return Err(EditError::Invalid("query must not contain '#'".into()));
            }
            Some(q) => format!("{path}?{q}"),
            None => path.to_owned(),
        };
        self.replace_path_and_query(&pq)
    }

    fn replace_path_and_query(&mut self, pq: &str) -> Result<(), EditError> {
        let pq = PathAndQuery::try_from(pq)
            .map_err(|e| EditError::Invalid(format!("invalid path or query: {e}")))?;
        let mut uri_parts = self.parts.uri.clone().into_parts();
        uri_parts.path_and_query = Some(pq);
        // An authority-form target (CONNECT) has no path to replace: refuse, keep the target.
        self.parts.uri = Uri::from_parts(uri_parts).map_err(|e| {
            EditError::Invalid(format!("this request target has no path to set: {e}"))
        })?;
        Ok(())
    }

    pub fn set_state(&mut self, value: Vec<u8>) -> Result<(), EditError> {
        if value.len() > MAX_STATE_BYTES {
            return Err(EditError::LimitExceeded);
        }
        if self.current >= self.chain_len {
            return Err(EditError::Invalid(
                "no state slot for this middleware".into(),
            ));
        }
        if self.states.is_empty() {
            self.states = vec![None; self.chain_len];
        }
        self.states[self.current] = Some(value);
        Ok(())
    }
}

impl ResponseHead {
    pub fn set_status(&mut self, status: u16) -> Result<(), EditError> {
        self.parts.status = valid_status(status)?;
        Ok(())
    }
}

/// A status a plugin may set or reply with: [`STATUS_RANGE`], 200..=599 (a plugin cannot
/// produce interim 1xx).
pub fn valid_status(status: u16) -> Result<http::StatusCode, EditError> {
    if !STATUS_RANGE.contains(&status) {
        return Err(EditError::Invalid(format!(
            "status {status} is outside {}..={}",
            STATUS_RANGE.start(),
            STATUS_RANGE.end()
        )));
    }
    http::StatusCode::from_u16(status)
        .map_err(|_| EditError::Invalid(format!("invalid status {status}")))
}

/// Parses a header name as a plugin wrote it.
pub fn header_name(name: &str) -> Result<HeaderName, EditError> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| EditError::InvalidHeaderName)
}

/// Parses a header value as a plugin wrote it (no NUL, CR, LF; bounded size). Takes ownership
/// of the bytes the guest's string was lowered into: no second copy.
pub fn header_value(value: Vec<u8>) -> Result<HeaderValue, EditError> {
    if value.len() > MAX_HEADER_VALUE_BYTES {
        return Err(EditError::LimitExceeded);
    }
    HeaderValue::from_maybe_shared(bytes::Bytes::from(value))
        .map_err(|_| EditError::InvalidHeaderValue)
}

/// Header edits shared by both heads, checked against the middleware's header budget.
pub struct HeaderEdits;

impl HeaderEdits {
    pub fn get(headers: &HeaderMap, name: &str) -> Option<Vec<u8>> {
        headers.get(name).map(|v| v.as_bytes().to_vec())
    }

    pub fn get_all(headers: &HeaderMap, name: &str) -> Vec<Vec<u8>> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.as_bytes().to_vec())
            .collect()
    }

    pub fn all(headers: &HeaderMap) -> Vec<(String, Vec<u8>)> {
        headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    pub fn set(
        headers: &mut HeaderMap,
        max_headers: usize,
        name: &str,
        value: Vec<u8>,
    ) -> Result<(), EditError> {
        Self::set_parsed(
            headers,
            max_headers,
            header_name(name)?,
            header_value(value)?,
        )
    }

    /// [`HeaderEdits::set`] with the name and value parsed.
    pub fn set_parsed(
        headers: &mut HeaderMap,
        max_headers: usize,
        name: HeaderName,
        value: HeaderValue,
    ) -> Result<(), EditError> {
        let existing = headers.get_all(&name).iter().count();
        if headers.len() - existing + 1 > max_headers {
            return Err(EditError::LimitExceeded);
        }
        // `HeaderMap` holds at most 32 768 entries whatever the budget says.
        headers
            .try_insert(name, value)
            .map_err(|_| EditError::LimitExceeded)?;
        Ok(())
    }

    pub fn append(
        headers: &mut HeaderMap,
        max_headers: usize,
        name: &str,
        value: Vec<u8>,
    ) -> Result<(), EditError> {
        Self::append_parsed(
            headers,
            max_headers,
            header_name(name)?,
            header_value(value)?,
        )
    }

    /// [`HeaderEdits::append`] with the name and value parsed.
    pub fn append_parsed(
        headers: &mut HeaderMap,
        max_headers: usize,
        name: HeaderName,
        value: HeaderValue,
    ) -> Result<(), EditError> {
        if headers.len() + 1 > max_headers {
            return Err(EditError::LimitExceeded);
        }
        headers
            .try_append(name, value)
            .map_err(|_| EditError::LimitExceeded)?;
        Ok(())
    }

    /// [`HeaderEdits::set`], recorded for a verdict memo (`memo_record`): the edit made, or a
    /// refusal (which spoils the record).
    pub fn set_recorded(
        headers: &mut HeaderMap,
        max_headers: usize,
        name: &str,
        value: Vec<u8>,
        record: &mut MemoRecord,
    ) -> Result<(), EditError> {
        let set = |h: &mut HeaderMap, n: HeaderName, v: HeaderValue| {
            Self::set_parsed(h, max_headers, n, v)
        };
        recorded_edit(headers, name, value, record, set, Edit::Set)
    }

    /// [`HeaderEdits::append`], recorded (as [`HeaderEdits::set_recorded`]).
    pub fn append_recorded(
        headers: &mut HeaderMap,
        max_headers: usize,
        name: &str,
        value: Vec<u8>,
        record: &mut MemoRecord,
    ) -> Result<(), EditError> {
        let append = |h: &mut HeaderMap, n: HeaderName, v: HeaderValue| {
            Self::append_parsed(h, max_headers, n, v)
        };
        recorded_edit(headers, name, value, record, append, Edit::Append)
    }

    /// [`HeaderEdits::remove`], recorded; an invalid name removes nothing and records nothing.
    pub fn remove_recorded(headers: &mut HeaderMap, name: &str, record: &mut MemoRecord) {
        Self::remove(headers, name);
        if let Ok(name) = header_name(name) {
            record.edit(Some(Edit::Remove(name)));
        }
    }

    /// Removes every value of `name` (any case); an invalid name names no header. The name is
    /// looked up as given (`http` lower-cases it on the stack), not made an owned
    /// `HeaderName`, which allocates for a name outside the standard set.
    pub fn remove(headers: &mut HeaderMap, name: &str) {
        headers.remove(name);
    }
}

fn parsed(name: &str, value: Vec<u8>) -> Result<(HeaderName, HeaderValue), EditError> {
    Ok((header_name(name)?, header_value(value)?))
}

/// Parses `name` and `value`, makes the edit with `make` and records it as `edit` (a refusal
/// spoils the record): the shared body of the recorded set and append.
fn recorded_edit(
    headers: &mut HeaderMap,
    name: &str,
    value: Vec<u8>,
    record: &mut MemoRecord,
    make: impl FnOnce(&mut HeaderMap, HeaderName, HeaderValue) -> Result<(), EditError>,
    edit: fn(HeaderName, HeaderValue) -> Edit,
) -> Result<(), EditError> {
    let made = parsed(name, value).and_then(|(name, value)| {
        make(headers, name.clone(), value.clone())?;
        Ok(edit(name, value))
    });
    recorded(made, record)
}

fn recorded(result: Result<Edit, EditError>, record: &mut MemoRecord) -> Result<(), EditError> {
    match result {
        Ok(edit) => {
            record.edit(Some(edit));
            Ok(())
        }
        Err(e) => {
            record.edit(None);
            Err(e)
        }
    }
}

/// The host enforces the contract's limits: the values plugin-sdk checks and the WIT states
/// (plugin-contract's own test holds the WIT text to them).
#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::plugins::heads::RequestHead;

    fn request_head() -> RequestHead {
        let (parts, ()) = http::Request::new(()).into_parts();
        RequestHead::at(parts, SocketAddr::from(([127, 0, 0, 1], 1)))
    }

    #[test]
    fn a_plugin_may_set_exactly_the_statuses_200_to_599() {
        assert_eq!(STATUS_RANGE, 200..=599);
        for status in 0..=1000 {
            assert_eq!(
                valid_status(status).is_ok(),
                STATUS_RANGE.contains(&status),
                "{status}"
            );
        }
        let (parts, ()) = http::Response::new(()).into_parts();
        let mut response = ResponseHead::new(parts);
        assert!(matches!(
            response.set_status(103),
            Err(EditError::Invalid(_))
        ));
        assert_eq!(response.parts.status, http::StatusCode::OK);
    }

    #[test]
    fn header_values_over_the_contract_limit_are_limit_exceeded() {
        assert!(header_value(vec![b'a'; MAX_HEADER_VALUE_BYTES]).is_ok());
        assert!(matches!(
            header_value(vec![b'a'; MAX_HEADER_VALUE_BYTES + 1]),
            Err(EditError::LimitExceeded)
        ));
    }

    #[test]
    fn remove_takes_every_value_of_a_name_in_any_case_and_ignores_invalid_names() {
        let mut headers = HeaderMap::new();
        headers.append("x-custom", HeaderValue::from_static("1"));
        headers.append("x-custom", HeaderValue::from_static("2"));
        headers.insert("accept", HeaderValue::from_static("*/*"));
        HeaderEdits::remove(&mut headers, "X-Custom");
        assert!(headers.get("x-custom").is_none());
        HeaderEdits::remove(&mut headers, "bad name\n");
        HeaderEdits::remove(&mut headers, "");
        assert_eq!(headers.len(), 1);
        HeaderEdits::remove(&mut headers, "ACCEPT");
        assert!(headers.is_empty());
    }

    #[test]
    fn state_over_the_contract_limit_is_limit_exceeded() {
        let mut head = request_head();
        assert!(head.set_state(vec![0; MAX_STATE_BYTES]).is_ok());
        assert!(matches!(
            head.set_state(vec![0; MAX_STATE_BYTES + 1]),
            Err(EditError::LimitExceeded)
        ));
        assert_eq!(head.state().map(|s| s.len()), Some(MAX_STATE_BYTES));
    }
}
