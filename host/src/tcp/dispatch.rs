//! Which handler gets a connection on an entrypoint with TCP routers: a TCP router (plain,
//! TLS passthrough or TLS terminated), the HTTP server, or the HTTPS server. Traefik v3's
//! order (`pkg/server/router/tcp/router.go`):
//!
//! 1. With plain TCP routers and neither TLS TCP routers nor HTTPS routers, a matching plain
//!    router takes the connection at once, before any byte is read (so a protocol where the
//!    server speaks first works).
//! 2. Otherwise the first bytes are read (the entrypoint's `headerReadTimeout` bounds the wait).
//!    Silence until then: a matching plain TCP router gets the connection (a server-speaks-first
//!    protocol beside TLS routers; Traefik closes it instead), else it is closed.
//! 3. Not TLS: a matching plain TCP router, else HTTP.
//! 4. TLS, with the ClientHello's server name and ALPN: an HTTPS router naming the host, then a
//!    TLS TCP router that is not the catch-all, then HTTPS (any HTTPS router), then the TLS
//!    catch-all (`HostSNI(`*`)`), then HTTPS with the default options (404), else closed.
//!
//! Runs once per connection; the route tables were built at config time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::io::AsyncRead;

use crate::config::TransparentConfig;

use super::client_hello::{FirstBytes, HelloInfo, read_first_bytes};
use super::detect::looks_like_http;
use super::prefixed::Prefixed;
use super::rule::ConnFacts;
use super::service::TcpService;
use super::table::TcpRoutes;

/// What a TCP router does with TLS.
#[derive(Debug)]
pub enum TcpTls {
    /// A router without `tls`: plain connections.
    None,
    /// `passthrough: true`: the TLS bytes go to the backend untouched.
    Passthrough,
    /// Terminated with these options; the backend gets the decrypted stream.
    Terminate(Arc<ServerConfig>),
}

/// What a matched TCP router leads to.
#[derive(Debug)]
pub struct TcpTarget {
    pub router: Arc<str>,
    /// The router's middlewares (connection-level plugins), in order; each may refuse the
    /// connection (`admission`).
    pub middlewares: Box<[Arc<crate::plugins::PluginMiddleware>]>,
    pub service: Arc<TcpService>,
    pub tls: TcpTls,
}

/// The TCP side of one entrypoint in one snapshot.
#[derive(Debug, Default)]
pub struct TcpEntrypoint {
    /// Routers without `tls`.
    pub plain: TcpRoutes<TcpTarget>,
    /// Routers with `tls` (passthrough or terminated).
    pub tls: TcpRoutes<TcpTarget>,
    /// The entrypoint has HTTP routers with TLS.
    pub https_routers: bool,
}

/// Who a connection is from and, on a `transparent` entrypoint, where it was going and how
/// its protocol is detected. Built once per connection.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    pub client: SocketAddr,
    /// The destination before iptables redirected it; `None` when not redirected.
    pub original_dst: Option<SocketAddr>,
    /// The entrypoint's `transparent` settings: protocol detection instead of Traefik's order
    /// (see [`TcpEntrypoint::route`]).
    pub transparent: Option<&'a TransparentConfig>,
}

/// Where a connection goes; the bytes read to decide are replayed by the `Prefixed` stream.
pub enum Verdict<IO> {
    Tcp(Arc<TcpTarget>, Prefixed<IO>),
    Http(Prefixed<IO>),
    Https(Prefixed<IO>),
    Close,
}

impl TcpEntrypoint {
    /// Decides where `io` from `client` goes (see the module docs). `serves_host` tells whether
    /// an HTTPS router of this entrypoint names a host; `https` whether the entrypoint has a
    /// TLS side at all.
    ///
    /// On a `transparent` entrypoint the protocol is detected instead (`detect`): a connection
    /// to an opaque port goes to a plain TCP router at once; otherwise the first bytes are
    /// awaited for `detectTimeout`; silence goes to a plain TCP router; an HTTP/1.x request
    /// line or the HTTP/2 preface goes to HTTP unless a plain TCP router other than the
    /// catch-all matches; other plain bytes go to a plain TCP router (else the connection is
    /// closed); TLS follows the order above.
    pub async fn route<IO: AsyncRead + Unpin>(
        &self,
        io: IO,
        arrival: Arrival<'_>,
        https: Option<&(dyn Fn(&str) -> bool + Sync)>,
        first_byte: Duration,
    ) -> Verdict<IO> {
        let client = arrival.client;
        let plain_facts = ConnFacts {
            server_name: None,
            alpn: &[],
            client_ip: client.ip(),
            original_dst: arrival.original_dst,
        };
        let opaque = arrival.transparent.is_some_and(|t| {
            arrival
                .original_dst
                .is_some_and(|dst| t.opaque_ports.contains(&dst.port()))
        });
        let shortcut = match arrival.transparent {
            Some(_) => opaque,
            None => !self.plain.is_empty() && self.tls.is_empty() && !self.https_routers,
        };
        if shortcut {
            return match self.plain.find(&plain_facts) {
                Some((target, _)) => Verdict::Tcp(target.clone(), Prefixed::new(Vec::new(), io)),
                None if opaque => {
                    tracing::debug!(%client, "no plain TCP router for an opaque port; closing");
                    Verdict::Close
                }
                None => {
                    self.route_read(io, arrival, https, first_byte, plain_facts)
                        .await
                }
            };
        }
        self.route_read(io, arrival, https, first_byte, plain_facts)
            .await
    }

    /// [`TcpEntrypoint::route`] once the first bytes must be read.
    async fn route_read<IO: AsyncRead + Unpin>(
        &self,
        mut io: IO,
        arrival: Arrival<'_>,
        https: Option<&(dyn Fn(&str) -> bool + Sync)>,
        first_byte: Duration,
        plain_facts: ConnFacts<'_>,
    ) -> Verdict<IO> {
        let client = arrival.client;
        let wait = arrival.transparent.map_or(first_byte, |t| t.detect_timeout);
        let (bytes, hello) = match read_first_bytes(&mut io, wait).await {
            FirstBytes::Silent => {
                return match self.plain.find(&plain_facts) {
                    Some((target, _)) => {
                        Verdict::Tcp(target.clone(), Prefixed::new(Vec::new(), io))
                    }
                    None => {
                        tracing::debug!(%client, "closing a connection that sent nothing");
                        Verdict::Close
                    }
                };
            }
            FirstBytes::Gone => return Verdict::Close,
            FirstBytes::Plain(bytes) if arrival.transparent.is_some() => {
                let http = looks_like_http(&bytes);
                let io = Prefixed::new(bytes, io);
                return match self.plain.find(&plain_facts) {
                    Some((target, catch_all)) if !(http && catch_all) => {
                        Verdict::Tcp(target.clone(), io)
                    }
                    _ if http => Verdict::Http(io),
                    _ => {
                        tracing::debug!(%client, "no plain TCP router for an opaque protocol");
                        Verdict::Close
                    }
                };
            }
            FirstBytes::Plain(bytes) => {
                let io = Prefixed::new(bytes, io);
                return match self.plain.find(&plain_facts) {
                    Some((target, _)) => Verdict::Tcp(target.clone(), io),
                    None => Verdict::Http(io),
                };
            }
            FirstBytes::Tls(bytes, hello) => (bytes, hello),
        };
        let io = Prefixed::new(bytes, io);
        let HelloInfo { server_name, alpn } = &hello;
        let facts = ConnFacts {
            server_name: server_name.as_deref(),
            alpn,
            client_ip: client.ip(),
            original_dst: arrival.original_dst,
        };
        let names_host = match (https, server_name) {
            (Some(serves), Some(name)) => serves(name),
            _ => false,
        };
        // A CA validating a TLS-ALPN-01 challenge is answered by the TLS side (which holds the
        // challenge certificates), whatever TCP router the name has, as in Traefik.
        let acme_challenge = alpn.iter().any(|p| p.as_slice() == b"acme-tls/1");
        if names_host || (acme_challenge && https.is_some()) {
            return Verdict::Https(io);
        }
        let tcp = self.tls.find(&facts);
        match tcp {
            Some((target, false)) => Verdict::Tcp(target.clone(), io),
            _ if self.https_routers && https.is_some() => Verdict::Https(io),
            Some((target, true)) => Verdict::Tcp(target.clone(), io),
            None if https.is_some() => Verdict::Https(io),
            None => Verdict::Close,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rule::TcpRule;
    use super::super::service::{TcpConnectSettings, TcpLoadBalancer, TcpServer};
    use super::super::table::TcpRoute;
    use super::*;

    fn target(name: &str) -> Arc<TcpTarget> {
        let server = TcpServer {
            address: "x:1".into(),
            weight: 1,
            tls: false,
        };
        let settings = TcpConnectSettings {
            proxy_protocol: None,
            termination_delay: None,
            dial_timeout: Duration::ZERO,
            keep_alive: Duration::from_secs(15),
            tls: None,
        };
        let lb = TcpLoadBalancer::new(name, vec![server], settings);
        Arc::new(TcpTarget {
            router: Arc::from(name),
            middlewares: Box::new([]),
            service: Arc::new(TcpService::LoadBalancer(lb)),
            tls: TcpTls::Passthrough,
        })
    }

    fn routes(rules: &[(&str, &str)]) -> TcpRoutes<TcpTarget> {
        TcpRoutes::new(
            rules
                .iter()
                .map(|(name, rule)| {
                    let rule = TcpRule::parse(rule).unwrap();
                    TcpRoute {
                        name: name.to_string(),
                        priority: rule.default_priority(),
                        rule,
                        target: target(name),
                    }
                })
                .collect(),
        )
    }

    fn hello(sni: &str, alpn: &[&[u8]]) -> Vec<u8> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let name = rustls::pki_types::ServerName::try_from(sni.to_string()).unwrap();
        let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        let mut out = Vec::new();
        conn.write_tls(&mut out).unwrap();
        out
    }

    /// Where a TLS client naming `sni` goes: the TCP router's name, "https" or "close".
    async fn verdict(ep: &TcpEntrypoint, https: Option<&[&str]>, sni: &str) -> String {
        verdict_offering(ep, https, sni, &[]).await
    }

    /// Like `verdict`, the client offering the ALPN protocols `alpn`.
    async fn verdict_offering(
        ep: &TcpEntrypoint,
        https: Option<&[&str]>,
        sni: &str,
        alpn: &[&[u8]],
    ) -> String {
        let bytes = hello(sni, alpn);
        let hosts: Vec<String> = https.unwrap_or(&[]).iter().map(|h| h.to_string()).collect();
        let serves = move |name: &str| hosts.iter().any(|h| h == name);
        let https = https.map(|_| &serves as &(dyn Fn(&str) -> bool + Sync));
        let arrival = Arrival {
            client: "127.0.0.1:5000".parse().unwrap(),
            original_dst: None,
            transparent: None,
        };
        match ep
            .route(&bytes[..], arrival, https, Duration::from_secs(5))
            .await
        {
            Verdict::Tcp(target, io) => {
                assert_eq!(io.pending(), &bytes[..], "the ClientHello is replayed");
                target.router.to_string()
            }
            Verdict::Https(_) => "https".into(),
            Verdict::Http(_) => "http".into(),
            Verdict::Close => "close".into(),
        }
    }

    #[tokio::test]
    async fn tls_connections_follow_traefiks_order() {
        let ep = TcpEntrypoint {
            plain: TcpRoutes::default(),
            tls: routes(&[("db", "HostSNI(`db.test`)"), ("any", "HostSNI(`*`)")]),
            https_routers: true,
        };
        let hosts: &[&str] = &["web.test", "db.test"];
        // An HTTPS router naming the host wins over a TCP router naming it too.
        assert_eq!(verdict(&ep, Some(hosts), "db.test").await, "https");
        assert_eq!(verdict(&ep, Some(&["web.test"]), "db.test").await, "db");
        // HTTPS routers win over the TCP catch-all...
        assert_eq!(verdict(&ep, Some(hosts), "other.test").await, "https");
        // ...which takes the rest when there are none.
        let ep = TcpEntrypoint {
            https_routers: false,
            ..ep
        };
        assert_eq!(verdict(&ep, Some(&[]), "other.test").await, "any");
        let ep = TcpEntrypoint {
            tls: routes(&[("db", "HostSNI(`db.test`)")]),
            ..ep
        };
        assert_eq!(verdict(&ep, None, "other.test").await, "close");
        assert_eq!(verdict(&ep, Some(&[]), "other.test").await, "https");
    }

    #[tokio::test]
    async fn an_acme_tls_alpn_challenge_goes_to_the_tls_side_whatever_tcp_router_has_the_name() {
        let ep = TcpEntrypoint {
            plain: TcpRoutes::default(),
            tls: routes(&[("db", "HostSNI(`db.test`)")]),
            https_routers: false,
        };
        let acme: &[&[u8]] = &[b"acme-tls/1"];
        assert_eq!(
            verdict_offering(&ep, Some(&[]), "db.test", acme).await,
            "https"
        );
        assert_eq!(
            verdict_offering(&ep, Some(&[]), "db.test", &[b"h2"]).await,
            "db"
        );
        // Without a TLS side there is no challenge to answer: the TCP router keeps it.
        assert_eq!(verdict_offering(&ep, None, "db.test", acme).await, "db");
    }

    /// Where `first` bytes go on a transparent entrypoint with `plain` routes, redirected from
    /// `dst`: the router's name, "http" or "close".
    async fn detected(plain: &[(&str, &str)], dst: &str, first: &[u8]) -> String {
        let ep = TcpEntrypoint {
            plain: routes(plain),
            ..TcpEntrypoint::default()
        };
        let transparent = TransparentConfig {
            detect_timeout: Duration::from_secs(5),
            opaque_ports: vec![3306],
            tproxy: false,
        };
        let arrival = Arrival {
            client: "10.0.0.1:5000".parse().unwrap(),
            original_dst: Some(dst.parse().unwrap()),
            transparent: Some(&transparent),
        };
        match ep.route(first, arrival, None, Duration::from_secs(5)).await {
            Verdict::Tcp(target, io) => {
                assert_eq!(io.pending(), first, "the first bytes are replayed");
                target.router.to_string()
            }
            Verdict::Http(io) => {
                assert_eq!(io.pending(), first, "the first bytes are replayed");
                "http".into()
            }
            Verdict::Https(_) => "https".into(),
            Verdict::Close => "close".into(),
        }
    }

    #[tokio::test]
    async fn detection_sends_http_to_http_and_other_bytes_to_plain_tcp_routers() {
        let catch_all = [("any", "HostSNI(`*`)")];
        let get = b"GET / HTTP/1.1\r\nhost: a\r\n\r\n";
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        assert_eq!(detected(&catch_all, "10.96.0.1:80", get).await, "http");
        assert_eq!(detected(&catch_all, "10.96.0.1:80", preface).await, "http");
        assert_eq!(
            detected(&catch_all, "10.96.0.1:6379", b"*1\r\n").await,
            "any"
        );
        assert_eq!(detected(&[], "10.96.0.1:6379", b"*1\r\n").await, "close");
        // A router naming the destination takes HTTP bytes too; an opaque port is not read.
        let by_port = [("web", "OriginalDstPort(`80`)"), ("any", "HostSNI(`*`)")];
        assert_eq!(detected(&by_port, "10.96.0.1:80", get).await, "web");
        let db = [("db", "OriginalDstPort(`3306`)")];
        assert_eq!(detected(&db, "10.96.0.1:3306", b"").await, "db");
    }
}
