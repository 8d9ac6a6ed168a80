//! Bundled plugin `replace-path`: Traefik's `replacePath` middleware.
//!
//! Option: `path` (text): the path every request is forwarded with; the query is kept. The
//! original path goes upstream in `X-Replaced-Path` (appended).
//!
//! ```yaml
//! http:
//!   middlewares:
//!     test-replacepath:
//!       replacePath:
//!         path: "/foo"
//! ```
//!
//! As in Traefik, `path` is an encoded path (`/a%2Fb` stays as written) and characters a path
//! cannot carry are percent-encoded (`/a b` is sent as `/a%20b`); `X-Replaced-Path` carries the
//! original path decoded when the client's encoding was the canonical one (`/a%20b` gives
//! `/a b`), and as sent otherwise (`/a%2Fb`). Differences: a malformed escape in `path` (`%zz`)
//! is a config error (Traefik answers 500 to every request), and an empty `path` or one
//! without a leading `/` gets one (Traefik sends an empty path as `/` too).
//!
//! Cost per request: three host calls (read the path, set it, add the header); decoding the
//! original path only when it holds `%` escapes.

use plugin_sdk::rules::check_header_value;
use plugin_sdk::{Action, Middleware, Request};
use serde::Deserialize;
use traefik_options::{options, uri};

use options::Text;

/// Traefik's `replacePath` options, as written in the dynamic config.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct Options {
    path: Text,
}

/// The `replacePath` middleware: the path to send, worked out once from the config.
#[derive(Debug)]
pub struct ReplacePath {
    wire_path: String,
}

/// What `X-Replaced-Path` carries for a request path (encoded): Go's `URL.RawPath` when Go keeps
/// one (the client's encoding is not the canonical one), else the decoded `URL.Path`. The
/// encoded form also stands in when the decoded one cannot be a header value.
pub fn replaced_path_header(path: &str) -> Vec<u8> {
    if !path.contains('%') {
        return path.as_bytes().to_vec();
    }
    match uri::unescape(path) {
        Ok(decoded)
            if uri::escape_path(&decoded) == path && check_header_value(&decoded).is_ok() =>
        {
            decoded
        }
        _ => path.as_bytes().to_vec(),
    }
}

impl Middleware for ReplacePath {
    /// Request-only: the gateway skips the response hook (one call per request saved).
    fn wants_response_hook(&self) -> bool {
        false
    }

    fn from_config(config: &str) -> Result<Self, String> {
        let options: Options = options::parse(config)?;
        let wire = uri::wire_path(options.path.as_str()).map_err(|e| format!("path: {e}"))?;
        Ok(ReplacePath {
            wire_path: uri::with_leading_slash(&wire).into_owned(),
        })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let original = req.path();
        if let Err(e) = req.set_path(&self.wire_path) {
            plugin_sdk::warn!("replacePath: path {:?} refused: {e}", self.wire_path);
            return Action::Continue;
        }
        if let Err(e) = req.append_header("x-replaced-path", replaced_path_header(&original)) {
            plugin_sdk::warn!("replacePath: X-Replaced-Path refused: {e}");
        }
        Action::Continue
    }
}

plugin_sdk::export_middleware!(ReplacePath);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest};

    fn run(config: &str, target: &str) -> TestRequest {
        testing::continued_get::<ReplacePath>(config, target)
    }

    #[test]
    fn the_path_is_replaced_the_query_kept_and_the_original_forwarded() {
        let req = run(r#"{"path": "/foo"}"#, "/bar/baz?x=1");
        assert_eq!(req.path, "/foo");
        assert_eq!(req.query.as_deref(), Some("x=1"));
        assert_eq!(
            req.header_str("x-replaced-path").as_deref(),
            Some("/bar/baz")
        );
    }

    #[test]
    fn the_configured_path_is_sent_encoded_as_go_sends_it() {
        assert_eq!(run(r#"{"path": "/a%2Fb"}"#, "/x").path, "/a%2Fb");
        assert_eq!(run(r#"{"path": "/a b"}"#, "/x").path, "/a%20b");
        assert_eq!(run(r#"{"path": "/café"}"#, "/x").path, "/caf%C3%A9");
        assert_eq!(run(r#"{"path": "foo"}"#, "/x").path, "/foo");
        assert_eq!(run(r#"{"path": ""}"#, "/x").path, "/");
        assert_eq!(run("{}", "/x").path, "/");
    }

    #[test]
    fn x_replaced_path_is_decoded_only_where_go_decodes_it() {
        assert_eq!(replaced_path_header("/a%20b"), b"/a b".to_vec());
        assert_eq!(replaced_path_header("/a%2Fb"), b"/a%2Fb".to_vec());
        assert_eq!(replaced_path_header("/%41"), b"/%41".to_vec());
        assert_eq!(replaced_path_header("/a%0Ab"), b"/a%0Ab".to_vec());
        assert_eq!(replaced_path_header("/plain"), b"/plain".to_vec());
    }

    #[test]
    fn replacing_twice_appends_x_replaced_path() {
        let a =
            testing::instance::<ReplacePath>(r#"{"path": "/a"}"#).unwrap_or_else(|e| panic!("{e}"));
        let b =
            testing::instance::<ReplacePath>(r#"{"path": "/b"}"#).unwrap_or_else(|e| panic!("{e}"));
        let mut req = TestRequest::get("/orig");
        assert!(testing::on_request(&a, &mut req).is_continue());
        assert!(testing::on_request(&b, &mut req).is_continue());
        assert_eq!(req.path, "/b");
        assert_eq!(
            req.header_all("x-replaced-path"),
            vec![b"/orig".to_vec(), b"/a".to_vec()]
        );
    }

    #[test]
    fn bad_configs_are_errors_naming_the_option() {
        assert_eq!(
            testing::validate_config::<ReplacePath>(r#"{"path": "/a%zz"}"#),
            Err(r#"path: invalid URL escape "%zz""#.to_string())
        );
        assert_eq!(
            testing::validate_config::<ReplacePath>(r#"{"paht": "/a"}"#),
            Err(r#"unknown option "paht" (known: "path")"#.to_string())
        );
        assert_eq!(
            testing::validate_config::<ReplacePath>(r#"{"path": {"a": 1}}"#),
            Err("path: expected text, got a map".to_string())
        );
    }
}
