//! TCP services as connections use them: a load balancer over server addresses (smooth
//! weighted round robin, `lb::SmoothWeighted`) or a weighted service over other TCP services.
//! Built at config time; a pick is one atomic increment per level, no lock.

use std::sync::Arc;
use std::time::Duration;

use crate::lb::SmoothWeighted;
use crate::upstream::UpstreamTls;

/// One server of a TCP load balancer.
#[derive(Debug)]
pub struct TcpServer {
    /// `host:port`, resolved when dialled.
    pub address: Box<str>,
    pub weight: u32,
    /// Connect over TLS (the load balancer's `tls`).
    pub tls: bool,
}

/// How a TCP load balancer connects, from its own keys and its servers transport.
#[derive(Debug, Clone)]
pub struct TcpConnectSettings {
    /// PROXY protocol version to send first (1 or 2), if any.
    pub proxy_protocol: Option<u8>,
    /// Once one side has closed its half, how long the other may go on; `None`: no limit.
    pub termination_delay: Option<Duration>,
    /// How long dialling a server (and a TLS handshake with it) may take.
    pub dial_timeout: Duration,
    /// TCP keep-alive idle time and probe interval on connections to servers.
    pub keep_alive: Duration,
    /// The client config for servers with `tls: true`.
    pub tls: Option<UpstreamTls>,
}

/// A TCP load balancer: where connections go and how.
#[derive(Debug)]
pub struct TcpLoadBalancer {
    pub name: Arc<str>,
    servers: Box<[TcpServer]>,
    rotation: SmoothWeighted,
    pub settings: TcpConnectSettings,
}

impl TcpLoadBalancer {
    pub fn new(name: &str, servers: Vec<TcpServer>, settings: TcpConnectSettings) -> Self {
        let weights: Vec<u32> = servers.iter().map(|s| s.weight).collect();
        TcpLoadBalancer {
            name: Arc::from(name),
            servers: servers.into_boxed_slice(),
            rotation: SmoothWeighted::new(&weights),
            settings,
        }
    }
}

/// A TCP service.
#[derive(Debug)]
pub enum TcpService {
    LoadBalancer(TcpLoadBalancer),
    Weighted {
        children: Box<[Arc<TcpService>]>,
        rotation: SmoothWeighted,
    },
    /// `passthrough: {}`: each connection goes to its own original destination.
    Passthrough {
        name: Arc<str>,
        settings: TcpConnectSettings,
    },
}

/// Where the next connection of a service goes.
#[derive(Debug)]
pub enum TcpPick<'a> {
    /// A server of a load balancer.
    Server(&'a TcpLoadBalancer, &'a TcpServer),
    /// The connection's original destination, dialled with these settings.
    OriginalDst(&'a str, &'a TcpConnectSettings),
}

impl TcpService {
    /// A weighted service over `children` with their weights.
    pub fn weighted(children: Vec<(Arc<TcpService>, u32)>) -> Self {
        let weights: Vec<u32> = children.iter().map(|(_, w)| *w).collect();
        TcpService::Weighted {
            children: children.into_iter().map(|(c, _)| c).collect(),
            rotation: SmoothWeighted::new(&weights),
        }
    }

    /// Where the next connection goes; `None` when no server has a weight (config checks
    /// prevent it).
    pub fn pick(&self) -> Option<TcpPick<'_>> {
        match self {
            TcpService::LoadBalancer(lb) => {
                let i = lb.rotation.pick(|_| true)?;
                Some(TcpPick::Server(lb, lb.servers.get(i)?))
            }
            TcpService::Weighted { children, rotation } => {
                let i = rotation.pick(|_| true)?;
                children.get(i)?.pick()
            }
            TcpService::Passthrough { name, settings } => {
                Some(TcpPick::OriginalDst(name, settings))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_services_split_connections_by_weight() {
        let lb = |name: &str, addr: &str| {
            let server = TcpServer {
                address: addr.into(),
                weight: 1,
                tls: false,
            };
            Arc::new(TcpService::LoadBalancer(TcpLoadBalancer::new(
                name,
                vec![server],
                TcpConnectSettings {
                    proxy_protocol: None,
                    termination_delay: None,
                    dial_timeout: Duration::from_secs(1),
                    keep_alive: Duration::from_secs(15),
                    tls: None,
                },
            )))
        };
        let service = TcpService::weighted(vec![(lb("a", "a:1"), 3), (lb("b", "b:1"), 1)]);
        let picks: Vec<&str> = (0..8)
            .filter_map(|_| match service.pick() {
                Some(TcpPick::Server(_, server)) => Some(&*server.address),
                _ => None,
            })
            .collect();
        assert_eq!(picks.iter().filter(|a| **a == "a:1").count(), 6);
        assert_eq!(picks.iter().filter(|a| **a == "b:1").count(), 2);
    }
}
