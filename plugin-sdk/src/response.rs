//! The response view lent to `on_response`.

use crate::EditError;
use crate::request::bytes_to_string;

/// The upstream's (or an earlier middleware's) response head, lent to
/// [`Middleware::on_response`](crate::Middleware::on_response).
///
/// Like [`Request`](crate::Request): a handle to the host's head in the component (one host call
/// per method), a `testing::TestResponse` natively. Header names are case-insensitive.
pub struct Response<'a> {
    head: ResponseRef<'a>,
}

#[cfg(target_arch = "wasm32")]
pub(crate) type ResponseRef<'a> = &'a crate::guest::wit::http::Response;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) type ResponseRef<'a> = &'a mut crate::testing::TestResponse;

/// The operations a response backend (host resource or test double) provides.
pub(crate) trait ResponseHead {
    fn status(&self) -> u16;
    fn set_status(&mut self, status: u16) -> Result<(), EditError>;
    fn header(&self, name: &str) -> Option<Vec<u8>>;
    fn header_all(&self, name: &str) -> Vec<Vec<u8>>;
    fn headers(&self) -> Vec<(String, Vec<u8>)>;
    fn set_header(&mut self, name: &str, value: &[u8]) -> Result<(), EditError>;
    fn append_header(&mut self, name: &str, value: &[u8]) -> Result<(), EditError>;
    fn remove_header(&mut self, name: &str);
}

impl<'a> Response<'a> {
    pub(crate) fn new(head: ResponseRef<'a>) -> Self {
        Response { head }
    }

    /// The host resource (or test double) behind this view, for capability calls.
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub(crate) fn backend(&mut self) -> &mut ResponseRef<'a> {
        &mut self.head
    }

    /// Status code.
    pub fn status(&self) -> u16 {
        ResponseHead::status(&self.head)
    }

    /// Replace the status code; 200..=599 (no interim 1xx), else [`EditError::Invalid`].
    pub fn set_status(&mut self, status: u16) -> Result<(), EditError> {
        ResponseHead::set_status(&mut self.head, status)
    }

    /// First value of a header, if present.
    pub fn header(&self, name: &str) -> Option<Vec<u8>> {
        ResponseHead::header(&self.head, name)
    }

    /// First value of a header as text (lossless only if it is UTF-8; see
    /// [`Request::header_str`](crate::Request::header_str)).
    pub fn header_str(&self, name: &str) -> Option<String> {
        self.header(name).map(bytes_to_string)
    }

    /// Every value of a header, in order.
    pub fn header_all(&self, name: &str) -> Vec<Vec<u8>> {
        ResponseHead::header_all(&self.head, name)
    }

    /// Every header (lower-case name, value) in order; copies the whole head.
    pub fn headers(&self) -> Vec<(String, Vec<u8>)> {
        ResponseHead::headers(&self.head)
    }

    /// Replace every value of a header with one value.
    pub fn set_header(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), EditError> {
        ResponseHead::set_header(&mut self.head, name, value.as_ref())
    }

    /// Add a value after the existing ones.
    pub fn append_header(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), EditError> {
        ResponseHead::append_header(&mut self.head, name, value.as_ref())
    }

    /// Remove every value of a header; removing an absent header is not an error.
    pub fn remove_header(&mut self, name: &str) {
        ResponseHead::remove_header(&mut self.head, name);
    }
}
