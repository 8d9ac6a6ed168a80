//! Routing by Traefik v3 rules, priorities, 404, and round robin.

use crate::support::{Client, Config, Gateway, Upstream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routers_send_to_their_services_by_host_and_path_prefix() {
    let a = Upstream::start("a").await;
    let b = Upstream::start("b").await;
    let gw = Gateway::start(
        &Config::new()
            .route("api-a", "Host(`a.test`) && PathPrefix(`/api`)", "svc-a")
            .route("site-b", "Host(`b.test`)", "svc-b")
            .service("svc-a", &a.url())
            .service("svc-b", &b.url())
            .yaml(),
        &[],
    );
    let c = Client::http1();

    let r = c.get(&gw.url("/api/users?x=1"), "a.test", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "a");
    assert_eq!(a.last().path_and_query, "/api/users?x=1");
    assert_eq!(
        a.last().header("host"),
        Some("a.test"),
        "passHostHeader defaults to true"
    );

    let r = c.get(&gw.url("/anything"), "b.test", &[]).await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (200, "b"));
    let r = c.get(&gw.url("/api"), "B.TEST:8080", &[]).await;
    assert_eq!(r.text(), "b", "host matching ignores case and port");

    // Neither rule matches: a.test outside /api, and an unknown host.
    assert_eq!(c.get(&gw.url("/other"), "a.test", &[]).await.status, 404);
    assert_eq!(c.get(&gw.url("/api"), "c.test", &[]).await.status, 404);
    assert_eq!((a.count(), b.count()), (1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longer_rules_win_by_default_and_explicit_priority_overrides() {
    let general = Upstream::start("general").await;
    let specific = Upstream::start("specific").await;
    let forced = Upstream::start("forced").await;
    let gw = Gateway::start(
        &Config::new()
            .route("general", "PathPrefix(`/`)", "general")
            .route(
                "specific",
                "PathPrefix(`/shop`) && Method(`GET`)",
                "specific",
            )
            .routers(
                "    forced: { rule: \"Path(`/shop/cart`)\", priority: 1000, service: forced }\n",
            )
            .service("general", &general.url())
            .service("specific", &specific.url())
            .service("forced", &forced.url())
            .yaml(),
        &[],
    );
    let c = Client::http1();
    assert_eq!(c.get(&gw.url("/"), "x.test", &[]).await.text(), "general");
    assert_eq!(
        c.get(&gw.url("/shop/items"), "x.test", &[]).await.text(),
        "specific"
    );
    // `Path(`/shop/cart`)` is shorter than the `specific` rule, but its explicit priority wins.
    assert_eq!(
        c.get(&gw.url("/shop/cart"), "x.test", &[]).await.text(),
        "forced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_splits_requests_evenly_across_two_servers() {
    let s1 = Upstream::start("s1").await;
    let s2 = Upstream::start("s2").await;
    let gw = Gateway::start(
        &Config::new()
            .route("all", "PathPrefix(`/`)", "pair")
            .services(&format!(
                "    pair: {{ loadBalancer: {{ servers: [{{ url: \"{}\" }}, {{ url: \"{}\" }}] }} }}\n",
                s1.url(),
                s2.url()
            ))
            .yaml(),
        &[],
    );
    let c = Client::http1();
    for _ in 0..100 {
        assert_eq!(c.get(&gw.url("/"), "rr.test", &[]).await.status, 200);
    }
    assert_eq!((s1.count(), s2.count()), (50, 50));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge_clients_are_routed_by_authority() {
    let a = Upstream::start("a").await;
    let gw = Gateway::start(
        &Config::new()
            .route("a", "Host(`127.0.0.1`)", "a")
            .service("a", &a.url())
            .yaml(),
        &[],
    );
    let r = Client::http2().get(&gw.url("/h2"), "", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "a");
    assert_eq!(a.last().path_and_query, "/h2");
    assert!(
        a.last()
            .header("host")
            .is_some_and(|h| h.starts_with("127.0.0.1:")),
        "h2 :authority becomes Host upstream"
    );
}
