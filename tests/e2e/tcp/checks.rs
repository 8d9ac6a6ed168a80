//! `wasmgate check` on TCP routers, services, middlewares and transports: `file:line: key:
//! reason`, once per problem.

use crate::support::check_config;

#[test]
fn check_reports_http_matchers_plain_host_sni_and_unknown_services_in_tcp_routers() {
    let yaml = "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n\
                tcp:\n  routers:\n\
                \x20   r: { rule: \"Host(`a.test`)\", service: s }\n\
                \x20   p: { rule: \"HostSNI(`a.test`)\", service: s }\n\
                \x20   u: { rule: \"HostSNI(`*`)\", service: nope }\n\
                \x20 services:\n\
                \x20   s: { loadBalancer: { servers: [{ address: \"127.0.0.1\" }], proxyProtocol: { version: 3 } } }\n";
    let (ok, stdout, stderr) = check_config(yaml, &[]);
    assert!(!ok, "stdout: {stdout}");
    for needle in [
        ":8: tcp.routers.u.service: TCP service \"nope\" is not defined",
        ":10: tcp.services.s.loadBalancer.servers[0].address: \"127.0.0.1\" is not host:port",
        ":10: tcp.services.s.loadBalancer.proxyProtocol.version: version 3 does not exist (1 or 2)",
    ] {
        assert!(stderr.contains(needle), "want {needle:?} in:\n{stderr}");
    }
    let yaml = yaml
        .replace("\"127.0.0.1\"", "\"127.0.0.1:9\"")
        .replace("version: 3", "version: 1")
        .replace("service: nope", "service: s");
    let (ok, _, stderr) = check_config(&yaml, &[]);
    assert!(!ok);
    for needle in [
        ":6: tcp.routers.r.rule: invalid rule: Host at offset 0 is an HTTP matcher; a TCP router \
         matches with HostSNI, HostSNIRegexp, ClientIP, ALPN, OriginalDst, OriginalDstPort",
        ":7: tcp.routers.p.rule: HostSNI with a host name needs tls on the router",
    ] {
        assert!(stderr.contains(needle), "want {needle:?} in:\n{stderr}");
    }
}

#[test]
fn check_reports_tcp_tls_middleware_and_transport_references_once_each() {
    let yaml = "entryPoints:\n  web:\n    address: \"127.0.0.1:0\"\n\
                tcp:\n  routers:\n\
                \x20   r: { rule: \"HostSNI(`a.test`)\", service: s, tls: { certResolver: le, options: nope } }\n\
                \x20   w: { rule: \"HostSNI(`*`)\", service: s, middlewares: [missing] }\n\
                \x20 services:\n\
                \x20   s: { loadBalancer: { servers: [{ address: \"127.0.0.1:9\" }], serversTransport: t } }\n";
    let (ok, _, stderr) = check_config(yaml, &[]);
    assert!(!ok);
    let located: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.split_once("gateway.yml:").map(|(_, rest)| rest))
        .collect();
    assert_eq!(
        located,
        [
            "6: tcp.routers.r.tls.options: unknown TLS options \"nope\" (defined: default)",
            "6: tcp.routers.r.tls.certResolver: unknown certificate resolver \"le\" (certificatesResolvers defines none)",
            "7: tcp.routers.w.middlewares[0]: TCP middleware \"missing\" is not defined",
            "9: tcp.services.s.loadBalancer.serversTransport: TCP servers transport \"t\" is not defined",
        ],
        "{stderr}"
    );
}
