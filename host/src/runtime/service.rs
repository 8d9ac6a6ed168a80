//! A service as the proxy uses it: servers, a balancer, and the transport to reach them.

use std::sync::Arc;

use http::uri::{Authority, Scheme};

use crate::lb::RoundRobin;
use crate::proxy::forward::UpstreamTransport;

/// One upstream server, parsed once at config time.
#[derive(Debug, Clone)]
pub struct Server {
    pub scheme: Scheme,
    pub authority: Authority,
}

pub struct Service {
    pub name: Arc<str>,
    pub servers: Vec<Server>,
    pub balancer: RoundRobin,
    pub pass_host_header: bool,
    pub transport: UpstreamTransport,
}

impl Service {
    /// The server for the next request, or `None` if the service has none.
    pub fn pick(&self) -> Option<&Server> {
        self.balancer
            .pick(self.servers.len())
            .and_then(|i| self.servers.get(i))
    }
}
