//! Virtual services in Traefik's keys: a router per host name (`reviews.default.svc`, reached
//! through a transparent entrypoint at a service IP that exists nowhere) or per original
//! destination (`OriginalDst`), a `weighted` service
//! over versioned subsets (canary), a more specific router with `Header` for the override, and
//! a weight change by hot reload of the file provider or pushed by the HTTP provider.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::netns::{GATEWAY_GID, Netns};
use crate::support::{Client, Config, ControlPlane, Gateway, Upstream};

/// `reviews` split `v1`:`v2` by weight, `x-canary: true` always to v2.
fn reviews(v1: &Upstream, v2: &Upstream, weights: (u32, u32)) -> String {
    let mut yaml = Config::new()
        .entrypoint("transparent: {}")
        .routers(
            "    reviews: { rule: \"Host(`reviews.default.svc`)\", service: reviews }\n\
             \x20   reviews-by-ip: { rule: \"OriginalDst(`10.96.0.21:9080`)\", service: reviews }\n\
             \x20   reviews-canary:\n\
             \x20     rule: \"Host(`reviews.default.svc`) && Header(`x-canary`, `true`)\"\n\
             \x20     service: reviews-v2\n",
        )
        .services(&format!(
            "    reviews:\n      weighted:\n        services:\n\
             \x20         - {{ name: reviews-v1, weight: {} }}\n\
             \x20         - {{ name: reviews-v2, weight: {} }}\n",
            weights.0, weights.1
        ))
        .service("reviews-v1", &v1.url())
        .service("reviews-v2", &v2.url())
        .yaml();
    yaml.push('\n');
    yaml
}

const URL: &str = "http://10.96.0.20:9080/reviews";
const HOST: &str = "reviews.default.svc:9080";

#[test]
fn a_virtual_service_splits_exactly_by_weight_and_the_canary_header_always_picks_v2() {
    let ns = Netns::create();
    ns.run(|| async {
        let (v1, v2) = (Upstream::start("v1").await, Upstream::start("v2").await);
        let gw = Gateway::start_in_group(&reviews(&v1, &v2, (90, 10)), GATEWAY_GID);
        ns.redirect_outbound(gw.addr.port(), true);
        let client = Client::http1();
        for _ in 0..2000 {
            assert_eq!(client.get(URL, HOST, &[]).await.status, 200);
        }
        assert_eq!(
            (v1.count(), v2.count()),
            (1800, 200),
            "smooth weighted 90/10"
        );
        for _ in 0..100 {
            let reply = client.get(URL, HOST, &[("x-canary", "true")]).await;
            assert_eq!(reply.text(), "v2");
        }
        assert_eq!((v1.count(), v2.count()), (1800, 300));
        // Addressed by its service IP and port instead of its name (any Host).
        for _ in 0..100 {
            let reply = client
                .get("http://10.96.0.21:9080/", "whatever.test", &[])
                .await;
            assert_eq!(reply.status, 200);
        }
        assert_eq!((v1.count(), v2.count()), (1890, 310));
    });
}

#[test]
fn a_weight_change_by_hot_reload_fails_no_request_under_load() {
    weight_change_under_load(Push::File);
}

#[test]
fn a_weight_change_pushed_by_the_http_provider_fails_no_request_under_load() {
    weight_change_under_load(Push::HttpProvider);
}

/// How the new weights reach the gateway.
#[derive(Clone, Copy)]
enum Push {
    /// The config file is rewritten (file provider, hot reload).
    File,
    /// The control plane's document changes (`providers.http`, polled every 100 ms).
    HttpProvider,
}

/// `reviews(...)` split into the main file's part and the `http:` part a provider serves.
fn split_dynamic(yaml: &str) -> (String, String) {
    let at = yaml.find("\nhttp:").map_or(0, |i| i + 1);
    (yaml[..at].to_string(), yaml[at..].to_string())
}

fn weight_change_under_load(push: Push) {
    let ns = Netns::create();
    ns.run(|| async {
        let (v1, v2) = (Upstream::start("v1").await, Upstream::start("v2").await);
        let (statics, dynamic) = split_dynamic(&reviews(&v1, &v2, (100, 0)));
        let control_plane = match push {
            Push::File => None,
            Push::HttpProvider => Some(ControlPlane::start(&dynamic).await),
        };
        let yaml = match &control_plane {
            None => reviews(&v1, &v2, (100, 0)),
            Some(cp) => format!(
                "{statics}providers:\n  http:\n    endpoint: \"{}\"\n    pollInterval: 100ms\n",
                cp.url()
            ),
        };
        let gw = Gateway::start_in_group(&yaml, GATEWAY_GID);
        ns.redirect_outbound(gw.addr.port(), true);
        // The control plane answers once this thread is free again (starting the gateway
        // blocked it): the load starts once the first configuration serves.
        let started = std::time::Instant::now();
        while Client::http1().get(URL, HOST, &[]).await.status != 200 {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "{}",
                gw.log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut load = Vec::new();
        for _ in 0..4 {
            let (stop, sent, failed) = (stop.clone(), sent.clone(), failed.clone());
            load.push(tokio::spawn(async move {
                let client = Client::http1();
                while !stop.load(Ordering::Relaxed) {
                    let request = http::Request::get(URL)
                        .header("host", HOST)
                        .body(crate::support::client::empty())
                        .expect("request");
                    let ok = matches!(client.raw().request(request).await,
                        Ok(resp) if resp.status() == 200);
                    sent.fetch_add(1, Ordering::Relaxed);
                    if !ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        // Load is flowing to v1 only.
        while v1.count() < 200 {
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(v2.count(), 0);
        let reloads = gw.log_count("configuration reloaded");
        match &control_plane {
            None => {
                std::fs::write(gw.config_path(), reviews(&v1, &v2, (50, 50))).expect("write config")
            }
            Some(cp) => cp.set(&split_dynamic(&reviews(&v1, &v2, (50, 50))).1),
        }
        while gw.log_count("configuration reloaded") == reloads {
            assert!(gw.log_count("reload rejected") == 0, "{}", gw.log());
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        // Load goes on for a while on the new weights.
        let after = sent.load(Ordering::Relaxed);
        while sent.load(Ordering::Relaxed) < after + 400 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        stop.store(true, Ordering::Relaxed);
        for task in load {
            task.await.expect("load task");
        }
        assert_eq!(
            failed.load(Ordering::Relaxed),
            0,
            "of {}; log:\n{}",
            sent.load(Ordering::Relaxed),
            gw.log()
        );
        // The new weights: any 1000 requests in a row split exactly 500/500.
        let (a, b) = (v1.count(), v2.count());
        let client = Client::http1();
        for _ in 0..1000 {
            client.get(URL, HOST, &[]).await;
        }
        assert_eq!((v1.count() - a, v2.count() - b), (500, 500));
    });
}
