//! UDP services as sessions use them: a load balancer over server addresses or a weighted
//! service over other UDP services, both smooth weighted round robin (`lb::SmoothWeighted`).
//! Built at config time; a pick (once per new session, never per datagram) is one atomic
//! increment per level, no lock.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::lb::SmoothWeighted;

/// One server of a UDP load balancer.
#[derive(Debug)]
pub struct UdpServer {
    /// `host:port` as configured.
    pub address: Box<str>,
    /// The address when it is an IP literal (parsed at config time): a session to it opens
    /// its socket at once; otherwise the name is resolved when a session starts.
    pub literal: Option<SocketAddr>,
}

impl UdpServer {
    pub fn new(address: &str) -> Self {
        UdpServer {
            address: address.into(),
            literal: address.parse().ok(),
        }
    }
}

/// A UDP service.
#[derive(Debug)]
pub enum UdpService {
    /// `loadBalancer`: every server has weight 1, as in Traefik.
    LoadBalancer {
        name: Arc<str>,
        servers: Box<[UdpServer]>,
        rotation: SmoothWeighted,
    },
    /// `weighted`: children with their weights.
    Weighted {
        children: Box<[Arc<UdpService>]>,
        rotation: SmoothWeighted,
    },
}

impl UdpService {
    /// A load balancer `name` over `servers`, each with weight 1.
    pub fn load_balancer(name: &str, servers: Vec<UdpServer>) -> Self {
        UdpService::LoadBalancer {
            name: Arc::from(name),
            rotation: SmoothWeighted::new(&vec![1; servers.len()]),
            servers: servers.into_boxed_slice(),
        }
    }

    /// A weighted service over `children` with their weights.
    pub fn weighted(children: Vec<(Arc<UdpService>, u32)>) -> Self {
        let weights: Vec<u32> = children.iter().map(|(_, w)| *w).collect();
        UdpService::Weighted {
            children: children.into_iter().map(|(c, _)| c).collect(),
            rotation: SmoothWeighted::new(&weights),
        }
    }

    /// The load balancer's name and the server a new session goes to; `None` when no child
    /// has a weight (config checks prevent it).
    pub fn pick(&self) -> Option<(&Arc<str>, &UdpServer)> {
        match self {
            UdpService::LoadBalancer {
                name,
                servers,
                rotation,
            } => {
                let i = rotation.pick(|_| true)?;
                Some((name, servers.get(i)?))
            }
            UdpService::Weighted { children, rotation } => {
                let i = rotation.pick(|_| true)?;
                children.get(i)?.pick()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_services_split_sessions_by_weight_and_servers_take_turns() {
        let lb = |name: &str, addrs: &[&str]| {
            let servers = addrs.iter().map(|a| UdpServer::new(a)).collect();
            Arc::new(UdpService::load_balancer(name, servers))
        };
        let service = UdpService::weighted(vec![
            (lb("a", &["127.0.0.1:1", "127.0.0.1:2"]), 3),
            (lb("b", &["b.test:3"]), 1),
        ]);
        let picks: Vec<&str> = (0..8)
            .filter_map(|_| service.pick().map(|(_, s)| &*s.address))
            .collect();
        assert_eq!(picks.iter().filter(|a| **a == "127.0.0.1:1").count(), 3);
        assert_eq!(picks.iter().filter(|a| **a == "127.0.0.1:2").count(), 3);
        assert_eq!(picks.iter().filter(|a| **a == "b.test:3").count(), 2);
        assert_eq!(
            UdpServer::new("127.0.0.1:1").literal,
            Some(SocketAddr::from(([127, 0, 0, 1], 1)))
        );
        assert_eq!(UdpServer::new("b.test:3").literal, None);
    }
}
