//! Bundled plugin `replace-path-regex`: Traefik's `replacePathRegex` middleware.
//!
//! Options:
//! - `regex` (text, a Go regular expression, trimmed): matched against the request path as the
//!   client encoded it (no query);
//! - `replacement` (text, trimmed): every match is replaced with it; `$1`, `${1}`, `$name` and
//!   `${name}` insert capture groups (a missing group inserts nothing), `$$` a `$`.
//!
//! When the expression matches and `replacement` is not empty, the original path goes upstream
//! in `X-Replaced-Path` (appended) and the path is replaced; the query is kept. An empty
//! `replacement` makes the middleware a no-op, as in Traefik.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     test-replacepathregex:
//!       replacePathRegex:
//!         regex: "^/foo/(.*)"
//!         replacement: "/bar/$1"
//! ```
//!
//! As in Traefik, the result is an encoded path: characters a path cannot carry are
//! percent-encoded (a `?` in the replacement is sent as `%3F`, it does not start a query), and
//! a result with a malformed escape (`%zz`) is answered with 500. A result without a leading `/`
//! gets one.
//!
//! Cost per request: one host call and one regex search; on a match, the replacement plus two
//! host calls (path, header).

use go_regex::Regex;
use plugin_sdk::{Action, Middleware, Reply, Request};
use serde::Deserialize;
use traefik_options::{go_regex, options, uri};

use options::Text;

/// Traefik's `replacePathRegex` options, as written in the dynamic config.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct Options {
    regex: Text,
    replacement: Text,
}

/// The `replacePathRegex` middleware: the compiled expression and the replacement template.
#[derive(Debug)]
pub struct ReplacePathRegex {
    regex: Regex,
    replacement: String,
}

impl ReplacePathRegex {
    /// The path to send instead of `path` (encoded): `Ok(None)` when the expression does not
    /// match (or the replacement is empty); `Err` names a malformed escape in the result.
    pub fn rewrite(&self, path: &str) -> Result<Option<String>, String> {
        if self.replacement.is_empty() || !self.regex.is_match(path) {
            return Ok(None);
        }
        let raw = self.regex.replace_all(path, self.replacement.as_str());
        let wire = uri::wire_path(&raw)?;
        Ok(Some(uri::with_leading_slash(&wire).into_owned()))
    }
}

impl Middleware for ReplacePathRegex {
    /// Request-only: the gateway skips the response hook (one call per request saved).
    fn wants_response_hook(&self) -> bool {
        false
    }

    fn from_config(config: &str) -> Result<Self, String> {
        let options: Options = options::parse(config)?;
        let regex =
            go_regex::compile(options.regex.as_str().trim()).map_err(|e| format!("regex: {e}"))?;
        Ok(ReplacePathRegex {
            regex,
            replacement: options.replacement.as_str().trim().to_string(),
        })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let path = req.path();
        let rewritten = match self.rewrite(&path) {
            Ok(Some(rewritten)) => rewritten,
            Ok(None) => return Action::Continue,
            Err(e) => {
                plugin_sdk::warn!("replacePathRegex: {path:?} rewrites to a bad path: {e}");
                return Action::Respond(
                    Reply::new(500)
                        .header("content-type", "text/plain; charset=utf-8")
                        .header("x-content-type-options", "nosniff")
                        .body(format!("{e}\n")),
                );
            }
        };
        if let Err(e) = req.set_path(&rewritten) {
            plugin_sdk::warn!("replacePathRegex: path {rewritten:?} refused: {e}");
            return Action::Continue;
        }
        if let Err(e) = req.append_header("x-replaced-path", &path) {
            plugin_sdk::warn!("replacePathRegex: X-Replaced-Path refused: {e}");
        }
        Action::Continue
    }
}

plugin_sdk::export_middleware!(ReplacePathRegex);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest};

    fn run(config: &str, target: &str) -> TestRequest {
        testing::continued_get::<ReplacePathRegex>(config, target)
    }

    #[test]
    fn groups_are_substituted_and_the_original_forwarded() {
        let req = run(
            r#"{"regex": "^/foo/(.*)", "replacement": "/bar/$1"}"#,
            "/foo/baz/qux?x=1",
        );
        assert_eq!(req.path, "/bar/baz/qux");
        assert_eq!(req.query.as_deref(), Some("x=1"));
        assert_eq!(
            req.header_str("x-replaced-path").as_deref(),
            Some("/foo/baz/qux")
        );
    }

    #[test]
    fn traefik_test_cases() {
        for (path, regex, replacement, want) in [
            (
                "/whoami/and/whoami",
                "/whoami",
                "/who-am-i",
                "/who-am-i/and/who-am-i",
            ),
            (
                "/whoami/and/whoami",
                "^/whoami",
                "/who-am-i",
                "/who-am-i/and/whoami",
            ),
            (
                "/downloads/src/source.go",
                r"^(?i)/downloads/([^/]+)/([^/]+)$",
                "/downloads/$1-$2",
                "/downloads/src-source.go",
            ),
            (
                "/downloads/src/source.go",
                r"^/downloads/(?P<first>[^/]+)/(?P<second>[^/]+)$",
                "/downloads/${first}-${second}",
                "/downloads/src-source.go",
            ),
            ("/aaa/bbb", "/aaa/bbb", "/foo%2Fbar", "/foo%2Fbar"),
            ("/foo/bar", "/foo/(.*)", "/$1x", "/"),
            ("/foo/bar", "/foo/(.*)", "/${1}x", "/barx"),
            ("/aaa/bbb", "/aaa/bbb", "/foo?bar=1", "/foo%3Fbar=1"),
            ("/a%20b", "^/a%20b", "/c$0", "/c/a%20b"),
        ] {
            let config = format!(r#"{{"regex": {regex:?}, "replacement": {replacement:?}}}"#);
            assert_eq!(
                run(&config, path).path,
                want,
                "{path} {regex} {replacement}"
            );
        }
    }

    #[test]
    fn no_match_or_an_empty_replacement_changes_nothing() {
        let config = r#"{"regex": "^/api", "replacement": "/v2"}"#;
        assert_eq!(run(config, "/other"), TestRequest::get("/other"));
        let config = r#"{"regex": "^/api", "replacement": "  "}"#;
        assert_eq!(run(config, "/api"), TestRequest::get("/api"));
    }

    #[test]
    fn a_result_with_a_malformed_escape_is_answered_with_500() {
        let mw = testing::instance::<ReplacePathRegex>(
            r#"{"regex": "^/(.*)", "replacement": "/%zz$1"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut req = TestRequest::get("/x");
        let action = testing::on_request(&mw, &mut req);
        assert_eq!(action.reply().map(|r| r.status), Some(500));
        assert_eq!(req.path, "/x");
    }

    #[test]
    fn bad_configs_are_errors_naming_the_option() {
        let err = testing::validate_config::<ReplacePathRegex>(
            r#"{"regex": "^/(", "replacement": "/x"}"#,
        )
        .err()
        .unwrap_or_default();
        assert!(
            err.starts_with(r#"regex: invalid regular expression "^/(": "#),
            "{err}"
        );
        assert_eq!(
            testing::validate_config::<ReplacePathRegex>(r#"{"regex": "^/a", "replace": "/x"}"#),
            Err(r#"unknown option "replace" (known: "regex", "replacement")"#.to_string())
        );
    }
}
