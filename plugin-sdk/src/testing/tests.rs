//! The doubles behave like the host: edits, refusals, state between hooks.

use super::*;
use crate::{EditError, Reply};

/// Exercises every request and response method from inside real hooks.
struct Probe;

impl Middleware for Probe {
    fn from_config(config: &str) -> Result<Self, String> {
        if config == "bad" {
            Err("bad config".to_string())
        } else {
            Ok(Probe)
        }
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        if req.path() == "/deny" {
            return Reply::new(403)
                .header("content-type", "text/plain")
                .body("no")
                .into();
        }
        let summary = format!(
            "{} {}://{}{}?{} raw={} client={} tls={} router={}",
            req.method(),
            req.scheme(),
            req.authority().unwrap_or_default(),
            req.path(),
            req.query().unwrap_or_default(),
            req.raw_path(),
            req.client_addr(),
            req.is_tls(),
            req.router_name(),
        );
        let results = [
            req.set_header("x-summary", summary),
            req.set_header("bad name", "v"),
            req.set_header("x-bad-value", "a\r\nb"),
            req.append_header("x-multi", "2"),
            req.set_path("/rewritten"),
            req.set_path("no-slash"),
            req.set_query(None),
            req.set_state(req.path()),
            req.set_state(vec![0u8; crate::rules::MAX_STATE_BYTES + 1]),
        ];
        req.remove_header("x-remove");
        let outcome: Vec<String> = results
            .iter()
            .map(|r| r.as_ref().map_or_else(|e| e.to_string(), |_| "ok".into()))
            .collect();
        let _ = req.set_header("x-outcome", outcome.join(","));
        let _ = req.set_header("x-count", req.headers().len().to_string());
        Action::Continue
    }

    fn on_response(&self, req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        let state = req.state().unwrap_or_default();
        let _ = resp.set_header("x-state", state);
        let _ = resp.append_header("x-seen-status", resp.status().to_string());
        resp.remove_header("server");
        let refused = resp.set_status(999);
        let _ = resp.set_header(
            "x-refused",
            refused.map_or_else(|e| e.to_string(), |_| "ok".into()),
        );
        if let Err(e) = resp.set_status(201) {
            return Reply::new(500).body(e.to_string()).into();
        }
        let all = resp.header_all("x-multi").len();
        let _ = resp.set_header("x-multi-count", all.to_string());
        Action::Continue
    }
}

#[test]
fn config_errors_come_back_from_validate_and_instance() {
    assert_eq!(
        validate_config::<Probe>("bad"),
        Err("bad config".to_string())
    );
    assert!(validate_config::<Probe>("{}").is_ok());
    assert!(instance::<Probe>("bad").is_err());
}

#[test]
fn request_hook_reads_the_head_and_edits_follow_the_host_rules() {
    let mw = Probe;
    let mut req = TestRequest::get("/a/b?x=1")
        .raw_path("/a/./b")
        .authority("api.test:8080")
        .client_addr("10.0.0.1:5555")
        .tls(true)
        .router_name("api")
        .header("X-Multi", "1")
        .header("x-remove", "gone");
    assert!(on_request(&mw, &mut req).is_continue());
    assert_eq!(
        req.header_str("x-summary").as_deref(),
        Some(
            "GET https://api.test:8080/a/b?x=1 raw=/a/./b client=10.0.0.1:5555 tls=true router=api"
        )
    );
    let outcome = req.header_str("x-outcome").unwrap_or_default();
    let parts: Vec<&str> = outcome.split(',').collect();
    assert_eq!(parts[0], "ok");
    assert_eq!(parts[1], EditError::InvalidHeaderName.to_string());
    assert_eq!(parts[2], EditError::InvalidHeaderValue.to_string());
    assert_eq!(parts[3], "ok");
    assert_eq!(parts[4], "ok");
    assert!(parts[5].contains("does not start with '/'"), "{outcome}");
    assert_eq!(parts[6], "ok");
    assert_eq!(parts[7], "ok");
    assert_eq!(parts[8], EditError::LimitExceeded.to_string());
    assert_eq!(req.path, "/rewritten");
    assert_eq!(req.query, None);
    assert_eq!(
        req.header_all("x-multi"),
        vec![b"1".to_vec(), b"2".to_vec()]
    );
    assert_eq!(req.header_bytes("x-remove"), None);
    assert_eq!(req.header_bytes("bad name"), None);
    assert_eq!(req.state.as_deref(), Some(&b"/rewritten"[..]));
    // x-summary, x-multi (2), x-outcome: the count was taken before x-count itself was set.
    assert_eq!(req.header_str("x-count").as_deref(), Some("4"));
}

#[test]
fn state_set_in_on_request_reaches_on_response() {
    let mw = Probe;
    let mut req = TestRequest::get("/p").header("x-multi", "a");
    assert!(on_request(&mw, &mut req).is_continue());
    let mut resp = TestResponse::new(200).header("server", "upstream");
    assert!(on_response(&mw, &mut req, &mut resp).is_continue());
    assert_eq!(resp.header_str("x-state").as_deref(), Some("/rewritten"));
    assert_eq!(resp.header_str("x-seen-status").as_deref(), Some("200"));
    assert_eq!(resp.header_bytes("server"), None);
    assert!(
        resp.header_str("x-refused")
            .unwrap_or_default()
            .contains("999")
    );
    assert_eq!(resp.status, 201);
    assert_eq!(resp.header_str("x-multi-count").as_deref(), Some("0"));
}

#[test]
fn set_header_replaces_every_value_in_place() {
    struct Set;
    impl Middleware for Set {
        fn from_config(_: &str) -> Result<Self, String> {
            Ok(Set)
        }
        fn on_request(&self, req: &mut Request<'_>) -> Action {
            let _ = req.set_header("X-A", "new");
            Action::Continue
        }
    }
    let mut req = TestRequest::get("/")
        .header("x-a", "1")
        .header("x-b", "2")
        .header("x-a", "3");
    on_request(&Set, &mut req);
    assert_eq!(
        req.headers,
        vec![
            ("x-a".to_string(), b"new".to_vec()),
            ("x-b".to_string(), b"2".to_vec())
        ]
    );
}

#[test]
fn direct_replies_pass_through_when_valid() {
    let mut req = TestRequest::get("/deny");
    let action = on_request(&Probe, &mut req);
    let reply = action.reply().cloned().unwrap_or_else(|| Reply::new(0));
    assert_eq!(reply.status, 403);
    assert_eq!(reply.get_header("Content-Type"), Some(&b"text/plain"[..]));
    assert_eq!(reply.body, b"no");
}

#[test]
#[should_panic(expected = "the gateway would refuse this reply")]
fn invalid_replies_fail_the_test_like_the_gateway_fails_the_request() {
    struct Bad;
    impl Middleware for Bad {
        fn from_config(_: &str) -> Result<Self, String> {
            Ok(Bad)
        }
        fn on_request(&self, _: &mut Request<'_>) -> Action {
            Action::Respond(Reply::new(999))
        }
    }
    on_request(&Bad, &mut TestRequest::get("/"));
}

#[test]
#[should_panic(expected = "never presents such a head")]
fn builders_refuse_heads_the_gateway_never_presents() {
    let _ = TestRequest::get("/").header("bad name", "v");
}

#[test]
fn default_hooks_continue_without_edits() {
    struct Nothing;
    impl Middleware for Nothing {
        fn from_config(_: &str) -> Result<Self, String> {
            Ok(Nothing)
        }
    }
    let mut req = TestRequest::get("/x").header("a", "b");
    let before = req.clone();
    let mut resp = TestResponse::new(204);
    assert!(on_request(&Nothing, &mut req).is_continue());
    assert!(on_response(&Nothing, &mut req, &mut resp).is_continue());
    assert_eq!(req, before);
    assert_eq!(resp, TestResponse::new(204));
}

#[test]
fn monotonic_clock_never_goes_backwards() {
    let a = crate::monotonic_now();
    let b = crate::monotonic_now();
    assert!(b >= a);
}

#[test]
fn edits_past_the_header_budget_are_refused_and_change_nothing() {
    struct Add;
    impl Middleware for Add {
        fn from_config(_: &str) -> Result<Self, String> {
            Ok(Add)
        }
        fn on_request(&self, req: &mut Request<'_>) -> Action {
            let replaced = req.set_header("x-a", "replaced");
            let added = req.set_header("x-new", "1");
            let appended = req.append_header("x-a", "2");
            let summary = format!("{replaced:?} {added:?} {appended:?}");
            Reply::new(200).body(summary).into()
        }
    }
    let mut req = TestRequest::get("/")
        .header("x-a", "1")
        .header("x-b", "2")
        .max_headers(2);
    let action = on_request(&Add, &mut req);
    let body = action
        .reply()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned());
    assert_eq!(
        body.as_deref(),
        Some("Ok(()) Err(LimitExceeded) Err(LimitExceeded)")
    );
    assert_eq!(req.header_all("x-a"), vec![b"replaced".to_vec()]);
    assert_eq!(req.header_bytes("x-new"), None);
}

/// Declares its needs from the config: `"off"` no response hook, a number a body peek.
struct Sniffer {
    peek: u32,
    hook: bool,
}

impl Middleware for Sniffer {
    fn from_config(config: &str) -> Result<Self, String> {
        match config {
            "off" => Ok(Sniffer {
                peek: 0,
                hook: false,
            }),
            n => n
                .parse()
                .map(|peek| Sniffer { peek, hook: true })
                .map_err(|_| format!("not a number: {n}")),
        }
    }

    fn wants_response_hook(&self) -> bool {
        self.hook
    }

    fn response_body_peek(&self) -> u32 {
        self.peek
    }

    fn on_response(&self, _req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        let _ = resp.set_header("x-hook", "on-response");
        Action::Continue
    }

    fn on_response_body(
        &self,
        _req: &mut Request<'_>,
        resp: &mut Response<'_>,
        body_start: &[u8],
        complete: bool,
    ) -> Action {
        let _ = resp.set_header("x-hook", "on-response-body");
        let _ = resp.set_header("x-seen", format!("{}:{complete}", body_start.len()));
        Action::Continue
    }
}

/// Only `on_response`: the default `on_response_body` falls back to it.
struct HeadOnly;

impl Middleware for HeadOnly {
    fn from_config(_: &str) -> Result<Self, String> {
        Ok(HeadOnly)
    }

    fn on_response(&self, _req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        let _ = resp.set_header("x-hook", "on-response");
        Action::Continue
    }
}

fn run_response_hook<T: Middleware>(mw: &T, body: &[u8]) -> (Option<Action>, TestResponse) {
    let mut req = TestRequest::get("/");
    let mut resp = TestResponse::new(200);
    let action = response_hook(mw, &mut req, &mut resp, body);
    (action, resp)
}

#[test]
fn the_defaults_declare_every_hook_and_no_body() {
    let mw = instance::<HeadOnly>("{}").unwrap_or_else(|e| panic!("{e}"));
    assert!(mw.wants_response_hook());
    assert_eq!(mw.response_body_peek(), 0);
    let mut req = TestRequest::get("/");
    let mut resp = TestResponse::new(200);
    assert!(on_response_body(&mw, &mut req, &mut resp, b"<html>", true).is_continue());
    assert_eq!(resp.header_str("x-hook").as_deref(), Some("on-response"));
}

#[test]
fn response_hook_dispatches_as_the_gateway_does() {
    let off = instance::<Sniffer>("off").unwrap_or_else(|e| panic!("{e}"));
    let (action, resp) = run_response_hook(&off, b"body");
    assert!(action.is_none(), "an opted-out middleware is not called");
    assert_eq!(resp.header_str("x-hook"), None);

    let plain = instance::<Sniffer>("0").unwrap_or_else(|e| panic!("{e}"));
    let (action, resp) = run_response_hook(&plain, b"body");
    assert!(action.is_some_and(|a| a.is_continue()));
    assert_eq!(resp.header_str("x-hook").as_deref(), Some("on-response"));

    let peek = instance::<Sniffer>("4").unwrap_or_else(|e| panic!("{e}"));
    let (_, resp) = run_response_hook(&peek, b"0123456789");
    assert_eq!(
        resp.header_str("x-hook").as_deref(),
        Some("on-response-body")
    );
    assert_eq!(resp.header_str("x-seen").as_deref(), Some("4:false"));
    let (_, resp) = run_response_hook(&peek, b"012");
    assert_eq!(resp.header_str("x-seen").as_deref(), Some("3:true"));
    let (_, resp) = run_response_hook(&peek, b"");
    assert_eq!(resp.header_str("x-seen").as_deref(), Some("0:true"));

    let huge = instance::<Sniffer>("4000000").unwrap_or_else(|e| panic!("{e}"));
    let body = vec![b'x'; MAX_BODY_PEEK + 10];
    let (_, resp) = run_response_hook(&huge, &body);
    assert_eq!(
        resp.header_str("x-seen"),
        Some(format!("{MAX_BODY_PEEK}:false")),
        "the peek is capped at 64 KiB"
    );
}
