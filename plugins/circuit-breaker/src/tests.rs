use plugin_sdk::completion::{Ending, Outcome};
use plugin_sdk::testing::{self, TestRequest};

use super::expression::{CompareOp, Metric, parse};
use super::state::{Phase, State, Ticket};
use super::window::Plan;
use super::*;

fn eval(text: &str, ne: f64, rc: f64, lat: f64) -> bool {
    parse(text).unwrap().holds(&mut |m, op, v| {
        let measured = match m {
            Metric::NetworkErrorRatio => ne,
            Metric::ResponseCodeRatio { .. } => rc,
            Metric::LatencyAtQuantileMs(_) => lat,
        };
        op.holds(measured, v)
    })
}

#[test]
fn traefiks_documented_expressions_parse_and_evaluate() {
    assert!(eval("NetworkErrorRatio() > 0.5", 0.6, 0.0, 0.0));
    assert!(!eval("NetworkErrorRatio() > 0.5", 0.5, 0.0, 0.0));
    assert!(eval(
        "ResponseCodeRatio(500, 600, 0, 600) > 0.25",
        0.0,
        0.3,
        0.0
    ));
    assert!(eval("LatencyAtQuantileMS(50.0) > 100", 0.0, 0.0, 101.0));
    let both = "ResponseCodeRatio(500, 600, 0, 600) > 0.30 || NetworkErrorRatio() > 0.10";
    assert!(eval(both, 0.2, 0.0, 0.0));
    assert!(!eval(both, 0.05, 0.1, 0.0));
    // `&&` binds tighter than `||`; parentheses group.
    let loose = "NetworkErrorRatio() > 0.1 || LatencyAtQuantileMS(99) > 5 && \
                 ResponseCodeRatio(500,600,0,600) > 0.5";
    assert!(eval(loose, 0.2, 0.0, 0.0));
    let grouped = "(NetworkErrorRatio() > 0.1 || LatencyAtQuantileMS(99) > 5) && \
                   ResponseCodeRatio(500,600,0,600) > 0.5";
    assert!(!eval(grouped, 0.2, 0.0, 0.0));
}

#[test]
fn expression_mistakes_are_named() {
    let err = |t: &str| parse(t).unwrap_err();
    assert!(err("").contains("empty"));
    assert!(err("NetworkErrorRate() > 0.5").contains("unknown function NetworkErrorRate"));
    assert!(err("NetworkErrorRatio() > ").contains("a number"));
    assert!(err("NetworkErrorRatio()").contains("comparison"));
    assert!(err("ResponseCodeRatio(500, 600) > 0.5").contains("\",\""));
    assert!(err("NetworkErrorRatio() > 0.5 &&").contains("found the end"));
    assert!(err("NetworkErrorRatio() > 0.5 )").contains("unexpected"));
    assert!(err("LatencyAtQuantileMS(150) > 1").contains("outside"));
    assert!(err("NetworkErrorRatio() > 0.5 # x").contains("unexpected character"));
}

/// Sums for a plan from a list of (status, latency ms) outcomes.
fn sums(plan: &Plan, outcomes: &[(u16, u64)]) -> Vec<i64> {
    let mut sums = vec![0; plan.counters()];
    for (status, ms) in outcomes {
        for i in plan.counted(*status, *ms) {
            sums[i] += 1;
        }
    }
    sums
}

#[test]
fn ratios_come_from_the_counted_quantities() {
    let plan = Plan::new(parse("NetworkErrorRatio() > 0.25").unwrap());
    assert!(!plan.holds(&sums(&plan, &[(502, 1), (200, 1), (200, 1), (500, 1)])));
    assert!(plan.holds(&sums(&plan, &[(502, 1), (504, 1), (200, 1), (500, 1)])));
    assert!(!plan.holds(&sums(&plan, &[])), "no request: ratio 0");
    let plan = Plan::new(parse("ResponseCodeRatio(500, 600, 0, 600) >= 0.5").unwrap());
    assert!(plan.holds(&sums(&plan, &[(500, 1), (200, 1)])));
    assert!(!plan.holds(&sums(&plan, &[(404, 1), (200, 1)])));
}

#[test]
fn latency_quantiles_are_decided_exactly_by_two_thresholds() {
    // Nine requests at 5 ms and one at 400 ms: p50 = 5, p95 = 400.
    let mut outcomes = vec![(200, 5); 9];
    outcomes.push((200, 400));
    let holds = |text: &str| {
        let plan = Plan::new(parse(text).unwrap());
        plan.holds(&sums(&plan, &outcomes))
    };
    assert!(holds("LatencyAtQuantileMS(50) == 5"));
    assert!(holds("LatencyAtQuantileMS(50) >= 5"));
    assert!(holds("LatencyAtQuantileMS(50) <= 5"));
    assert!(!holds("LatencyAtQuantileMS(50) > 5"));
    assert!(!holds("LatencyAtQuantileMS(50) < 5"));
    assert!(holds("LatencyAtQuantileMS(50) > 4.5"));
    assert!(holds("LatencyAtQuantileMS(50) != 5.5"));
    assert!(holds("LatencyAtQuantileMS(95) > 399"));
    assert!(holds("LatencyAtQuantileMS(95) == 400"));
    assert!(!holds("LatencyAtQuantileMS(95) > 400"));
    assert!(holds("LatencyAtQuantileMS(90) < 6"));
    // No request: the latency reads 0.
    let plan = Plan::new(parse("LatencyAtQuantileMS(50) > 0").unwrap());
    assert!(!plan.holds(&sums(&plan, &[])));
}

#[test]
fn records_round_trip_and_garbage_reads_as_standby() {
    let state = State {
        phase: Phase::Recovering,
        generation: 7,
        until: 1,
        recovery_start: u64::MAX,
        next_check: 42,
    };
    assert_eq!(State::decode(Some(&state.encode())), state);
    assert_eq!(State::decode(Some(b"junk")), State::default());
    let ticket = Ticket {
        generation: 3,
        next_check: 9,
        prefix: "router@file".into(),
    };
    assert_eq!(Ticket::decode(&ticket.encode()), Some(ticket));
    assert_eq!(Ticket::decode(b"short"), None);
}

#[test]
fn config_errors_name_the_option() {
    let err = |config: &str| testing::validate_config::<CircuitBreaker>(config).unwrap_err();
    assert!(err("{}").starts_with("expression: required"));
    assert!(
        err(r#"{"expression": "NetworkErrorRatio() > 0.5 &&"}"#)
            .starts_with("expression: expected")
    );
    let bad_code = r#"{"expression": "NetworkErrorRatio() > 0.5", "responseCode": 42}"#;
    assert!(err(bad_code).starts_with("responseCode: must be a status"));
    let bad_period = r#"{"expression": "NetworkErrorRatio() > 0.5", "checkPeriod": "10 parsecs"}"#;
    assert!(err(bad_period).starts_with("checkPeriod: "));
    assert!(
        err(r#"{"expression": "NetworkErrorRatio() > 0.5", "colour": 1}"#)
            .starts_with("unknown option \"colour\"")
    );
    let ok = r#"{"expression": "NetworkErrorRatio() > 0.5", "checkPeriod": "10ms",
                 "fallbackDuration": 2, "recoveryDuration": "0", "responseCode": "429"}"#;
    let cb = testing::instance::<CircuitBreaker>(ok).unwrap();
    assert_eq!(cb.check_period_ns, 10_000_000);
    assert_eq!(cb.fallback_ns, 2_000_000_000);
    assert_eq!(cb.recovery_ns, DEFAULT_RECOVERY_NS);
    assert_eq!(cb.response_code, 429);
}

fn outcome(status: u16) -> Outcome {
    Outcome {
        status: Some(status),
        body_bytes: 0,
        duration_ns: 1_000_000,
        ending: if status == 502 {
            Ending::UpstreamFailed
        } else {
            Ending::Complete
        },
    }
}

/// One request through the breaker: its status (the breaker's refusal, or `upstream`'s).
fn request(cb: &CircuitBreaker, router: &str, upstream: u16) -> u16 {
    let mut req = TestRequest::get("/").router_name(router);
    let status = match testing::on_request(cb, &mut req) {
        Action::Continue => upstream,
        Action::Respond(reply) => {
            assert_eq!(reply.body, b"Service Unavailable");
            return reply.status;
        }
    };
    testing::complete(cb, &mut req, outcome(status));
    status
}

#[test]
fn network_errors_trip_it_then_it_recovers_gradually_and_stands_by() {
    testing::clear_kv();
    let config = r#"{"expression": "NetworkErrorRatio() > 0.5", "checkPeriod": "1ns",
                     "fallbackDuration": "1ns", "recoveryDuration": "50ms"}"#;
    let cb = testing::instance::<CircuitBreaker>(config).unwrap();
    assert_eq!(request(&cb, "r", 200), 200);
    assert_eq!(request(&cb, "r", 502), 502);
    assert_eq!(request(&cb, "r", 502), 502);
    // Tripped; its fallback over, it recovers, refusing the first request (target share 0).
    assert_eq!(request(&cb, "r", 200), 503);
    // Another router's breaker is its own.
    assert_eq!(request(&cb, "other", 200), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut passed = 0;
    loop {
        let state = State::decode(kv::get("r|s").unwrap().as_deref());
        if state.phase == Phase::Standby {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never stood by: {state:?}"
        );
        if request(&cb, "r", 200) == 200 {
            passed += 1;
        }
    }
    assert!(passed > 0, "some requests passed while recovering");
    assert_eq!(request(&cb, "r", 200), 200);
}

#[test]
fn a_long_router_name_still_makes_valid_keys() {
    let long = "r".repeat(1000);
    let prefix = prefix_of(&long);
    assert!(prefix.len() < 40);
    assert_ne!(prefix, prefix_of(&"s".repeat(1000)));
    assert!(counter_key(&prefix_of(&"x".repeat(160)), u32::MAX, u64::MAX, 99).len() <= 256);
    let _ = CompareOp::Gt;
}
