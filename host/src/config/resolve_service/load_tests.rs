//! Loading the service kinds and their options from YAML: values, defaults, and one located
//! error per bad key (references and cycles included).

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};

use crate::config::{
    FailoverConfig, HealthCheckConfig, LoadedConfig, MirrorConfig, MirroringConfig,
    PassiveHealthConfig, RetryConfig, SameSite, ServiceConfig, StickyCookieConfig,
    WeightedServiceConfig, load,
};

const HEAD: &str = "entryPoints:\n  web: { address: \"127.0.0.1:8080\" }\nhttp:\n  services:\n";

fn load_yaml(services: &str) -> Result<LoadedConfig, Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.yml");
    std::fs::write(&path, format!("{HEAD}{services}")).unwrap();
    load(&path).map_err(|e| {
        e.0.iter()
            .map(|e| format!("{}: {}: {}", e.line.unwrap_or(0), e.key, e.reason))
            .collect()
    })
}

#[test]
fn every_service_kind_loads_with_its_options() {
    let config = load_yaml(
        r#"    lb:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:1", weight: 3 }, { url: "h2c://127.0.0.1:2", weight: 0 }]
        sticky:
          cookie: { name: pin, secure: true, httpOnly: true, sameSite: Strict, maxAge: 60, path: /app, domain: a.test }
        healthcheck:
          path: /health?full=1
          method: head
          scheme: h2c
          port: 9000
          hostname: probe.test
          headers: { X-Probe: "1" }
          interval: 2s
          unhealthyInterval: 500ms
          timeout: 1s
          status: 204
        passiveHealthCheck: { failureWindow: 3s, maxFailedAttempts: 2, failureStatuses: [502, "500-504"] }
        retry: { attempts: 3, initialInterval: 50ms }
    split:
      weighted:
        services: [{ name: lb, weight: 9 }, { name: lb@file }]
        sticky: { cookie: {} }
        healthCheck: {}
    copy:
      mirroring: { service: lb, mirrors: [{ name: split, percent: 25 }], maxBodySize: -1, mirrorBody: false }
    safe:
      failover: { service: split, fallback: copy }
"#,
    )
    .unwrap_or_else(|e| panic!("{e:#?}"));
    let services = &config.dynamic.http.services;
    let ServiceConfig::LoadBalancer(lb) = &services["lb"] else {
        panic!("lb is a load balancer")
    };
    assert_eq!((lb.servers[0].weight, lb.servers[1].weight), (3, 0));
    assert_eq!(
        lb.sticky,
        Some(StickyCookieConfig {
            name: "pin".into(),
            secure: true,
            http_only: true,
            same_site: Some(SameSite::Strict),
            max_age: 60,
            path: "/app".into(),
            domain: Some("a.test".into()),
        })
    );
    assert_eq!(
        lb.health_check,
        Some(HealthCheckConfig {
            path: "/health?full=1".into(),
            method: Method::HEAD,
            scheme: Some("h2c".into()),
            port: Some(9000),
            hostname: Some(HeaderValue::from_static("probe.test")),
            headers: vec![(
                HeaderName::from_static("x-probe"),
                HeaderValue::from_static("1")
            )],
            interval: Duration::from_secs(2),
            unhealthy_interval: Duration::from_millis(500),
            timeout: Duration::from_secs(1),
            status: Some(204),
            follow_redirects: true,
        })
    );
    assert_eq!(
        lb.passive_health_check,
        Some(PassiveHealthConfig {
            failure_window: Duration::from_secs(3),
            max_failed_attempts: 2,
            failure_statuses: vec![(502, 502), (500, 504)],
        })
    );
    assert_eq!(
        lb.retry,
        Some(RetryConfig {
            attempts: 3,
            initial_interval: Duration::from_millis(50),
        })
    );
    let ServiceConfig::Weighted(w) = &services["split"] else {
        panic!("split is weighted")
    };
    assert_eq!(
        w.services,
        [
            WeightedServiceConfig {
                name: "lb".into(),
                weight: 9
            },
            WeightedServiceConfig {
                name: "lb".into(),
                weight: 1
            },
        ]
    );
    let cookie = w.sticky.as_ref().expect("sticky with defaults");
    assert!(
        cookie.name.starts_with('_') && cookie.name.len() == 7,
        "{}",
        cookie.name
    );
    assert_eq!(
        (cookie.path.as_str(), cookie.max_age, cookie.same_site),
        ("/", 0, None)
    );
    assert_eq!(
        services["copy"],
        ServiceConfig::Mirroring(MirroringConfig {
            service: "lb".into(),
            mirrors: vec![MirrorConfig {
                name: "split".into(),
                percent: 25
            }],
            mirror_body: false,
            max_body_size: None,
        })
    );
    assert_eq!(
        services["safe"],
        ServiceConfig::Failover(FailoverConfig {
            service: "split".into(),
            fallback: "copy".into(),
        })
    );
}

#[test]
fn health_check_defaults_follow_traefik() {
    let config = load_yaml(
        "    lb:\n      loadBalancer:\n        servers: [{ url: \"http://127.0.0.1:1\" }]\n        healthCheck: {}\n        passiveHealthCheck: {}\n    m:\n      mirroring: { service: lb }\n",
    )
    .unwrap_or_else(|e| panic!("{e:#?}"));
    let services = &config.dynamic.http.services;
    let ServiceConfig::LoadBalancer(lb) = &services["lb"] else {
        panic!("lb is a load balancer")
    };
    let hc = lb.health_check.as_ref().unwrap();
    assert_eq!(
        (hc.path.as_str(), &hc.method, hc.status),
        ("/", &Method::GET, None)
    );
    assert_eq!(
        (hc.interval, hc.unhealthy_interval, hc.timeout),
        (
            Duration::from_secs(30),
            Duration::from_secs(30),
            Duration::from_secs(5)
        )
    );
    let passive = lb.passive_health_check.as_ref().unwrap();
    assert_eq!(
        (passive.failure_window, passive.max_failed_attempts),
        (Duration::from_secs(10), 1)
    );
    assert!(passive.failure_statuses.is_empty());
    let ServiceConfig::Mirroring(m) = &services["m"] else {
        panic!("m is mirroring")
    };
    assert_eq!((m.mirror_body, m.max_body_size), (true, Some(1 << 20)));
}

#[test]
fn bad_options_references_and_cycles_are_located() {
    let errors = load_yaml(
        r#"    lb:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:1", weight: 0 }]
        sticky: { cookie: { name: "a b", sameSite: loose } }
        healthCheck: { path: health, interval: 0s, status: 700 }
        retry: { attempts: 0 }
    w:
      weighted: { services: [{ name: nowhere }] }
    m:
      mirroring: { service: lb, mirrors: [{ name: lb, percent: 101 }] }
    loop1:
      failover: { service: loop2, fallback: lb }
    loop2:
      weighted: { services: [{ name: loop1 }] }
    lb2:
      loadBalancer:
        servers: [{ url: "http://127.0.0.1:1" }]
        passiveHealthCheck: { failureStatuses: ["600-700"] }
"#,
    )
    .expect_err("the config is rejected");
    assert_eq!(
        errors,
        [
            "7: http.services.lb.loadBalancer.servers: at least one server needs a weight above 0",
            "8: http.services.lb.loadBalancer.sticky.cookie.name: invalid cookie name \"a b\": letters, digits and !#$%&'*+-.^_`|~ only",
            "8: http.services.lb.loadBalancer.sticky.cookie.sameSite: invalid sameSite \"loose\" (allowed: none, lax, strict)",
            "9: http.services.lb.loadBalancer.healthCheck.path: invalid path \"health\": must start with '/'",
            "9: http.services.lb.loadBalancer.healthCheck.interval: must be above 0",
            "9: http.services.lb.loadBalancer.healthCheck.status: invalid status 700: must be 100-599",
            "10: http.services.lb.loadBalancer.retry.attempts: must be at least 1",
            "12: http.services.w.weighted.services[0].name: service \"nowhere\" is not defined",
            "14: http.services.m.mirroring.mirrors[0].percent: invalid percent 101: must be 0-100",
            "15: http.services.loop1: services form a cycle: loop1 -> loop2 -> loop1",
            "22: http.services.lb2.loadBalancer.passiveHealthCheck.failureStatuses[0]: invalid status 600: must be 100-599",
        ]
    );
}
