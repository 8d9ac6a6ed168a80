use super::*;
use plugin_sdk::testing::{self, TestRequest, TestResponse};

fn run(config: &str, req: TestRequest, resp: TestResponse) -> (TestResponse, Option<Encoding>) {
    let mw = testing::instance::<Compress>(config).unwrap_or_else(|e| panic!("{e}"));
    let (mut req, mut resp) = (req, resp);
    assert!(testing::on_response(&mw, &mut req, &mut resp).is_continue());
    let chosen = resp.compress_with;
    (resp, chosen)
}

fn html(len: usize) -> TestResponse {
    TestResponse::new(200)
        .header("content-type", "text/html; charset=utf-8")
        .header("content-length", len.to_string())
}

#[test]
fn the_negotiated_encoding_is_asked_of_the_host_with_vary() {
    let req = TestRequest::get("/").header("accept-encoding", "gzip;q=0.5, br");
    let (resp, chosen) = run("{}", req, html(4096));
    assert_eq!(chosen, Some(Encoding::Brotli));
    assert_eq!(resp.header_str("vary").as_deref(), Some("Accept-Encoding"));
}

#[test]
fn small_excluded_encoded_and_range_responses_are_left_alone() {
    let gzip = || TestRequest::get("/").header("accept-encoding", "gzip");
    assert_eq!(run("{}", gzip(), html(100)).1, None, "under 1024 bytes");
    let sse = TestResponse::new(200).header("content-type", "text/event-stream");
    assert_eq!(run("{}", gzip(), sse).1, None, "excluded by default");
    let png = TestResponse::new(200)
        .header("content-type", "image/png")
        .header("content-length", "4096");
    let only_text = r#"{"includedContentTypes": ["text/html"]}"#;
    assert_eq!(run(only_text, gzip(), png).1, None, "not included");
    let encoded = html(4096).header("content-encoding", "br");
    assert_eq!(run("{}", gzip(), encoded).1, None, "already encoded");
    let range = gzip().header("range", "bytes=0-10");
    assert_eq!(run("{}", range, html(4096)).1, None, "a Range request");
}

#[test]
fn default_encoding_applies_without_accept_encoding() {
    let config = r#"{"encodings": ["gzip", "zstd"], "defaultEncoding": "gzip"}"#;
    let (resp, chosen) = run(config, TestRequest::get("/"), html(4096));
    assert_eq!(chosen, Some(Encoding::Gzip));
    assert!(resp.header_str("vary").is_some());
    assert_eq!(run("{}", TestRequest::get("/"), html(4096)).1, None);
}

#[test]
fn bad_options_are_config_errors() {
    for bad in [
        r#"{"encodings": ["deflate"]}"#,
        r#"{"excludedContentTypes": ["a/b"], "includedContentTypes": ["c/d"]}"#,
        r#"{"encodings": ["gzip"], "defaultEncoding": "br"}"#,
        r#"{"minResponseBodyBytes": "lots"}"#,
        r#"{"colour": 1}"#,
    ] {
        assert!(testing::instance::<Compress>(bad).is_err(), "{bad}");
    }
}
