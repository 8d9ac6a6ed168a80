//! The plugin through the SDK's native harness (buckets on the test's thread).

use plugin_sdk::testing::{self, TestRequest};

use super::*;

fn mw(config: &str) -> RateLimit {
    testing::instance::<RateLimit>(config).unwrap_or_else(|e| panic!("{e}"))
}

fn admitted(mw: &RateLimit, n: usize, req: impl Fn() -> TestRequest) -> usize {
    (0..n)
        .filter(|_| testing::on_request(mw, &mut req()).is_continue())
        .count()
}

#[test]
fn a_source_gets_its_burst_then_429_with_retry_headers() {
    let mw = mw(r#"{"average": 1, "period": "1m", "burst": 3}"#);
    let req = || TestRequest::get("/").client_addr("10.0.0.1:5000");
    assert_eq!(admitted(&mw, 3, req), 3);
    let action = testing::on_request(&mw, &mut req());
    let reply = action.reply().expect("refused");
    assert_eq!(reply.status, 429);
    let retry_after: u64 = std::str::from_utf8(reply.get_header("retry-after").unwrap())
        .unwrap()
        .parse()
        .unwrap();
    assert!((59..=60).contains(&retry_after), "{retry_after}");
    assert!(reply.get_header("x-retry-in").is_some());
    // Another peer has its own bucket; the port does not matter.
    assert_eq!(
        admitted(&mw, 3, || TestRequest::get("/").client_addr("10.0.0.2:1")),
        3
    );
    assert_eq!(
        admitted(&mw, 1, || TestRequest::get("/").client_addr("10.0.0.1:9")),
        0
    );
}

#[test]
fn defaults_are_traefiks_average_zero_is_no_limit_and_burst_at_least_one() {
    let unlimited = mw("{}");
    assert_eq!(unlimited.config.rate, 0.0);
    assert_eq!(admitted(&unlimited, 1000, || TestRequest::get("/")), 1000);
    let one = mw(r#"{"average": "10", "period": 60, "burst": 0}"#);
    assert_eq!(one.config.burst, 1);
    assert!((one.config.rate - 10.0 / 60.0).abs() < 1e-9);
    assert_eq!(admitted(&one, 5, || TestRequest::get("/")), 1);
}

#[test]
fn request_header_name_and_request_host_select_the_source() {
    let by_key = mw(
        r#"{"average": 1, "period": "1h", "burst": 2, "sourceCriterion": {"requestHeaderName": "X-Api-Key"}}"#,
    );
    let with = |key: &'static str| move || TestRequest::get("/").header("x-api-key", key);
    assert_eq!(admitted(&by_key, 5, with("a")), 2);
    assert_eq!(admitted(&by_key, 5, with("b")), 2);
    let by_host = mw(
        r#"{"average": 1, "period": "1h", "burst": 1, "sourceCriterion": {"requestHost": true}}"#,
    );
    let host = |h: &'static str| move || TestRequest::get("/").authority(h);
    assert_eq!(admitted(&by_host, 3, host("a.example")), 1);
    assert_eq!(admitted(&by_host, 3, host("b.example")), 1);
}

#[test]
fn ip_strategy_depth_reads_x_forwarded_for() {
    let mw = mw(
        r#"{"average": 1, "period": "1h", "burst": 1, "sourceCriterion": {"ipStrategy": {"depth": 2}}}"#,
    );
    let xff = |v: &'static str| {
        move || {
            TestRequest::get("/")
                .client_addr("10.9.9.9:1")
                .header("x-forwarded-for", v)
        }
    };
    assert_eq!(admitted(&mw, 2, xff("1.1.1.1, 10.9.9.9")), 1);
    assert_eq!(admitted(&mw, 2, xff("2.2.2.2, 10.9.9.9")), 1);
}

#[test]
fn bad_configs_are_refused_by_name() {
    for (config, phrase) in [
        (r#"{"averge": 1}"#, "unknown option \"averge\""),
        (r#"{"average": -1}"#, "average"),
        (r#"{"period": "-1s"}"#, "negative"),
        (r#"{"period": "1 parsec"}"#, "period"),
        // Refused numbers are quoted with core's float formatting (`json_text::number`).
        (
            r#"{"average": 2.5}"#,
            "average: must be a whole number, got 2.5",
        ),
        (
            r#"{"burst": 1e300}"#,
            "burst: must be a whole number, got 1e300",
        ),
        (
            r#"{"period": -0.5}"#,
            "period: negative value not valid: -0.5",
        ),
        (
            r#"{"sourceCriterion": {"requestHost": true, "requestHeaderName": "X"}}"#,
            "mutually exclusive",
        ),
    ] {
        let err = testing::validate_config::<RateLimit>(config).unwrap_err();
        assert!(err.contains(phrase), "{config}: {err}");
    }
}

#[test]
fn go_durations_read_and_written_as_go_does() {
    assert_eq!(go_duration::parse("1m30s"), Ok(90_000_000_000));
    assert_eq!(go_duration::parse("1.5h"), Ok(5_400_000_000_000));
    assert_eq!(go_duration::parse("250ms"), Ok(250_000_000));
    assert_eq!(go_duration::format(9_999_000), "9.999ms");
    assert_eq!(go_duration::format(1_500_000_000), "1.5s");
    assert_eq!(go_duration::format(60_500_000_000), "1m0.5s");
    assert_eq!(go_duration::format(999), "999ns");
    assert_eq!(go_duration::format(1_500), "1.5µs");
}

#[test]
fn the_take_is_declared_for_the_sources_the_gateway_keys_and_not_without_a_limit() {
    use plugin_sdk::pre_take::KeySource;
    let declared = |config: &str| mw(config).pre_take().map(|t| t.source);
    assert_eq!(
        declared(r#"{"average": 5}"#),
        Some(KeySource::ClientIp { ipv6_subnet: None })
    );
    assert_eq!(
        declared(r#"{"average": 5, "sourceCriterion": {"ipStrategy": {"ipv6Subnet": 64}}}"#),
        Some(KeySource::ClientIp {
            ipv6_subnet: Some(64)
        })
    );
    assert_eq!(
        declared(r#"{"average": 5, "sourceCriterion": {"requestHeaderName": "X-Api-Key"}}"#),
        Some(KeySource::RequestHeader("X-Api-Key".into()))
    );
    assert_eq!(
        declared(r#"{"average": 5, "sourceCriterion": {"requestHost": true}}"#),
        Some(KeySource::RequestHost)
    );
    // The X-Forwarded-For strategies are keyed by the hook only.
    assert_eq!(
        declared(r#"{"average": 5, "sourceCriterion": {"ipStrategy": {"depth": 1}}}"#),
        None
    );
    assert_eq!(
        declared(
            r#"{"average": 5, "sourceCriterion": {"ipStrategy": {"excludedIPs": ["10.0.0.0/8"]}}}"#
        ),
        None
    );
    let take = mw(r#"{"average": 100, "period": "1s", "burst": 50}"#)
        .pre_take()
        .expect("declared");
    assert_eq!(
        (take.cost, take.rate_per_second, take.burst),
        (1, 100.0, 50)
    );
    // No limit: no take, no request hook.
    let unlimited = mw("{}");
    assert_eq!(unlimited.pre_take(), None);
    assert!(!unlimited.wants_request_hook());
}
