//! The in-memory response double.

use super::fields::{self, Fields};
use crate::EditError;
use crate::request::bytes_to_string;
use crate::response::ResponseHead;
use crate::rules::{DEFAULT_MAX_HEADERS, check_status};

/// A response head in memory, lent to `on_response` by [`on_response`](super::on_response).
/// Edits follow the host's rules (status 200..=599, RFC 9110 header names and values, the
/// default budget of 100 header values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResponse {
    /// Status code, as edited by the plugin.
    pub status: u16,
    /// Header fields in order, names lower-case.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Most header values a plugin's edit may leave in the head (the middleware's `maxHeaders`).
    pub max_headers: usize,
    /// The response body as the host would hold it for a middleware granted `body`
    /// (`body::response_body`); `None`: not held.
    pub body: Option<Vec<u8>>,
    /// The encoding the last hook asked the host to compress the body with
    /// (`compression::compress_response`).
    pub compress_with: Option<crate::compression::Encoding>,
}

impl TestResponse {
    /// A response with this status and no headers.
    ///
    /// # Panics
    /// If the status is outside 100..=599: no upstream response has one.
    #[track_caller]
    pub fn new(status: u16) -> Self {
        if !(100..=599).contains(&status) {
            panic!("TestResponse: status {status} is outside 100..=599");
        }
        TestResponse {
            status,
            headers: Vec::new(),
            max_headers: DEFAULT_MAX_HEADERS,
            body: None,
            compress_with: None,
        }
    }

    /// Set the header budget edits are checked against (default 100, as the gateway).
    pub fn max_headers(mut self, max_headers: usize) -> Self {
        self.max_headers = max_headers;
        self
    }

    /// Add a header field.
    ///
    /// # Panics
    /// If the name or value breaks the rules in [`crate::rules`].
    #[track_caller]
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        fields::build(&mut self.headers, name, value.as_ref());
        self
    }

    /// First value of a header (case-insensitive).
    pub fn header_bytes(&self, name: &str) -> Option<Vec<u8>> {
        fields::get(&self.headers, name)
    }

    /// First value of a header as text (lossy if not UTF-8).
    pub fn header_str(&self, name: &str) -> Option<String> {
        self.header_bytes(name).map(bytes_to_string)
    }

    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<Vec<u8>> {
        fields::get_all(&self.headers, name)
    }
}

impl ResponseHead for &mut TestResponse {
    fn status(&self) -> u16 {
        self.status
    }
    fn set_status(&mut self, status: u16) -> Result<(), EditError> {
        check_status(status)?;
        self.status = status;
        Ok(())
    }
    fn header(&self, name: &str) -> Option<Vec<u8>> {
        fields::get(&self.headers, name)
    }
    fn header_all(&self, name: &str) -> Vec<Vec<u8>> {
        fields::get_all(&self.headers, name)
    }
    fn headers(&self) -> Fields {
        self.headers.clone()
    }
    fn set_header(&mut self, name: &str, value: &[u8]) -> Result<(), EditError> {
        fields::set(&mut self.headers, self.max_headers, name, value)
    }
    fn append_header(&mut self, name: &str, value: &[u8]) -> Result<(), EditError> {
        fields::append(&mut self.headers, self.max_headers, name, value)
    }
    fn remove_header(&mut self, name: &str) {
        fields::remove(&mut self.headers, name);
    }
}
