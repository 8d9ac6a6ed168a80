//! Mirroring: copies reach the mirror at the configured percentage, the client only ever sees
//! the main service, bodies are mirrored within `maxBodySize` only, and a hung mirror does not
//! hold the client up.

use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};

use super::backend::Backend;
use super::{eventually, gateway, try_send, who};
use crate::support::Client;

fn mirroring(main: &Backend, mirror: &Backend, percent: u32, extra: &str) -> String {
    format!(
        r#"    app:
      mirroring:
        service: main
        mirrors: [{{ name: shadow, percent: {percent} }}]
{extra}
    main: {{ loadBalancer: {{ servers: [{{ url: "{}" }}] }} }}
    shadow: {{ loadBalancer: {{ servers: [{{ url: "{}" }}] }} }}"#,
        main.url(),
        mirror.url()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirroring_at_50_percent_copies_half_the_requests_and_the_client_sees_only_the_main() {
    let (main, shadow) = (Backend::start("main").await, Backend::start("shadow").await);
    let gw = gateway(&mirroring(&main, &shadow, 50, ""));
    let client = Client::http1();
    for i in 0..200 {
        let name = who(&client, &gw.url(&format!("/item/{i}")), None)
            .await
            .unwrap();
        assert_eq!(name, "main");
    }
    eventually("the mirror received its copies", || async {
        shadow.hits() >= 100
    })
    .await;
    assert_eq!(main.hits(), 200);
    assert_eq!(shadow.hits(), 100, "exactly half are mirrored");
    let copy = &shadow.seen()[0];
    assert_eq!(copy.method, "GET");
    assert!(copy.path.starts_with("/item/"));
    assert_eq!(copy.headers.get("host").unwrap(), "lb.test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_body_is_mirrored_within_max_body_size_and_a_larger_one_only_reaches_the_main() {
    let (main, shadow) = (Backend::start("main").await, Backend::start("shadow").await);
    let gw = gateway(&mirroring(&main, &shadow, 100, "        maxBodySize: 1KiB"));
    let client = Client::http1();
    let post = |size: usize| {
        let body = Full::new(Bytes::from(vec![b'x'; size]))
            .map_err(|never| match never {})
            .boxed();
        Request::builder()
            .method(Method::POST)
            .uri(gw.url("/upload"))
            .header("host", "lb.test")
            .body(body)
            .unwrap()
    };
    let small = try_send(&client, post(1000)).await.unwrap();
    assert_eq!(small.header("x-received-bytes"), Some("1000"));
    eventually("the small body is mirrored", || async {
        shadow.hits() == 1
    })
    .await;
    assert_eq!(shadow.seen()[0].body_len, 1000);

    let large = try_send(&client, post(100_000)).await.unwrap();
    assert_eq!(large.status, 200);
    assert_eq!(large.header("x-upstream"), Some("main"));
    assert_eq!(
        large.header("x-received-bytes"),
        Some("100000"),
        "the main gets it whole"
    );
    // A later small request is mirrored; the large one never was.
    let _ = try_send(&client, post(10)).await.unwrap();
    eventually("the next small body is mirrored", || async {
        shadow.hits() == 2
    })
    .await;
    let lens: Vec<usize> = shadow.seen().iter().map(|s| s.body_len).collect();
    assert_eq!(lens, [1000, 10]);
    assert_eq!(main.hits(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_mirror_does_not_hold_up_the_client() {
    let main = Backend::start("main").await;
    let shadow = Backend::start_hanging("shadow").await;
    let gw = gateway(&mirroring(&main, &shadow, 100, ""));
    let client = Client::http1();
    // Each request is bounded by a 10 s hang guard; the mirror never answers any of them.
    for _ in 0..100 {
        assert_eq!(who(&client, &gw.url("/"), None).await.unwrap(), "main");
    }
    eventually("the mirror holds every copy", || async {
        shadow.hits() == 100
    })
    .await;
    assert_eq!(main.hits(), 100);
}
