//! The plugin through the SDK's native harness.

use plugin_sdk::grpc_web::Mode;
use plugin_sdk::testing::{self, TestRequest, TestResponse};

use super::*;

fn web(config: &str) -> GrpcWeb {
    testing::instance::<GrpcWeb>(config).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_binary_call_is_translated_and_its_answer_retyped_with_cors_for_an_allowed_origin() {
    let mw = web(r#"{"allowOrigins": ["https://app.example"]}"#);
    let mut req = TestRequest::new("POST", "/echo.Echo/Say")
        .header("content-type", "application/grpc-web+proto")
        .header("origin", "https://app.example");
    assert!(testing::on_request(&mw, &mut req).is_continue());
    assert_eq!(req.grpc_web, Some(Mode::Binary));
    assert_eq!(
        req.header_str("content-type").as_deref(),
        Some("application/grpc+proto")
    );
    let mut resp = TestResponse::new(200)
        .header("content-type", "application/grpc+proto")
        .header("content-length", "12");
    assert!(testing::on_response(&mw, &mut req, &mut resp).is_continue());
    assert_eq!(
        resp.header_str("content-type").as_deref(),
        Some("application/grpc-web+proto")
    );
    assert_eq!(
        resp.header_str("access-control-allow-origin").as_deref(),
        Some("https://app.example")
    );
    let exposed = resp.header_str("access-control-expose-headers").unwrap();
    assert_eq!(exposed, "content-type, grpc-status, grpc-message");
}

#[test]
fn a_text_call_from_another_origin_is_translated_without_cors() {
    let mw = web(r#"{"allowOrigins": ["https://app.example"]}"#);
    let mut req = TestRequest::new("POST", "/s/M")
        .header("content-type", "application/grpc-web-text")
        .header("origin", "https://elsewhere.example");
    assert!(testing::on_request(&mw, &mut req).is_continue());
    assert_eq!(req.grpc_web, Some(Mode::Text));
    assert_eq!(
        req.header_str("content-type").as_deref(),
        Some("application/grpc")
    );
    let mut resp = TestResponse::new(200).header("content-type", "application/grpc+proto");
    testing::on_response(&mw, &mut req, &mut resp);
    assert_eq!(
        resp.header_str("content-type").as_deref(),
        Some("application/grpc-web-text+proto")
    );
    assert_eq!(resp.header_str("access-control-allow-origin"), None);
}

#[test]
fn a_preflight_is_answered_with_cors_for_allowed_origins_only() {
    let mw = web(r#"{"allowOrigins": ["*"]}"#);
    let mut req = TestRequest::new("OPTIONS", "/s/M")
        .header("origin", "https://any.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-grpc-web");
    let action = testing::on_request(&mw, &mut req);
    let reply = action.reply().expect("answered");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.get_header("access-control-allow-origin"),
        Some(&b"https://any.example"[..])
    );
    let mw = web(r#"{"allowOrigins": ["https://app.example"]}"#);
    let action = testing::on_request(&mw, &mut req);
    let reply = action.reply().expect("answered");
    assert_eq!(reply.get_header("access-control-allow-origin"), None);
}

#[test]
fn other_requests_pass_untouched() {
    let mw = web("{}");
    let mut req = TestRequest::new("POST", "/").header("content-type", "application/json");
    assert!(testing::on_request(&mw, &mut req).is_continue());
    assert_eq!(req.grpc_web, None);
    assert_eq!(req.state, None);
}

#[test]
fn an_unknown_option_is_refused() {
    let e = testing::validate_config::<GrpcWeb>(r#"{"allowOrigin": ["*"]}"#).unwrap_err();
    assert!(e.contains("allowOrigin"), "{e}");
}
