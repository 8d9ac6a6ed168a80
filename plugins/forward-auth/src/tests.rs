use plugin_sdk::outbound::{Destination, SubrequestFailure, Subresponse};
use plugin_sdk::testing::{self, TestRequest, TestResponse};

use super::ForwardAuth;

fn auth(config: &str) -> ForwardAuth {
    testing::instance::<ForwardAuth>(config).expect("config accepted")
}

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Subresponse {
    Subresponse {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect(),
        body: body.as_bytes().to_vec(),
        body_truncated: false,
    }
}

fn sent_header(req: &TestRequest, name: &str) -> Option<String> {
    let sub = req.subrequest.as_ref().expect("a subrequest was recorded");
    sub.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

#[test]
fn asks_the_address_with_get_and_the_forwarded_headers() {
    let mw = auth(r#"{"address": "http://auth.test:9000/verify"}"#);
    let mut req = TestRequest::get("/app/x?y=1")
        .method("POST")
        .authority("site.test")
        .header("authorization", "Bearer t")
        .header("x-forwarded-method", "PUT");
    assert!(testing::on_request(&mw, &mut req).is_continue());
    let sub = req.subrequest.as_ref().unwrap();
    assert_eq!(sub.method, "GET");
    assert_eq!(
        sub.destination,
        Destination::Url("http://auth.test:9000/verify".into())
    );
    assert_eq!(
        sent_header(&req, "authorization").as_deref(),
        Some("Bearer t")
    );
    assert_eq!(
        sent_header(&req, "x-forwarded-method").as_deref(),
        Some("POST")
    );
    assert_eq!(
        sent_header(&req, "x-forwarded-uri").as_deref(),
        Some("/app/x?y=1")
    );
    assert_eq!(
        sent_header(&req, "x-forwarded-host").as_deref(),
        Some("site.test")
    );
    assert_eq!(
        sent_header(&req, "x-forwarded-proto").as_deref(),
        Some("http")
    );
}

#[test]
fn trust_forward_header_sends_the_requests_own_values() {
    let mw = auth(r#"{"address": "http://a.test", "trustForwardHeader": true}"#);
    let mut req = TestRequest::get("/real").header("x-forwarded-uri", "/claimed");
    assert!(testing::on_request(&mw, &mut req).is_continue());
    assert_eq!(
        sent_header(&req, "x-forwarded-uri").as_deref(),
        Some("/claimed")
    );
}

#[test]
fn auth_request_headers_limits_what_is_sent() {
    let mw = auth(r#"{"address": "http://a.test", "authRequestHeaders": ["Cookie"]}"#);
    let mut req = TestRequest::get("/")
        .header("cookie", "s=1")
        .header("authorization", "secret");
    assert!(testing::on_request(&mw, &mut req).is_continue());
    assert_eq!(sent_header(&req, "cookie").as_deref(), Some("s=1"));
    assert_eq!(sent_header(&req, "authorization"), None);
    assert!(sent_header(&req, "x-forwarded-for").is_some());
}

#[test]
fn a_2xx_answer_copies_the_auth_response_headers_over_the_requests() {
    let mw = auth(
        r#"{"address": "http://a.test", "authResponseHeaders": ["X-Auth-User"], "authResponseHeadersRegex": "^X-Group-"}"#,
    );
    let mut req = TestRequest::get("/")
        .header("x-auth-user", "forged")
        .header("x-group-admin", "forged");
    assert!(testing::on_request(&mw, &mut req).is_continue());
    let ok = answer(200, &[("x-auth-user", "alice"), ("x-group-dev", "1")], "");
    assert!(testing::on_request_subresponse(&mw, &mut req, Ok(ok)).is_continue());
    assert_eq!(req.header_str("x-auth-user").as_deref(), Some("alice"));
    assert_eq!(req.header_str("x-group-admin"), None);
    assert_eq!(req.header_str("x-group-dev").as_deref(), Some("1"));
}

#[test]
fn header_field_names_the_user_from_the_answer_whatever_its_status() {
    let mw = auth(r#"{"address": "http://a.test", "headerField": "X-Auth-User"}"#);
    for status in [200, 401] {
        let mut req = TestRequest::get("/");
        assert!(testing::on_request(&mw, &mut req).is_continue());
        let ok = answer(
            status,
            &[("x-auth-user", "alice"), ("x-auth-user", "b")],
            "",
        );
        testing::on_request_subresponse(&mw, &mut req, Ok(ok));
        assert_eq!(req.user.as_deref(), Some("alice"), "{status}");
        // Not forwarded upstream unless listed in `authResponseHeaders` (as in Traefik).
        assert_eq!(req.header_str("x-auth-user"), None);
    }
    let mut req = TestRequest::get("/");
    testing::on_request(&mw, &mut req);
    testing::on_request_subresponse(&mw, &mut req, Ok(answer(200, &[], "")));
    assert_eq!(req.user, None, "no header, no user");
}

#[test]
fn a_refusal_is_returned_as_sent_with_an_absolute_location() {
    let mw = auth(r#"{"address": "http://a.test/verify"}"#);
    let mut req = TestRequest::get("/");
    assert!(testing::on_request(&mw, &mut req).is_continue());
    let found = answer(
        302,
        &[("location", "/login"), ("x-why", "no session")],
        "go",
    );
    let action = testing::on_request_subresponse(&mw, &mut req, Ok(found));
    let reply = action.reply().expect("a reply");
    assert_eq!(reply.status, 302);
    assert_eq!(
        reply.get_header("location"),
        Some(&b"http://a.test/login"[..])
    );
    assert_eq!(reply.get_header("x-why"), Some(&b"no session"[..]));
    assert_eq!(reply.body, b"go");
}

#[test]
fn an_unreachable_server_or_an_oversized_answer_is_500() {
    let mw = auth(r#"{"address": "http://a.test", "maxResponseBodySize": 4}"#);
    let mut req = TestRequest::get("/");
    let action = testing::on_request_subresponse(&mw, &mut req, Err(SubrequestFailure::Timeout));
    assert_eq!(action.reply().map(|r| r.status), Some(500));
    let mut big = answer(200, &[], "01234");
    big.body_truncated = true;
    let action = testing::on_request_subresponse(&mw, &mut req, Ok(big));
    assert_eq!(action.reply().map(|r| r.status), Some(500));
}

#[test]
fn auth_cookies_replace_the_upstreams_of_the_same_name() {
    let mw = auth(r#"{"address": "http://a.test", "addAuthCookiesToResponse": ["session"]}"#);
    let mut req = TestRequest::get("/");
    let ok = answer(
        200,
        &[
            ("set-cookie", "session=new; Path=/"),
            ("set-cookie", "other=x"),
        ],
        "",
    );
    assert!(testing::on_request_subresponse(&mw, &mut req, Ok(ok)).is_continue());
    let mut resp = TestResponse::new(200)
        .header("set-cookie", "session=old")
        .header("set-cookie", "app=1");
    assert!(testing::on_response(&mw, &mut req, &mut resp).is_continue());
    let cookies: Vec<String> = resp
        .header_all("set-cookie")
        .into_iter()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .collect();
    assert_eq!(cookies, ["app=1", "session=new; Path=/"]);
}

#[test]
fn unknown_or_malformed_options_are_refused_by_name() {
    for (config, option) in [
        (
            r#"{"address": "http://a.test", "tls": {"insecure": true}}"#,
            "tls",
        ),
        (r#"{}"#, "address"),
        (r#"{"address": "http://a.test", "bogus": 1}"#, "bogus"),
    ] {
        let err = testing::validate_config::<ForwardAuth>(config).expect_err(config);
        assert!(err.contains(option), "{config}: {err}");
    }
}

#[test]
fn forward_body_sends_the_request_body_and_keeps_it_for_the_upstream() {
    let mw = auth(r#"{"address": "http://auth.test/", "forwardBody": true, "maxBodySize": 16}"#);
    let mut req = TestRequest::post("/upload").header("content-type", "application/json");
    req.body = Some(b"{\"a\":1}".to_vec());
    assert!(testing::on_request(&mw, &mut req).is_continue());
    let sub = req.subrequest.as_ref().expect("a subrequest");
    assert_eq!(sub.body, b"{\"a\":1}");
    assert_eq!(
        sent_header(&req, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(req.body.as_deref(), Some(&b"{\"a\":1}"[..]));
}

#[test]
fn a_body_over_max_body_size_is_refused_with_401() {
    let mw = auth(r#"{"address": "http://auth.test/", "forwardBody": true, "maxBodySize": 4}"#);
    let mut req = TestRequest::post("/upload");
    req.body = Some(b"12345".to_vec());
    let action = testing::on_request(&mw, &mut req);
    assert_eq!(action.reply().map(|r| r.status), Some(401));
    assert!(req.subrequest.is_none());
}

#[test]
fn without_forward_body_no_body_is_sent_and_max_body_size_is_checked() {
    let mw = auth(r#"{"address": "http://auth.test/", "maxBodySize": 4}"#);
    let mut req = TestRequest::post("/upload");
    req.body = Some(b"12345".to_vec());
    assert!(testing::on_request(&mw, &mut req).is_continue());
    assert!(
        req.subrequest
            .as_ref()
            .expect("a subrequest")
            .body
            .is_empty()
    );
    let over = r#"{"address": "http://auth.test/", "forwardBody": true, "maxBodySize": 70000}"#;
    assert!(testing::instance::<ForwardAuth>(over).is_err());
    let unlimited = r#"{"address": "http://auth.test/", "forwardBody": true, "maxBodySize": -1}"#;
    assert!(testing::instance::<ForwardAuth>(unlimited).is_ok());
}
