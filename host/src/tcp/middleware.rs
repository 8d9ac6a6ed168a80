//! Traefik's TCP middlewares, run by the host before a connection reaches its service:
//! `ipAllowList` (a client outside `sourceRange` is closed before any byte reaches a server)
//! and `inFlightConn` (at most `amount` connections open at once per client IP). Built at
//! config time, one per `tcp.middlewares` entry (routers naming it share its counts); checked
//! once per connection: a network scan, or one short-held lock for the in-flight count.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use ipnet::IpNet;

/// One TCP middleware.
#[derive(Debug)]
pub enum TcpMiddleware {
    IpAllowList(Box<[IpNet]>),
    InFlightConn(Arc<InFlightPerIp>),
}

/// Open connections per client IP, against a limit.
#[derive(Debug)]
pub struct InFlightPerIp {
    limit: u32,
    open: Mutex<HashMap<IpAddr, u32>>,
}

impl InFlightPerIp {
    pub fn new(limit: u32) -> Arc<Self> {
        Arc::new(InFlightPerIp {
            limit,
            open: Mutex::new(HashMap::new()),
        })
    }
}

/// One connection counted by an `inFlightConn`; uncounted when dropped (however the
/// connection ends).
#[derive(Debug)]
pub struct InFlightLease {
    counter: Arc<InFlightPerIp>,
    ip: IpAddr,
}

impl Drop for InFlightLease {
    fn drop(&mut self) {
        let mut open = self.counter.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

impl TcpMiddleware {
    /// Admits a connection from `ip` (adding any lease to hold to `leases`), or says why not.
    pub fn admit(&self, ip: IpAddr, leases: &mut Vec<InFlightLease>) -> Result<(), &'static str> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match self {
            TcpMiddleware::IpAllowList(nets) => {
                if nets.iter().any(|n| n.contains(&ip)) {
                    Ok(())
                } else {
                    Err("client not in the ipAllowList sourceRange")
                }
            }
            TcpMiddleware::InFlightConn(counter) => {
                let mut open = counter.open.lock().unwrap_or_else(|e| e.into_inner());
                let n = open.entry(ip).or_insert(0);
                if *n >= counter.limit {
                    return Err("inFlightConn amount reached for this client");
                }
                *n += 1;
                leases.push(InFlightLease {
                    counter: counter.clone(),
                    ip,
                });
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_leases_cap_each_client_and_free_their_slot_when_dropped() {
        let mw = TcpMiddleware::InFlightConn(InFlightPerIp::new(2));
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let mut leases = Vec::new();
        assert!(mw.admit(a, &mut leases).is_ok());
        assert!(mw.admit(a, &mut leases).is_ok());
        assert!(mw.admit(a, &mut leases).is_err());
        assert!(mw.admit(b, &mut leases).is_ok());
        leases.remove(0);
        assert!(mw.admit(a, &mut leases).is_ok());
    }

    #[test]
    fn the_allow_list_reads_ipv4_mapped_clients_as_ipv4() {
        let mw = TcpMiddleware::IpAllowList(Box::new(["127.0.0.0/8".parse().unwrap()]));
        let mut leases = Vec::new();
        assert!(
            mw.admit("::ffff:127.0.0.1".parse().unwrap(), &mut leases)
                .is_ok()
        );
        assert!(mw.admit("10.0.0.1".parse().unwrap(), &mut leases).is_err());
    }
}
