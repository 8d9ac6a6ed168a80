//! The in-memory request double.

use super::fields::{self, Fields};
use crate::EditError;
use crate::request::{RequestHead, bytes_to_string};
use crate::rules::{DEFAULT_MAX_HEADERS, check_path, check_query, check_state};

/// A request head in memory, lent to a plugin's hooks by [`on_request`](super::on_request) and
/// [`on_response`](super::on_response). Edits follow the host's rules (see [`crate::rules`]), so a
/// test sees the same [`EditError`]s the gateway would return.
///
/// Build it with the constructors and builder methods; inspect it after a hook through the public
/// fields and the `header_*` getters. Defaults: `GET`, scheme `http`, no authority, no query, no
/// headers, client `127.0.0.1:40000`, gateway address `127.0.0.1:8080`, not redirected, no TLS
/// (no client certificates), router `test-router`, no state, and the gateway's
/// default header budget (an edit may not leave more than 100 header values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRequest {
    /// Method, upper-case.
    pub method: String,
    /// `http` or `https`.
    pub scheme: String,
    /// Host (and port).
    pub authority: Option<String>,
    /// Normalised path, as edited by the plugin.
    pub path: String,
    /// Path as the client sent it.
    pub raw_path: String,
    /// Query without `?`, as edited by the plugin.
    pub query: Option<String>,
    /// Header fields in order, names lower-case.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Client `ip:port`.
    pub client_addr: String,
    /// Whether the client used TLS.
    pub tls: bool,
    /// Name of the matched router.
    pub router_name: String,
    /// The middleware's per-request scratch.
    pub state: Option<Vec<u8>>,
    /// Most header values a plugin's edit may leave in the head (the middleware's `maxHeaders`).
    pub max_headers: usize,
    /// Keys this request is counted in flight under (`counters::acquire_in_flight`), until
    /// [`release_in_flight`](crate::testing::release_in_flight) plays the host's release.
    pub in_flight: Vec<String>,
    /// The subrequest the last hook recorded (`outbound::send`), as the host would send it.
    pub subrequest: Option<crate::outbound::Subrequest>,
    /// The request body as the host would hold it for a middleware granted `body`
    /// (`body::request_body`); `None`: not held (not granted, or over the cap).
    pub body: Option<Vec<u8>>,
    /// The client certificates of the connection, DER, leaf first
    /// (`client_connection::client_certificates`).
    pub client_certificates: Vec<Vec<u8>>,
    /// The gateway's address the connection arrived on (`client_connection::local_addr`).
    pub local_addr: String,
    /// The original destination of a redirected connection (`client_connection::original_destination`
    /// answers it, else `local_addr`).
    pub original_dst: Option<String>,
    /// The authenticated user a hook named for the access log (`identity::set_user`).
    pub user: Option<String>,
    /// The gRPC-Web translation a hook asked for (`grpc_web::translate`).
    pub grpc_web: Option<crate::grpc_web::Mode>,
}

impl TestRequest {
    /// A request with this method and path (which may carry a `?query`).
    ///
    /// # Panics
    /// If the path does not start with `/`: the gateway never presents such a request.
    #[track_caller]
    pub fn new(method: &str, target: &str) -> Self {
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query.to_string())),
            None => (target, None),
        };
        if let Err(e) = check_path(path) {
            panic!("TestRequest: {e}");
        }
        TestRequest {
            method: method.to_ascii_uppercase(),
            scheme: "http".to_string(),
            authority: None,
            path: path.to_string(),
            raw_path: path.to_string(),
            query,
            headers: Vec::new(),
            client_addr: "127.0.0.1:40000".to_string(),
            tls: false,
            router_name: "test-router".to_string(),
            state: None,
            max_headers: DEFAULT_MAX_HEADERS,
            in_flight: Vec::new(),
            subrequest: None,
            body: None,
            client_certificates: Vec::new(),
            local_addr: "127.0.0.1:8080".to_string(),
            original_dst: None,
            user: None,
            grpc_web: None,
        }
    }

    /// Present these client certificates (DER, leaf first) on a TLS connection.
    pub fn client_certificates(mut self, chain: Vec<Vec<u8>>) -> Self {
        self.client_certificates = chain;
        self.tls(true)
    }

    /// Mark the connection as redirected from `addr` (`ip:port`, a `transparent` entrypoint).
    pub fn original_dst(mut self, addr: &str) -> Self {
        self.original_dst = Some(addr.to_string());
        self
    }

    /// `GET target`.
    #[track_caller]
    pub fn get(target: &str) -> Self {
        Self::new("GET", target)
    }

    /// `POST target`.
    #[track_caller]
    pub fn post(target: &str) -> Self {
        Self::new("POST", target)
    }

    /// Replace the method.
    pub fn method(mut self, method: &str) -> Self {
        self.method = method.to_ascii_uppercase();
        self
    }

    /// Replace the query (without `?`).
    pub fn query(mut self, query: &str) -> Self {
        self.query = Some(query.to_string());
        self
    }

    /// Set the path as the client sent it (before normalisation); defaults to the path.
    pub fn raw_path(mut self, raw_path: &str) -> Self {
        self.raw_path = raw_path.to_string();
        self
    }

    /// Set the authority (host and optional port).
    pub fn authority(mut self, authority: &str) -> Self {
        self.authority = Some(authority.to_string());
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

    /// Set the client address (`ip:port`).
    pub fn client_addr(mut self, addr: &str) -> Self {
        self.client_addr = addr.to_string();
        self
    }

    /// Mark the connection as TLS (scheme `https`) or not (scheme `http`).
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self.scheme = if tls { "https" } else { "http" }.to_string();
        self
    }

    /// Set the matched router's name.
    pub fn router_name(mut self, name: &str) -> Self {
        self.router_name = name.to_string();
        self
    }

    /// Pre-set the per-request scratch (as if `on_request` had stored it).
    pub fn state(mut self, state: impl AsRef<[u8]>) -> Self {
        self.state = Some(state.as_ref().to_vec());
        self
    }

    /// Set the header budget edits are checked against (default 100, as the gateway).
    pub fn max_headers(mut self, max_headers: usize) -> Self {
        self.max_headers = max_headers;
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

impl RequestHead for &mut TestRequest {
    fn method(&self) -> String {
        self.method.clone()
    }
    fn scheme(&self) -> String {
        self.scheme.clone()
    }
    fn authority(&self) -> Option<String> {
        self.authority.clone()
    }
    fn path(&self) -> String {
        self.path.clone()
    }
    fn raw_path(&self) -> String {
        self.raw_path.clone()
    }
    fn query(&self) -> Option<String> {
        self.query.clone()
    }
    fn set_path(&mut self, path: &str) -> Result<(), EditError> {
        check_path(path)?;
        self.path = path.to_string();
        Ok(())
    }
    fn set_query(&mut self, query: Option<&str>) -> Result<(), EditError> {
        if let Some(query) = query {
            check_query(query)?;
        }
        self.query = query.map(str::to_string);
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
    fn client_addr(&self) -> String {
        self.client_addr.clone()
    }
    fn is_tls(&self) -> bool {
        self.tls
    }
    fn router_name(&self) -> String {
        self.router_name.clone()
    }
    fn state(&self) -> Option<Vec<u8>> {
        self.state.clone()
    }
    fn set_state(&mut self, value: &[u8]) -> Result<(), EditError> {
        check_state(value)?;
        self.state = Some(value.to_vec());
        Ok(())
    }
}
