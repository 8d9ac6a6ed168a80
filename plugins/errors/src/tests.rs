use plugin_sdk::outbound::{Destination, SubrequestFailure, Subresponse};
use plugin_sdk::testing::{self, TestRequest, TestResponse};

use super::Errors;

fn errors(config: &str) -> Errors {
    testing::instance::<Errors>(config).expect("config accepted")
}

#[test]
fn a_caught_status_asks_the_service_for_its_page_with_the_placeholders_filled() {
    let mw = errors(
        r#"{"status": ["500-599"], "service": "pages", "query": "/{status}-{originalStatus}.html?u={url}", "statusRewrites": {"502-504": 500}}"#,
    );
    let mut req = TestRequest::get("/a%20b?x=1").header("accept", "text/html");
    let mut resp = TestResponse::new(503);
    assert!(testing::on_response(&mw, &mut req, &mut resp).is_continue());
    let sub = req.subrequest.clone().expect("a page request");
    assert_eq!(sub.method, "GET");
    assert_eq!(
        sub.destination,
        Destination::Service {
            name: "pages".into(),
            path_and_query: "/500-503.html?u=%2Fa%2520b%3Fx%3D1".into()
        }
    );
    assert!(
        sub.headers
            .iter()
            .any(|(n, v)| n == "accept" && v == b"text/html")
    );
    let page = Subresponse {
        status: 200,
        headers: vec![("content-type".into(), b"text/html".to_vec())],
        body: b"<h1>oops</h1>".to_vec(),
        body_truncated: false,
    };
    let action = testing::on_response_subresponse(&mw, &mut req, &mut resp, Ok(page));
    let reply = action.reply().expect("the page replaces the response");
    assert_eq!(reply.status, 500, "rewritten");
    assert_eq!(reply.body, b"<h1>oops</h1>");
    assert_eq!(reply.get_header("content-type"), Some(&b"text/html"[..]));
}

#[test]
fn other_statuses_pass_and_a_missing_page_keeps_the_status() {
    let mw = errors(r#"{"status": ["404", "500-599"], "service": "pages"}"#);
    let mut req = TestRequest::get("/");
    let mut ok = TestResponse::new(200);
    assert!(testing::on_response(&mw, &mut req, &mut ok).is_continue());
    assert!(req.subrequest.is_none());
    let mut missing = TestResponse::new(404);
    assert!(testing::on_response(&mw, &mut req, &mut missing).is_continue());
    assert_eq!(
        req.subrequest.as_ref().map(|s| s.destination.clone()),
        Some(Destination::Service {
            name: "pages".into(),
            path_and_query: "/".into()
        })
    );
    let action = testing::on_response_subresponse(
        &mw,
        &mut req,
        &mut missing,
        Err(SubrequestFailure::NoServer),
    );
    assert_eq!(action.reply().map(|r| r.status), Some(404));
}

#[test]
fn bad_options_are_refused_by_name() {
    for (config, option) in [
        (r#"{"status": ["5xx"], "service": "p"}"#, "status"),
        (r#"{"status": ["500"]}"#, "service"),
        (
            r#"{"status": ["500"], "service": "p", "statusRewrites": {"500": 99}}"#,
            "statusRewrites",
        ),
    ] {
        let err = testing::validate_config::<Errors>(config).expect_err(config);
        assert!(err.contains(option), "{config}: {err}");
    }
}
