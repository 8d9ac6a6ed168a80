//! Weights, weighted services and sticky cookies.

use super::backend::Backend;
use super::{count, gateway, who};
use crate::support::Client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_three_to_one_split_750_250_with_no_burst_to_the_heavy_server() {
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let gw = gateway(&format!(
        r#"    app:
      loadBalancer:
        servers:
          - {{ url: "{}", weight: 3 }}
          - {{ url: "{}", weight: 1 }}"#,
        a.url(),
        b.url()
    ));
    let client = Client::http1();
    let mut order = Vec::with_capacity(1000);
    for _ in 0..1000 {
        order.push(who(&client, &gw.url("/"), None).await.unwrap());
    }
    let counts = count(&order, &["a", "b"]);
    assert!(counts[0].abs_diff(750) <= 40, "a got {}", counts[0]);
    assert!(counts[1].abs_diff(250) <= 40, "b got {}", counts[1]);
    let longest_a_run = order
        .split(|n| n != "a")
        .map(<[String]>::len)
        .max()
        .unwrap_or(0);
    assert!(longest_a_run <= 3, "a run of {longest_a_run} requests to a");
    assert_eq!((a.hits(), b.hits()), (counts[0], counts[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weighted_service_splits_90_10_between_two_services() {
    let (blue, green) = (Backend::start("blue").await, Backend::start("green").await);
    let gw = gateway(&format!(
        r#"    app:
      weighted:
        services:
          - {{ name: blue, weight: 90 }}
          - {{ name: green@file, weight: 10 }}
    blue: {{ loadBalancer: {{ servers: [{{ url: "{}" }}] }} }}
    green: {{ loadBalancer: {{ servers: [{{ url: "{}" }}] }} }}"#,
        blue.url(),
        green.url()
    ));
    let client = Client::http1();
    let mut names = Vec::with_capacity(2000);
    for _ in 0..2000 {
        names.push(who(&client, &gw.url("/"), None).await.unwrap());
    }
    let counts = count(&names, &["blue", "green"]);
    assert!(counts[0].abs_diff(1800) <= 60, "blue got {}", counts[0]);
    assert!(counts[1].abs_diff(200) <= 60, "green got {}", counts[1]);
    assert_eq!(blue.hits() + green.hits(), 2000);
}

fn sticky_service(servers: &[&Backend], extra: &str) -> String {
    let list: Vec<String> = servers
        .iter()
        .map(|b| format!("          - url: \"{}\"", b.url()))
        .collect();
    format!(
        r#"    app:
      loadBalancer:
        servers:
{}
        sticky:
          cookie: {{ name: pin, httpOnly: true, sameSite: lax }}
{extra}"#,
        list.join("\n")
    )
}

/// The `name=value` pair of a `Set-Cookie` header.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

/// First request without a cookie: returns (server, cookie pair), checking the attributes.
async fn first_pin(client: &Client, url: &str) -> (String, String) {
    let r = super::try_get(client, url, None).await.unwrap();
    assert_eq!(r.status, 200);
    let set = r
        .header("set-cookie")
        .expect("a first request is pinned")
        .to_owned();
    assert!(set.starts_with("pin="), "{set}");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    (
        r.header("x-upstream").unwrap().to_owned(),
        cookie_pair(&set),
    )
}

/// 50 requests with `cookie`: all reach `server`, and none is re-pinned.
async fn all_stick(client: &Client, url: &str, cookie: &str, server: &str) {
    for _ in 0..50 {
        let r = super::try_get(client, url, Some(cookie)).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-upstream"), Some(server));
        assert_eq!(r.header("set-cookie"), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sticky_cookie_pins_a_client_and_re_pins_it_when_its_server_fails_its_health_check() {
    let backends = [
        Backend::start("s0").await,
        Backend::start("s1").await,
        Backend::start("s2").await,
    ];
    let health = "        healthCheck: { path: /health, interval: 50ms, timeout: 500ms }";
    let gw = gateway(&sticky_service(
        &backends.iter().collect::<Vec<_>>(),
        health,
    ));
    let (client, url) = (Client::http1(), gw.url("/"));
    let (server, cookie) = first_pin(&client, &url).await;
    all_stick(&client, &url, &cookie, &server).await;

    let pinned = backends.iter().find(|b| b.name == server).unwrap();
    pinned.set_healthy(false);
    // Every request succeeds while the gateway notices; the first one after re-pins.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let new_pin = loop {
        assert!(
            std::time::Instant::now() < until,
            "not re-pinned within 15 s"
        );
        let r = super::try_get(&client, &url, Some(&cookie)).await.unwrap();
        assert_eq!(r.status, 200, "no request fails while re-pinning");
        let now = r.header("x-upstream").unwrap().to_owned();
        if now != server {
            let set = r
                .header("set-cookie")
                .expect("a re-pinned client gets a new cookie");
            break (now, cookie_pair(set));
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    let (new_server, new_cookie) = new_pin;
    assert_ne!(new_cookie, cookie);
    all_stick(&client, &url, &new_cookie, &new_server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sticky_client_whose_server_dies_is_re_pinned_by_retry_without_an_error() {
    let mut backends = [Backend::start("s0").await, Backend::start("s1").await];
    let extra = "        passiveHealthCheck: { failureWindow: 30s, maxFailedAttempts: 1 }\n        retry: { attempts: 2, initialInterval: 10ms }";
    let gw = gateway(&sticky_service(&backends.iter().collect::<Vec<_>>(), extra));
    let (client, url) = (Client::http1(), gw.url("/"));
    let (server, cookie) = first_pin(&client, &url).await;
    all_stick(&client, &url, &cookie, &server).await;

    let dead = backends.iter_mut().find(|b| b.name == server).unwrap();
    dead.stop().await;
    let r = super::try_get(&client, &url, Some(&cookie)).await.unwrap();
    assert_eq!(r.status, 200, "the retry reaches the other server");
    let new_server = r.header("x-upstream").unwrap().to_owned();
    assert_ne!(new_server, server);
    let new_cookie = cookie_pair(r.header("set-cookie").expect("re-pinned"));
    all_stick(&client, &url, &new_cookie, &new_server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preserve_path_puts_the_server_urls_path_before_the_request_path() {
    let up = crate::support::Upstream::start("app").await;
    let gw = gateway(&format!(
        r#"    app:
      weighted:
        services: [{{ name: kept, weight: 1 }}, {{ name: dropped, weight: 1 }}]
    kept:
      loadBalancer:
        servers: [{{ url: "{0}/base/", preservePath: true }}]
    dropped:
      loadBalancer:
        servers: [{{ url: "{0}/base/" }}]"#,
        up.url()
    ));
    let client = Client::http1();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let r = client.get(&gw.url("/users?id=7"), "app.test", &[]).await;
        assert_eq!(r.status, 200, "{}", gw.log());
        seen.push(up.last().path_and_query);
    }
    seen.sort();
    // Traefik's rule: a server URL's path is used only with preservePath, joined with one slash.
    assert_eq!(seen, ["/base/users?id=7", "/users?id=7"]);
}
