//! The `kv` capability on Redis (`plugin.kv.redis`), through the SDK fixture `kv-counter` on two
//! real gateway processes sharing one real `redis-server` (started here on a port picked here,
//! stopped by PID): one counter and one compare-and-swap for both, from `on-request` (two `kv`
//! calls in a row: two replays), `on-response` and `on-complete`; a TTL expiring in Redis;
//! Redis stopped mid-run answering the plugin `backend(...)` (its own 500 with the reason) and
//! coming back without a restart; config errors at their line, with the old config kept.

use std::time::Duration;

use crate::providers::stores::Store;
use crate::support::{
    Client, Config, Gateway, Upstream, assert_refused_at_key, check_config, fixture_wasm,
};

/// Hang guard while waiting for an event; never asserted as a time.
const AWAIT_WITHIN: Duration = Duration::from_secs(20);

fn plugins() -> [(&'static str, std::path::PathBuf); 1] {
    [("kv-counter", fixture_wasm("fixture_kv_counter"))]
}

/// Middleware `kv`: the fixture with its keys in the Redis at `endpoint`, windows of `ttl_ms`.
fn middleware(endpoint: &str, ttl_ms: u64, extra: &str) -> String {
    format!(
        "    kv:\n      plugin:\n        name: kv-counter\n        capabilities: [kv]\n        \
         config: {{ ttlMs: {ttl_ms} }}\n        kv:\n          redis:\n            \
         endpoints: [\"{endpoint}\"]\n{extra}"
    )
}

/// Every path through middleware `kv`; a 2 s plugin deadline (a loaded machine must not turn
/// counts into 500s).
fn config(upstream: &str, middlewares: &str) -> String {
    Config::new()
        .plugin_dir()
        .route_through("all", "PathPrefix(`/`)", "app", "kv")
        .service("app", upstream)
        .middlewares(middlewares)
        .yaml()
        .replace(
            "plugins:\n  directory: plugins\n",
            "plugins:\n  directory: plugins\n  defaults:\n    deadline: 2s\n",
        )
}

async fn answer(client: &Client, url: &str) -> (u16, String) {
    let reply = client.get(url, "", &[]).await;
    (reply.status.as_u16(), reply.text())
}

async fn ok_text(client: &Client, url: &str) -> String {
    let (status, text) = answer(client, url).await;
    assert_eq!(status, 200, "{url}: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_sharing_one_redis_see_one_counter_from_every_hook() {
    let redis = Store::redis().await;
    let up = Upstream::start("app").await;
    let yaml = config(&up.url(), &middleware(&redis.endpoint(), 0, ""));
    let (a, b) = (
        Gateway::start(&yaml, &plugins()),
        Gateway::start(&yaml, &plugins()),
    );
    let client = Client::http1();
    // `on-request`: one counter, whichever gateway counts.
    for n in 1..=6 {
        let gw = if n % 2 == 0 { &b } else { &a };
        assert_eq!(ok_text(&client, &gw.url("/hit")).await, n.to_string());
    }
    // Compare-and-swap then get (two `kv` calls, so two replays): one claim for both.
    assert_eq!(ok_text(&client, &a.url("/claim/first")).await, "won");
    assert_eq!(
        ok_text(&client, &b.url("/claim/second")).await,
        "lost:first"
    );
    // `on-response` (a replayed response hook): the header comes from one shared counter.
    for n in 1..=4 {
        let gw = if n % 2 == 0 { &b } else { &a };
        let reply = client.get(&gw.url("/pass"), "", &[]).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(
            reply.header("x-responses"),
            Some(n.to_string().as_str()),
            "error: {:?}",
            reply.header("x-responses-error")
        );
        // The first run's header (set on the provisional answer) was undone before the replay.
        assert_eq!(reply.header("x-responses-error"), None);
    }
    assert_eq!(up.count(), 4);
    // `on-complete` (its own task) counts what both gateways answered: 6 + 2 + 4 before the
    // first of these reads; await it.
    let (_, completed) = client
        .get_until(&a.url("/completed"), AWAIT_WITHIN, |status, text| {
            status == 200 && text.parse::<u64>().is_ok_and(|n| n >= 12)
        })
        .await;
    assert!(completed.parse::<u64>().is_ok_and(|n| n >= 12));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_swap_in_redis_has_one_winner_across_gateways() {
    let redis = Store::redis().await;
    let yaml = config("http://127.0.0.1:9", &middleware(&redis.endpoint(), 0, ""));
    let (a, b) = (
        Gateway::start(&yaml, &plugins()),
        Gateway::start(&yaml, &plugins()),
    );
    let client = Client::http1();
    let mut tasks = Vec::new();
    for n in 0..16 {
        let url = if n % 2 == 0 { a.url("") } else { b.url("") };
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let (status, text) = answer(&client, &format!("{url}/claim/c{n}")).await;
            assert_eq!(status, 200, "{text}");
            (n, text)
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("claim task"));
    }
    let winners: Vec<_> = answers.iter().filter(|(_, t)| t == "won").collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    let owner = format!("lost:c{}", winners[0].0);
    assert!(
        answers.iter().all(|(_, t)| t == "won" || *t == owner),
        "every loser reads the winner: {answers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_created_with_a_ttl_expires_in_redis() {
    let redis = Store::redis().await;
    let yaml = config(
        "http://127.0.0.1:9",
        &middleware(&redis.endpoint(), 300, ""),
    );
    let gw = Gateway::start(&yaml, &plugins());
    let client = Client::http1();
    let url = gw.url("/window");
    assert_eq!(ok_text(&client, &url).await, "1");
    let (_, second) = answer(&client, &url).await;
    assert!(second == "2" || second == "1", "{second}");
    // The window's key expires in Redis (PEXPIRE on creation only): counting starts again.
    client
        .get_until(&url, AWAIT_WITHIN, |status, text| {
            status == 200 && text == "1"
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_answers_the_plugin_a_backend_error_and_redis_back_resumes() {
    let mut redis = Store::redis().await;
    let up = Upstream::start("app").await;
    let yaml = config(&up.url(), &middleware(&redis.endpoint(), 0, ""));
    let gw = Gateway::start(&yaml, &plugins());
    let client = Client::http1();
    let hit = gw.url("/hit");
    for n in 1..=3 {
        assert_eq!(ok_text(&client, &hit).await, n.to_string());
    }

    redis.stop();
    // The plugin gets `backend(reason)` and answers its own 500 with it.
    let (_, text) = client
        .get_until(&hit, AWAIT_WITHIN, |status, _| status == 500)
        .await;
    assert!(text.starts_with("kv: redis"), "{text}");
    for _ in 0..3 {
        let (status, text) = answer(&client, &hit).await;
        assert_eq!(
            (status, text.starts_with("kv: redis")),
            (500, true),
            "{text}"
        );
    }
    // A response hook gets the same error and the response still goes out.
    let reply = client.get(&gw.url("/pass"), "", &[]).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("x-responses-error")
            .is_some_and(|e| e.starts_with("kv: redis")),
        "{:?}",
        reply.header("x-responses-error")
    );

    // Redis back (same port, its data kept): the same process counts on from 3.
    redis.restart().await;
    let (_, text) = client
        .get_until(&hit, AWAIT_WITHIN, |status, _| status == 200)
        .await;
    assert_eq!(text, "4", "the failed increments never reached Redis");
    assert_eq!(ok_text(&client, &hit).await, "5");
}

#[test]
fn kv_redis_options_are_checked_at_their_line() {
    let cases: [(&str, &str); 3] = [
        ("            readTimeout: 0s\n", "must be above 0"),
        ("            denyOnError: true\n", "not for kv"),
        ("            sentinel: x\n", "unknown option"),
    ];
    for (extra, reason) in cases {
        let yaml = config(
            "http://127.0.0.1:9",
            &middleware("127.0.0.1:6379", 0, extra),
        );
        let key = extra.trim_start().split(':').next().unwrap_or_default();
        assert_refused_at_key(&yaml, &plugins(), key, reason);
    }
    // `kv` without the grant.
    let yaml = config(
        "http://127.0.0.1:9",
        &middleware("127.0.0.1:6379", 0, "").replace("capabilities: [kv]", "isolation: pooled"),
    );
    let (ok, _, stderr) = check_config(&yaml, &plugins());
    assert!(
        !ok && stderr.contains("without capabilities: [kv]"),
        "{stderr}"
    );
    let fine = middleware(
        "127.0.0.1:6379",
        0,
        "            db: 2\n            poolSize: 4\n            readTimeout: 500ms\n",
    );
    let (ok, stdout, stderr) = check_config(&config("http://127.0.0.1:9", &fine), &plugins());
    assert!(ok, "a full redis block loads: {stdout} {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_kv_redis_on_reload_is_refused_and_the_old_config_serves() {
    let redis = Store::redis().await;
    let yaml = config("http://127.0.0.1:9", &middleware(&redis.endpoint(), 0, ""));
    let gw = Gateway::start(&yaml, &plugins());
    let client = Client::http1();
    assert_eq!(ok_text(&client, &gw.url("/hit")).await, "1");
    let broken = config(
        "http://127.0.0.1:9",
        &middleware(&redis.endpoint(), 0, "            dialTimeout: 0s\n"),
    );
    std::fs::write(gw.config_path(), broken).expect("write config");
    assert!(gw.wait_for_log("reload rejected"), "{}", gw.log());
    assert!(gw.log().contains("dialTimeout"), "{}", gw.log());
    assert_eq!(ok_text(&client, &gw.url("/hit")).await, "2");
}
