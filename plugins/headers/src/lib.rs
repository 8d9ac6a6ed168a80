//! Bundled plugin `headers`: Traefik's `headers` middleware.
//!
//! Supported options (both optional, maps of header name to value):
//! - `customRequestHeaders`: set on the request before it goes upstream;
//! - `customResponseHeaders`: set on the response before it goes to the client.
//!
//! An empty value removes the header. Any other option (Traefik's CORS and security options come
//! in a later version) is refused at config load with `unknown option "NAME"`.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     add-headers:
//!       headers:
//!         customRequestHeaders:
//!           X-Script-Name: "test"
//!           X-Forwarded-Server: ""     # removed
//!         customResponseHeaders:
//!           X-Custom-Response-Header: "value"
//! ```
//!
//! Cost per request: one host call per configured header in each hook; nothing is read.

mod config;

use plugin_sdk::{Action, EditError, Middleware, Request, Response};

pub use config::{HeaderEdit, HeadersConfig};

/// The `headers` middleware: the parsed config, shared by every hook call on the instance.
pub struct Headers {
    config: HeadersConfig,
}

impl Middleware for Headers {
    fn from_config(config: &str) -> Result<Self, String> {
        HeadersConfig::parse(config).map(|config| Headers { config })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        for edit in &self.config.request {
            let applied = match edit {
                HeaderEdit::Set(name, value) => req.set_header(name, value),
                HeaderEdit::Remove(name) => {
                    req.remove_header(name);
                    Ok(())
                }
            };
            report(applied, "request", edit);
        }
        Action::Continue
    }

    fn on_response(&self, _req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        for edit in &self.config.response {
            let applied = match edit {
                HeaderEdit::Set(name, value) => resp.set_header(name, value),
                HeaderEdit::Remove(name) => {
                    resp.remove_header(name);
                    Ok(())
                }
            };
            report(applied, "response", edit);
        }
        Action::Continue
    }
}

/// Names and values were checked at config load, so a refusal here is the host's output budget
/// (header count or bytes): log it and go on with the head as it was.
fn report(applied: Result<(), EditError>, head: &str, edit: &HeaderEdit) {
    if let Err(e) = applied {
        plugin_sdk::warn!("headers: {head} edit {edit:?} refused: {e}");
    }
}

plugin_sdk::export_middleware!(Headers);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest, TestResponse};

    const CONFIG: &str = r#"{
        "customRequestHeaders": {"X-Script-Name": "test", "X-Forwarded-Server": ""},
        "customResponseHeaders": {"X-Custom-Response-Header": "value", "Server": ""}
    }"#;

    #[test]
    fn request_headers_are_set_replaced_and_removed() {
        let mw = testing::instance::<Headers>(CONFIG).unwrap_or_else(|e| panic!("{e}"));
        let mut req = TestRequest::get("/")
            .header("x-script-name", "old")
            .header("X-Script-Name", "older")
            .header("x-forwarded-server", "gw1")
            .header("accept", "*/*");
        assert!(testing::on_request(&mw, &mut req).is_continue());
        assert_eq!(req.header_all("x-script-name"), vec![b"test".to_vec()]);
        assert_eq!(req.header_bytes("x-forwarded-server"), None);
        assert_eq!(req.header_str("accept").as_deref(), Some("*/*"));
    }

    #[test]
    fn response_headers_are_set_and_removed_and_the_request_is_untouched() {
        let mw = testing::instance::<Headers>(CONFIG).unwrap_or_else(|e| panic!("{e}"));
        let mut req = TestRequest::get("/");
        let before = req.clone();
        let mut resp = TestResponse::new(200)
            .header("server", "nginx")
            .header("content-type", "text/html");
        assert!(testing::on_response(&mw, &mut req, &mut resp).is_continue());
        assert_eq!(
            resp.header_str("x-custom-response-header").as_deref(),
            Some("value")
        );
        assert_eq!(resp.header_bytes("server"), None);
        assert_eq!(
            resp.header_str("content-type").as_deref(),
            Some("text/html")
        );
        assert_eq!(resp.status, 200);
        assert_eq!(req, before);
    }

    #[test]
    fn an_empty_config_changes_nothing() {
        let mw = testing::instance::<Headers>("{}").unwrap_or_else(|e| panic!("{e}"));
        let mut req = TestRequest::get("/").header("a", "1");
        let mut resp = TestResponse::new(404).header("b", "2");
        let (req_before, resp_before) = (req.clone(), resp.clone());
        assert!(testing::on_request(&mw, &mut req).is_continue());
        assert!(testing::on_response(&mw, &mut req, &mut resp).is_continue());
        assert_eq!((req, resp), (req_before, resp_before));
    }

    #[test]
    fn validate_config_reports_unknown_options() {
        assert_eq!(
            testing::validate_config::<Headers>(r#"{"customRequestHeaders": {}, "stsSeconds": 1}"#),
            Err(r#"unknown option "stsSeconds""#.to_string())
        );
    }
}
