//! `wasmgate check` on UDP entry points, routers and services: `file:line: key: reason`, once
//! per problem.

use crate::support::{check_config, located_errors};

#[test]
fn check_reports_udp_entry_points_routers_and_services_at_their_lines() {
    let yaml = "entryPoints:\n\
                \x20 web:\n    address: \"127.0.0.1:0\"\n    udp: { timeout: 5s }\n\
                \x20 dns:\n    address: \"127.0.0.1:5353/udp\"\n\
                \x20 clash:\n    address: \":5353/udp\"\n\
                \x20 odd:\n    address: \"127.0.0.1:5354/udp\"\n    http: { middlewares: [] }\n    udp: { timeout: 0 }\n\
                \x20 slow:\n    address: \"127.0.0.1:5355/udp\"\n    udp: { timeout: soon }\n\
                http:\n  routers:\n\
                \x20   h: { rule: \"PathPrefix(`/`)\", service: hs, entryPoints: [dns] }\n\
                \x20 services:\n    hs: { loadBalancer: { servers: [{ url: \"http://127.0.0.1:9\" }] } }\n\
                udp:\n  routers:\n\
                \x20   r1: { entryPoints: [web], service: s }\n\
                \x20   r2: { entryPoints: [dns, nope], service: missing }\n\
                \x20 services:\n\
                \x20   s: { loadBalancer: { servers: [{ address: \"127.0.0.1\" }] } }\n\
                \x20   w: { weighted: { services: [{ name: v }] } }\n\
                \x20   v: { weighted: { services: [{ name: w }] } }\n\
                \x20 middlewares: {}\n";
    let (ok, _, stderr) = check_config(yaml, &[]);
    assert!(!ok);
    assert_eq!(
        located_errors(&stderr),
        [
            "4: entryPoints.web.udp: udp applies only to a UDP entry point (address ending in /udp)",
            "8: entryPoints.clash.address: UDP address 0.0.0.0:5353 is already used by entry point \"dns\"",
            "11: entryPoints.odd.http: only address and udp apply to a UDP entry point (address ending in /udp)",
            "12: entryPoints.odd.udp.timeout: must be above 0",
            "15: entryPoints.slow.udp.timeout: invalid duration \"soon\": expected a number before \"soon\"",
            "18: http.routers.h.entryPoints[0]: entry point \"dns\" is a UDP entry point: only udp routers may use it",
            "23: udp.routers.r1.entryPoints[0]: entry point \"web\" is a TCP entry point: a udp router needs one whose address ends in /udp",
            "24: udp.routers.r2.service: UDP service \"missing\" is not defined",
            "24: udp.routers.r2.entryPoints[1]: entry point \"nope\" is not defined",
            "26: udp.services.s.loadBalancer.servers[0].address: \"127.0.0.1\" is not host:port",
            "27: udp.services.w.weighted.services[0].name: service \"v\" leads back to \"w\" (a cycle)",
            "28: udp.services.v.weighted.services[0].name: service \"w\" leads back to \"v\" (a cycle)",
            "29: udp.middlewares: unknown key \"middlewares\" (allowed: routers, services)",
        ],
        "{stderr}"
    );
}
