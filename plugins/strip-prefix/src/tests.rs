use super::*;
use plugin_sdk::testing::{self, TestRequest};

fn run(config: &str, target: &str) -> TestRequest {
    testing::continued_get::<StripPrefix>(config, target)
}

#[test]
fn the_first_matching_prefix_is_stripped_and_forwarded() {
    let req = run(
        r#"{"prefixes": ["/foobar", "/fiibar"]}"#,
        "/foobar/users?x=1",
    );
    assert_eq!(req.path, "/users");
    assert_eq!(req.query.as_deref(), Some("x=1"));
    assert_eq!(
        req.header_str("x-forwarded-prefix").as_deref(),
        Some("/foobar")
    );

    let req = run(r#"{"prefixes": ["/foo", "/foobar"]}"#, "/foobar/x");
    assert_eq!(req.path, "/bar/x", "order decides, not length");
    assert_eq!(
        req.header_str("x-forwarded-prefix").as_deref(),
        Some("/foo")
    );
}

#[test]
fn a_path_without_the_prefix_is_untouched() {
    let req = run(r#"{"prefixes": ["/api"]}"#, "/other/api");
    assert_eq!(req, TestRequest::get("/other/api"));
}

#[test]
fn v3_semantics_without_force_slash() {
    let config = r#"{"prefixes": ["/api"]}"#;
    assert_eq!(run(config, "/apiv2").path, "/v2");
    assert_eq!(run(config, "/api/").path, "/");
    assert_eq!(run(config, "/api").path, "/");
    assert_eq!(run(config, "/api//x").path, "//x");
    let with_slash = r#"{"prefixes": ["/api/"]}"#;
    assert_eq!(run(with_slash, "/api/x").path, "/x");
}

#[test]
fn deprecated_force_slash_is_accepted() {
    let config = r#"{"prefixes": ["/api"], "forceSlash": true}"#;
    assert_eq!(run(config, "/api").path, "/");
    assert_eq!(run(config, "/api/x").path, "/x");
    let config = r#"{"prefixes": ["/api"], "forceSlash": "false"}"#;
    assert_eq!(run(config, "/api/x").path, "/x");
}

#[test]
fn prefixes_match_the_decoded_path_and_the_rest_keeps_its_encoding() {
    let req = run(r#"{"prefixes": ["/café"]}"#, "/caf%C3%A9/a%2Fb");
    assert_eq!(req.path, "/a%2Fb");
    assert_eq!(
        req.header_str("x-forwarded-prefix").as_deref(),
        Some("/café")
    );
    let req = run(r#"{"prefixes": ["/my app"]}"#, "/my%20app/x");
    assert_eq!(req.path, "/x");
}

#[test]
fn stripping_twice_appends_x_forwarded_prefix() {
    let first = testing::instance::<StripPrefix>(r#"{"prefixes": ["/a"]}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let second = testing::instance::<StripPrefix>(r#"{"prefixes": ["/b"]}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut req = TestRequest::get("/a/b/c");
    assert!(testing::on_request(&first, &mut req).is_continue());
    assert!(testing::on_request(&second, &mut req).is_continue());
    assert_eq!(req.path, "/c");
    assert_eq!(
        req.header_all("x-forwarded-prefix"),
        vec![b"/a".to_vec(), b"/b".to_vec()]
    );
}

#[test]
fn the_header_carries_the_prefix_trimmed() {
    let req = run(r#"{"prefixes": ["/api"]}"#, "/api/x");
    assert_eq!(
        req.header_str("x-forwarded-prefix").as_deref(),
        Some("/api")
    );
    let config = StripPrefixConfig::parse(r#"{"prefixes": [" /api "]}"#);
    assert_eq!(
        config.map(|c| c.prefixes[0].header.clone()),
        Ok("/api".to_string())
    );
}

#[test]
fn an_empty_config_strips_nothing() {
    for config in ["{}", "null", r#"{"prefixes": null}"#, r#"{"prefixes": []}"#] {
        assert_eq!(
            run(config, "/api/x"),
            TestRequest::get("/api/x"),
            "{config}"
        );
    }
}

#[test]
fn mistyped_options_are_config_errors_naming_them() {
    assert_eq!(
        testing::validate_config::<StripPrefix>(r#"{"prefix": "/api"}"#),
        Err(r#"unknown option "prefix" (known: "prefixes", "forceSlash")"#.to_string())
    );
    assert_eq!(
        testing::validate_config::<StripPrefix>(r#"{"prefixes": "/api"}"#),
        Err(r#"prefixes: expected a list, got the text "/api" (write it as ["/api"])"#.to_string())
    );
    assert_eq!(
        testing::validate_config::<StripPrefix>(r#"{"prefixes": ["/a"], "forceSlash": "maybe"}"#),
        Err(r#"forceSlash: expected true or false, got "maybe""#.to_string())
    );
    assert_eq!(
        testing::validate_config::<StripPrefix>(r#"{"prefixes": ["/a\u0001"]}"#),
        Err(r#"prefixes[0]: "/a\u{1}" cannot be sent in X-Forwarded-Prefix"#.to_string())
    );
}

#[test]
fn numbers_in_the_prefix_list_are_text() {
    let config = StripPrefixConfig::parse(r#"{"prefixes": [2024, true]}"#);
    let texts = config.map(|c| c.prefixes.into_iter().map(|p| p.text).collect::<Vec<_>>());
    assert_eq!(texts, Ok(vec!["2024".to_string(), "true".to_string()]));
}
