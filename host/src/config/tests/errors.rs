//! Every error kind, asserted as the exact `file:line: key: reason` text a user sees.

use super::{errors, fixture, loaded};
use crate::config::load;

#[test]
fn reference_errors_name_the_missing_target() {
    assert_eq!(
        errors("err_refs.yml"),
        [
            "src/config/testdata/err_refs.yml:8: http.routers.api.service: service \"nope\" is not defined",
            "src/config/testdata/err_refs.yml:9: http.routers.api.entryPoints[1]: entry point \"websecure\" is not defined",
            "src/config/testdata/err_refs.yml:12: http.routers.api.middlewares[1]: middleware \"missing-mw\" is not defined",
            "src/config/testdata/err_refs.yml:18: http.services.svc.loadBalancer.serversTransport: servers transport \"nowhere\" is not defined",
        ]
    );
}

#[test]
fn bad_and_clashing_listen_addresses() {
    assert_eq!(
        errors("err_address.yml"),
        [
            "src/config/testdata/err_address.yml:3: entryPoints.web.address: invalid address \"127.0.0.1:99999\": invalid port",
            "src/config/testdata/err_address.yml:7: entryPoints.clash.address: address 127.0.0.1:8080 is already used by entry point \"other\"",
        ]
    );
}

#[test]
fn at_least_one_entry_point() {
    assert_eq!(
        errors("err_no_entrypoints.yml"),
        [
            "src/config/testdata/err_no_entrypoints.yml: entryPoints: at least one entry point is required"
        ]
    );
    assert_eq!(
        errors("err_empty_entrypoints.yml"),
        [
            "src/config/testdata/err_empty_entrypoints.yml:3: entryPoints: at least one entry point is required"
        ]
    );
}

#[test]
fn malformed_yaml_reports_the_parser_line() {
    assert_eq!(
        errors("err_malformed.yml"),
        [
            "src/config/testdata/err_malformed.yml:8: invalid YAML: while parsing a block mapping, did not find expected key"
        ]
    );
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    assert_eq!(
        errors("err_unknown_key.yml"),
        [
            "src/config/testdata/err_unknown_key.yml:8: http.routers.api.servce: unknown key \"servce\" (allowed: rule, service, entryPoints, middlewares, priority, maxInFlight, tls, ruleSyntax, observability)",
            "src/config/testdata/err_unknown_key.yml:15: http.services.svc.loadBalancer.servers[0].wieght: unknown key \"wieght\" (allowed: url, weight, preservePath)",
        ]
    );
}

#[test]
fn every_unknown_key_of_one_entity_is_named_in_one_run() {
    let file = "src/config/testdata/err_unknown_keys_all.yml";
    let allowed = "(allowed: forwardingTimeouts, maxIdleConnsPerHost, maxConnsPerHost, serverName, \
                   insecureSkipVerify, rootCAs, certificates, peerCertURI, disableHTTP2)";
    assert_eq!(
        errors("err_unknown_keys_all.yml"),
        [
            format!(
                "{file}:7: http.serversTransports.t.forwardingTimeout: unknown key \"forwardingTimeout\" {allowed}"
            ),
            format!(
                "{file}:8: http.serversTransports.t.maxIdleConns: unknown key \"maxIdleConns\" {allowed}"
            ),
            format!(
                "{file}:9: http.serversTransports.t.serverNam: unknown key \"serverNam\" {allowed}"
            ),
        ]
    );
}

#[test]
fn middleware_type_and_runtime_errors() {
    let file = "src/config/testdata/err_middlewares.yml";
    assert_eq!(
        errors("err_middlewares.yml"),
        [
            format!("{file}:9: http.middlewares.odd: unknown middleware type \"foo\""),
            format!(
                "{file}:11: http.middlewares.two: has 2 middleware type keys (\"headers\", \"plugin\"); exactly one is allowed"
            ),
            format!(
                "{file}:15: http.middlewares.none: needs exactly one middleware type key, e.g. \"headers\" or \"plugin\""
            ),
            format!(
                "{file}:19: http.middlewares.bad-runtime.plugin.isolation: unknown value \"shared\" (allowed: pooled, per-request)"
            ),
            format!(
                "{file}:23: http.middlewares.bad-values.plugin.deadline: invalid duration \"5x\": unknown unit \"x\" (ns, us, ms, s, m, h)"
            ),
            format!(
                "{file}:27: http.middlewares.more-values.plugin.memoryLimit: 1024 bytes is below the minimum of 64KiB (one WebAssembly page)"
            ),
            format!("{file}:28: http.middlewares.more-values.plugin.poolSize: must be at least 1"),
            format!("{file}:30: http.middlewares.no-name.plugin: missing required key \"name\""),
        ]
    );
}

#[test]
fn service_and_transport_errors() {
    let file = "src/config/testdata/err_services.yml";
    assert_eq!(
        errors("err_services.yml"),
        [
            format!(
                "{file}:8: http.services.weighted-svc.weighted.services: at least one service is required"
            ),
            format!(
                "{file}:16: http.services.bad-url.loadBalancer.servers[1].url: invalid server URL \"ftp://127.0.0.1\": unsupported scheme \"ftp\" (allowed: http, https, h2c)"
            ),
            format!(
                "{file}:17: http.services.bad-url.loadBalancer.servers[2].url: invalid server URL \"127.0.0.1:9002\": missing scheme (http, https or h2c)"
            ),
            format!(
                "{file}:18: http.services.strange: unknown service type \"roundRobin\" (allowed: loadBalancer, weighted, mirroring, failover)"
            ),
            format!(
                "{file}:23: http.serversTransports.t.forwardingTimeouts.dialTimeout: invalid duration -1: must not be negative"
            ),
            format!(
                "{file}:25: http.serversTransports.t2.maxIdleConnsPerHost: expected a non-negative integer, found string \"many\""
            ),
        ]
    );
}

#[test]
fn duplicate_yaml_key_points_at_both_lines() {
    assert_eq!(
        errors("err_dup_key.yml"),
        [
            "src/config/testdata/err_dup_key.yml:9: http.routers.api: duplicate key \"api\" (first given on line 6)"
        ]
    );
}

#[test]
fn errors_of_every_section_are_collected_in_source_order() {
    let file = "src/config/testdata/err_multi.yml";
    assert_eq!(
        errors("err_multi.yml"),
        [
            format!(
                "{file}:4: pilot: unknown key \"pilot\" (allowed: entryPoints, providers, plugins, log, metrics, accessLog, tracing, api, ping, experimental, core, global, serversTransport, certificatesResolvers, http, tcp, udp, tls)"
            ),
            format!(
                "{file}:6: log.level: unknown log level \"loud\" (allowed: trace, debug, info, warn, error, fatal, panic)"
            ),
            format!(
                "{file}:9: plugins.defaults.memoryLimit: invalid size \"16mb\": unknown unit \"mb\" (B, KiB, MiB, GiB, KB, MB, GB)"
            ),
            format!("{file}:14: http.routers.a.service: service \"missing\" is not defined"),
            format!(
                "{file}:18: http.routers.b.priority: expected an integer, found string \"high\""
            ),
        ]
    );
}

#[test]
fn unreadable_main_file() {
    let Err(errors) = load(&fixture("does-not-exist.yml")) else {
        panic!("a missing file must not load");
    };
    assert_eq!(
        errors.to_string(),
        "src/config/testdata/does-not-exist.yml: cannot read the configuration: No such file or directory (os error 2)"
    );
}

#[test]
fn error_at_locates_keys_for_other_modules() {
    let config = loaded("full.yml");
    let rule = config.error_at(&["http", "routers", "api", "rule"], "rule does not parse");
    assert_eq!(
        rule.to_string(),
        "src/config/testdata/full.yml:21: http.routers.api.rule: rule does not parse"
    );
    let plugin = config.error_at(
        &["http", "middlewares", "guard", "plugin", "name"],
        "no plugin \"example\"",
    );
    assert_eq!(plugin.line, Some(52));
    let item = config.error_at(&["http", "routers", "api", "middlewares", "1"], "x");
    assert_eq!(
        (item.line, item.key.as_str()),
        (Some(24), "http.routers.api.middlewares[1]")
    );
    let absent = config.error_at(&["http", "routers", "nope"], "x");
    assert_eq!(
        (absent.line, absent.key.as_str()),
        (Some(19), "http.routers.nope")
    );
    let sorted = config.errors_in_source_order(vec![plugin.clone(), rule.clone()]);
    assert_eq!(sorted.0, [rule, plugin]);
}

#[test]
fn an_unknown_trace_verbosity_is_located() {
    let found = errors("err_router_observability.yml");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(
            "src/config/testdata/err_router_observability.yml:9: http.routers.own.observability.traceVerbosity:"
        ) && found[0].contains("verbose"),
        "{found:?}"
    );
}
