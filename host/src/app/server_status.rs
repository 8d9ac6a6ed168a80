//! The live health of the load balancers' servers, for the API's `serverStatus`
//! (`admin::api::ServerStatus`) and the `traefik_service_server_up` gauge
//! (`admin::published::ServerHealth`). Built with each snapshot; read per API request and per
//! scrape only.

use std::collections::HashMap;
use std::sync::Arc;

use crate::admin::api::ServerStatus;
use crate::admin::published::ServerHealth;
use crate::lb::{Service, ServiceKind};

/// The services of one snapshot, by name.
pub struct LoadBalancerStatus {
    services: HashMap<String, Arc<Service>>,
}

impl LoadBalancerStatus {
    pub fn new(services: &HashMap<&str, Arc<Service>>) -> LoadBalancerStatus {
        LoadBalancerStatus {
            services: services
                .iter()
                .map(|(name, service)| ((*name).to_string(), service.clone()))
                .collect(),
        }
    }
}

impl ServerStatus for LoadBalancerStatus {
    fn servers(&self, service: &str) -> Option<Vec<(String, bool)>> {
        match &self.services.get(service)?.kind {
            ServiceKind::LoadBalancer(lb) => Some(lb.server_status()),
            _ => None,
        }
    }
}

impl ServerHealth for LoadBalancerStatus {
    fn each_server(&self, f: &mut dyn FnMut(&str, &str, bool)) {
        for (name, service) in &self.services {
            if let ServiceKind::LoadBalancer(lb) = &service.kind {
                for (url, up) in lb.server_status() {
                    f(name, &url, up);
                }
            }
        }
    }
}
