//! The plugin through the SDK's native harness (counts on the test's thread; the harness plays
//! the host's release with `testing::release_in_flight`).

use plugin_sdk::testing::{self, TestRequest};

use super::*;

fn mw(config: &str) -> InFlightReq {
    testing::instance::<InFlightReq>(config).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn at_most_amount_per_host_by_default_and_released_requests_make_room() {
    let mw = mw(r#"{"amount": 2}"#);
    let req = |host: &str| TestRequest::get("/").authority(host);
    let mut first = req("a.example");
    let mut second = req("a.example");
    assert!(testing::on_request(&mw, &mut first).is_continue());
    assert!(testing::on_request(&mw, &mut second).is_continue());
    let refused = testing::on_request(&mw, &mut req("a.example"));
    let reply = refused.reply().expect("refused");
    assert_eq!(reply.status, 429);
    assert_eq!(reply.body, b"max connections reached: 2");
    // Another host has its own count.
    assert!(testing::on_request(&mw, &mut req("b.example")).is_continue());
    let done = plugin_sdk::completion::Outcome {
        status: Some(200),
        body_bytes: 0,
        duration_ns: 1,
        ending: plugin_sdk::completion::Ending::Complete,
    };
    assert!(mw.wants_on_complete());
    testing::complete(&mw, &mut first, done);
    assert!(first.in_flight.is_empty());
    assert!(testing::on_request(&mw, &mut req("a.example")).is_continue());
}

#[test]
fn a_request_header_selects_the_source() {
    let mw = mw(r#"{"amount": "1", "sourceCriterion": {"requestHeaderName": "X-User"}}"#);
    let req = |user: &str| TestRequest::get("/").header("x-user", user);
    assert!(testing::on_request(&mw, &mut req("ann")).is_continue());
    assert!(!testing::on_request(&mw, &mut req("ann")).is_continue());
    assert!(testing::on_request(&mw, &mut req("bob")).is_continue());
}

#[test]
fn amount_is_required_and_positive() {
    for (config, phrase) in [
        ("{}", "amount: required"),
        (r#"{"amount": 0}"#, "at least 1"),
        (r#"{"amount": 2, "burst": 1}"#, "unknown option \"burst\""),
        (
            r#"{"amount": 2, "sourceCriterion": {"requestHost": true, "ipStrategy": {}}}"#,
            "mutually exclusive",
        ),
    ] {
        let err = testing::validate_config::<InFlightReq>(config).unwrap_err();
        assert!(err.contains(phrase), "{config}: {err}");
    }
}
