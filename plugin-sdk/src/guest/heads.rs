//! [`RequestHead`] and [`ResponseHead`] over the host's resources: each method is one host call.

use super::wit::http::{Request as HostRequest, Response as HostResponse};
use super::wit::types::EditError as HostEditError;
use crate::EditError;
use crate::request::RequestHead;
use crate::response::ResponseHead;

fn edit(result: Result<(), HostEditError>) -> Result<(), EditError> {
    result.map_err(|e| match e {
        HostEditError::InvalidHeaderName => EditError::InvalidHeaderName,
        HostEditError::InvalidHeaderValue => EditError::InvalidHeaderValue,
        HostEditError::LimitExceeded => EditError::LimitExceeded,
        HostEditError::Invalid(why) => EditError::Invalid(why),
    })
}

impl RequestHead for &HostRequest {
    fn method(&self) -> String {
        HostRequest::method(self)
    }
    fn scheme(&self) -> String {
        HostRequest::scheme(self)
    }
    fn authority(&self) -> Option<String> {
        HostRequest::authority(self)
    }
    fn path(&self) -> String {
        HostRequest::path(self)
    }
    fn raw_path(&self) -> String {
        HostRequest::raw_path(self)
    }
    fn query(&self) -> Option<String> {
        HostRequest::query(self)
    }
    fn set_path(&mut self, path: &str) -> Result<(), EditError> {
        edit(HostRequest::set_path(self, path))
    }
    fn set_query(&mut self, query: Option<&str>) -> Result<(), EditError> {
        edit(HostRequest::set_query(self, query))
    }
    fn header(&self, name: &str) -> Option<Vec<u8>> {
        HostRequest::header(self, name)
    }
    fn header_all(&self, name: &str) -> Vec<Vec<u8>> {
        HostRequest::header_all(self, name)
    }
    fn headers(&self) -> Vec<(String, Vec<u8>)> {
        HostRequest::headers(self)
    }
    fn set_header(&mut self, name: &str, value: &[u8]) -> Result<(), EditError> {
        edit(HostRequest::set_header(self, name, value))
    }
    fn append_header(&mut self, name: &str, value: &[u8]) -> Result<(), EditError> {
        edit(HostRequest::append_header(self, name, value))
    }
    fn remove_header(&mut self, name: &str) {
        HostRequest::remove_header(self, name);
    }
    fn client_addr(&self) -> String {
        HostRequest::client_addr(self)
    }
    fn is_tls(&self) -> bool {
        HostRequest::is_tls(self)
    }
    fn router_name(&self) -> String {
        HostRequest::router_name(self)
    }
    fn state(&self) -> Option<Vec<u8>> {
        HostRequest::get_state(self)
    }
    fn set_state(&mut self, value: &[u8]) -> Result<(), EditError> {
        edit(HostRequest::set_state(self, value))
    }
}

impl ResponseHead for &HostResponse {
    fn status(&self) -> u16 {
        HostResponse::status(self)
    }
    fn set_status(&mut self, status: u16) -> Result<(), EditError> {
        edit(HostResponse::set_status(self, status))
    }
    fn header(&self, name: &str) -> Option<Vec<u8>> {
        HostResponse::header(self, name)
    }
    fn header_all(&self, name: &str) -> Vec<Vec<u8>> {
        HostResponse::header_all(self, name)
    }
    fn headers(&self) -> Vec<(String, Vec<u8>)> {
        HostResponse::headers(self)
    }
    fn set_header(&mut self, name: &str, value: &[u8]) -> Result<(), EditError> {
        edit(HostResponse::set_header(self, name, value))
    }
    fn append_header(&mut self, name: &str, value: &[u8]) -> Result<(), EditError> {
        edit(HostResponse::append_header(self, name, value))
    }
    fn remove_header(&mut self, name: &str) {
        HostResponse::remove_header(self, name);
    }
}
