//! The plugin through the SDK's native harness.

use plugin_sdk::retry::{AttemptFailure, FailedAttempt, RetryMode};
use plugin_sdk::testing;

use super::*;

fn retry(config: &str) -> Retry {
    testing::instance::<Retry>(config).unwrap_or_else(|e| panic!("{e}"))
}

fn failed(attempt: u32, method: &str) -> FailedAttempt {
    FailedAttempt {
        attempt,
        failure: AttemptFailure::Unreachable,
        method: method.to_string(),
    }
}

#[test]
fn idempotent_requests_are_retried_until_the_attempts_run_out() {
    let r = retry(r#"{"attempts": 3}"#);
    assert_eq!(r.retry_mode(), RetryMode::PolicyOnly);
    assert_eq!(
        r.retry_after(&failed(1, "GET")),
        Some(0),
        "at once by default"
    );
    assert_eq!(r.retry_after(&failed(2, "DELETE")), Some(0));
    assert_eq!(r.retry_after(&failed(3, "GET")), None, "three tries in all");
    assert_eq!(r.retry_after(&failed(1, "POST")), None, "not idempotent");
    assert_eq!(
        retry(r#"{"attempts": 1}"#).retry_after(&failed(1, "GET")),
        None
    );
}

#[test]
fn the_backoff_grows_from_the_initial_interval_to_about_twice_it() {
    let r = retry(r#"{"attempts": 5, "initialInterval": "100ms"}"#);
    let ms = |retry| r.interval_ns(retry) / 1e6;
    assert!((ms(1) - 100.0).abs() < 1e-6);
    assert!(ms(2) > ms(1) && ms(3) > ms(2));
    assert!((ms(5) - 200.0).abs() < 1e-6, "{}", ms(5));
    // Randomized by at most ±50%.
    for attempt in 1..5 {
        let wait = r.retry_after(&failed(attempt, "GET")).unwrap_or(u64::MAX) as f64;
        let base = r.interval_ns(attempt);
        assert!(
            wait >= base * 0.5 && wait <= base * 1.5,
            "{attempt}: {wait}"
        );
    }
    // A number is seconds, as Traefik reads it.
    assert_eq!(
        retry(r#"{"attempts": 2, "initialInterval": 0.5}"#).interval_ns(1),
        5e8
    );
}

#[test]
fn bad_options_are_refused_by_name() {
    for (config, reason) in [
        (r#"{}"#, "attempts: required"),
        (r#"{"attempts": 0}"#, "attempts: must be at least 1"),
        (
            r#"{"attempts": "many"}"#,
            "attempts: must be a whole number",
        ),
        (
            r#"{"attempts": 2, "initialInterval": "soon"}"#,
            "initialInterval",
        ),
        (
            r#"{"attempts": 2, "initialInterval": -1}"#,
            "initialInterval",
        ),
        // The refused value is quoted as JSON-like text, floats by core's formatting.
        (
            r#"{"attempts": 2.5}"#,
            "attempts: must be a whole number, got 2.5",
        ),
        (r#"{"attempts": [1, "x"]}"#, r#"got [1,"x"]"#),
        (
            r#"{"attempts": 2, "initialInterval": -0.25}"#,
            "initialInterval: negative value not valid: -0.25",
        ),
        ("[1e300]", "config must be a map, got [1e300]"),
        (r#"{"attempts": 2, "bogus": 1}"#, "unknown option \"bogus\""),
    ] {
        let err = testing::validate_config::<Retry>(config).expect_err(config);
        assert!(err.contains(reason), "{config}: {err}");
    }
}
