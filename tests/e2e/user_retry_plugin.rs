//! The `retry-policy` export and the `identity` import through a user plugin built with the SDK
//! (`tests/plugins/user-retry`), with a policy the bundled `retry` does not have: it retries a
//! POST too. The load balancer does the resending; the plugin only decides; the user it names
//! reaches the access log.

use crate::observability::read_lines;
use crate::support::{Client, Config, FlakyUpstream, Gateway, fixture_wasm};

/// A gateway whose only route goes through `user-retry` with `attempts`, logging in CLF.
fn gateway(upstream: &FlakyUpstream, attempts: u32) -> Gateway {
    let yaml = Config::new()
        .plugin_dir()
        .route_through("r", "PathPrefix(`/`)", "app", "mine")
        .service("app", &upstream.url())
        .middlewares(&format!(
            "    mine:\n      plugin: {{ name: user-retry, config: {{ attempts: {attempts} }} }}\n"
        ))
        .yaml();
    let statics = "accessLog:\n  filePath: access.log\n  format: common\n";
    Gateway::start(
        &format!("{yaml}{statics}"),
        &[("user-retry", fixture_wasm("fixture_user_retry"))],
    )
}

async fn post(gw: &Gateway, user: &str) -> http::StatusCode {
    let req = http::Request::builder()
        .method("POST")
        .uri(gw.url("/"))
        .header("x-user", user)
        .body(crate::support::client::empty())
        .expect("a request");
    Client::http1().send(req).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_retry_policy_resends_a_post_and_names_its_user() {
    let upstream = FlakyUpstream::start(2).await;
    let gw = gateway(&upstream, 3);
    assert_eq!(post(&gw, "dora").await, 200, "the third try was served");
    assert_eq!(upstream.closed(), 2, "two tries were broken");
    assert_eq!(upstream.served(), 1);
    let lines = read_lines(&gw.config_path().with_file_name("access.log"), 1);
    let user = lines.first().and_then(|l| l.split(' ').nth(2));
    assert_eq!(user, Some("dora"), "{lines:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_retry_policy_that_gives_up_leaves_the_502() {
    let upstream = FlakyUpstream::start(2).await;
    let gw = gateway(&upstream, 1);
    assert_eq!(
        post(&gw, "eve").await,
        502,
        "the plugin answered none after the first try"
    );
    assert_eq!(upstream.closed(), 1, "one try");
    assert_eq!(upstream.served(), 0);
}
