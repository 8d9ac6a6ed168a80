//! Health: a server killed under steady load (passive health + retry: no failed request;
//! active health: the server leaves the rotation and rejoins), and failover on the main
//! service's health.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::backend::Backend;
use super::{count, eventually, gateway, who};
use crate::support::Client;

fn three_servers(backends: &[Backend], extra: &str) -> String {
    let list: Vec<String> = backends
        .iter()
        .map(|b| format!("          - url: \"{}\"", b.url()))
        .collect();
    format!(
        "    app:\n      loadBalancer:\n        servers:\n{}\n{extra}",
        list.join("\n")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_of_three_servers_under_load_fails_no_request_with_passive_health_and_retry() {
    let mut backends = vec![
        Backend::start("a").await,
        Backend::start("b").await,
        Backend::start("c").await,
    ];
    let extra = "        passiveHealthCheck: { failureWindow: 30s, maxFailedAttempts: 1 }\n        retry: { attempts: 3, initialInterval: 10ms }";
    let gw = gateway(&three_servers(&backends, extra));
    let url = gw.url("/");
    const TOTAL: usize = 800;
    const KILL_AT: usize = 200;
    let done = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (url, done) = (url.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            let client = Client::http1();
            let mut failures = Vec::new();
            while done.fetch_add(1, Ordering::SeqCst) < TOTAL {
                if let Err(e) = who(&client, &url, None).await {
                    failures.push(e);
                }
            }
            failures
        }));
    }
    eventually("load reaches the kill point", || {
        let done = done.clone();
        async move { done.load(Ordering::SeqCst) >= KILL_AT }
    })
    .await;
    let before = backends[1].hits();
    backends[1].stop().await;
    let mut failures = Vec::new();
    for w in workers {
        failures.extend(w.await.unwrap());
    }
    assert!(before > 0, "b served before it died");
    assert_eq!(
        failures,
        Vec::<String>::new(),
        "no idempotent request failed"
    );
    assert_eq!(
        backends[0].hits() + backends[1].hits() + backends[2].hits(),
        TOTAL
    );
    assert!(gw.wait_for_log("passive health check: server ejected"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_active_health_a_dead_server_leaves_the_rotation_and_rejoins_when_it_comes_back() {
    let mut backends = vec![
        Backend::start("a").await,
        Backend::start("b").await,
        Backend::start("c").await,
    ];
    let extra = "        healthCheck: { path: /health, interval: 100ms, timeout: 300ms }";
    let gw = gateway(&three_servers(&backends, extra));
    let (client, url) = (Client::http1(), gw.url("/"));
    let mut names = Vec::new();
    for _ in 0..30 {
        names.push(who(&client, &url, None).await.unwrap());
    }
    assert_eq!(count(&names, &["a", "b", "c"]), [10, 10, 10]);

    backends[1].stop().await;
    let killed = Instant::now();
    // Until a probe notices, requests to b fail (no retry here); then b is out of rotation.
    let until = Instant::now() + std::time::Duration::from_secs(15);
    let mut ok_in_a_row = 0;
    while ok_in_a_row < 10 {
        assert!(
            Instant::now() < until,
            "b did not leave the rotation within 15 s"
        );
        match who(&client, &url, None).await {
            Ok(_) => ok_in_a_row += 1,
            Err(_) => ok_in_a_row = 0,
        }
    }
    eprintln!(
        "active: b out of rotation at most {:?} after it died",
        killed.elapsed()
    );
    let mut names = Vec::new();
    for _ in 0..60 {
        names.push(
            who(&client, &url, None)
                .await
                .expect("only live servers are picked"),
        );
    }
    assert_eq!(count(&names, &["a", "b", "c"]), [30, 0, 30]);

    backends[1].restart().await;
    let hits_before = backends[1].hits();
    eventually("b rejoins the rotation", || {
        let (client, url) = (&client, &url);
        async move { who(client, url, None).await.as_deref() == Ok("b") }
    })
    .await;
    assert!(backends[1].hits() > hits_before);
    let mut names = Vec::new();
    for _ in 0..60 {
        names.push(who(&client, &url, None).await.unwrap());
    }
    assert_eq!(count(&names, &["a", "b", "c"]), [20, 20, 20]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_switches_to_the_fallback_when_the_main_is_unhealthy_and_back_when_it_recovers() {
    let (main, spare) = (Backend::start("main").await, Backend::start("spare").await);
    let gw = gateway(&format!(
        r#"    app:
      failover: {{ service: primary, fallback: backup }}
    primary:
      loadBalancer:
        servers: [{{ url: "{}" }}]
        healthCheck: {{ path: /health, interval: 50ms, timeout: 500ms }}
    backup:
      loadBalancer:
        servers: [{{ url: "{}" }}]"#,
        main.url(),
        spare.url()
    ));
    let (client, url) = (Client::http1(), gw.url("/"));
    for _ in 0..10 {
        assert_eq!(who(&client, &url, None).await.unwrap(), "main");
    }
    main.set_healthy(false);
    eventually("traffic moves to the fallback", || {
        let (client, url) = (&client, &url);
        async move { who(client, url, None).await.unwrap() == "spare" }
    })
    .await;
    for _ in 0..10 {
        assert_eq!(who(&client, &url, None).await.unwrap(), "spare");
    }
    main.set_healthy(true);
    eventually("traffic moves back to the main service", || {
        let (client, url) = (&client, &url);
        async move { who(client, url, None).await.unwrap() == "main" }
    })
    .await;
    for _ in 0..10 {
        assert_eq!(who(&client, &url, None).await.unwrap(), "main");
    }
    assert!(main.probes() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_stops_the_health_probes_of_the_services_it_replaces() {
    let (old, new) = (Backend::start("old").await, Backend::start("new").await);
    let service = |b: &Backend| {
        format!(
            "    app:\n      loadBalancer:\n        servers: [{{ url: \"{}\" }}]\n        healthCheck: {{ path: /health, interval: 20ms }}",
            b.url()
        )
    };
    let gw = gateway(&service(&old));
    let client = Client::http1();
    eventually("the old server is probed", || async { old.probes() >= 3 }).await;
    let config = std::fs::read_to_string(gw.config_path()).unwrap();
    std::fs::write(gw.config_path(), config.replace(&old.url(), &new.url())).unwrap();
    eventually("the reload is applied", || {
        let (client, url) = (&client, gw.url("/"));
        async move { who(client, &url, None).await.as_deref() == Ok("new") }
    })
    .await;
    eventually("the new server is probed", || async { new.probes() >= 3 }).await;
    // The replaced runtime is dropped with its probe tasks: the old server hears no more
    // probes (one may have been under way), while the new one keeps being probed.
    let (old_then, new_then) = (old.probes(), new.probes());
    eventually("the new server is probed 10 more times", || async {
        new.probes() >= new_then + 10
    })
    .await;
    assert!(
        old.probes() <= old_then + 1,
        "old probes went on: {} -> {}",
        old_then,
        old.probes()
    );
}

/// A server whose `/moved` redirects (302) to `/ready`; counts the requests for each.
async fn redirecting_server() -> (String, Arc<[AtomicUsize; 2]>) {
    use http_body_util::Full;
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let counts = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counts = counts.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let mut resp = http::Response::new(Full::new(bytes::Bytes::new()));
                    match req.uri().path() {
                        "/moved" => {
                            counts[0].fetch_add(1, Ordering::SeqCst);
                            *resp.status_mut() = http::StatusCode::FOUND;
                            resp.headers_mut()
                                .insert("location", http::HeaderValue::from_static("/ready"));
                        }
                        "/ready" => {
                            counts[1].fetch_add(1, Ordering::SeqCst);
                        }
                        _ => {}
                    }
                    async move { Ok::<_, std::convert::Infallible>(resp) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, svc)
                    .await;
            });
        }
    });
    (url, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_probes_follow_redirects_unless_told_not_to() {
    for follow in [None, Some(false)] {
        let (url, seen) = redirecting_server().await;
        let option = follow.map_or(String::new(), |f| format!(", followRedirects: {f}"));
        let _gw = gateway(&format!(
            "    app:\n      loadBalancer:\n        servers: [{{ url: \"{url}\" }}]\n        \
             healthCheck: {{ path: /moved, interval: 50ms{option} }}"
        ));
        eventually("three probes", || {
            let seen = seen.clone();
            async move { seen[0].load(Ordering::SeqCst) >= 3 }
        })
        .await;
        let (moved, ready) = (
            seen[0].load(Ordering::SeqCst),
            seen[1].load(Ordering::SeqCst),
        );
        match follow {
            // Traefik's default: each probe follows the 302 to /ready.
            None => assert!(
                ready + 1 >= moved && ready >= 2,
                "{moved} probes, {ready} followed"
            ),
            Some(_) => assert_eq!(ready, 0, "{moved} probes, none followed"),
        }
    }
}
