//! Bundled plugin `strip-prefix-regex`: Traefik's `stripPrefixRegex` middleware.
//!
//! Option: `regex` (list of Go regular expressions, each trimmed): for the first expression
//! whose leftmost match is a non-empty prefix of the request path, that prefix is removed (the
//! path sent on starts with `/`) and added to `X-Forwarded-Prefix` (appended). The query is kept.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     strip-user:
//!       stripPrefixRegex:
//!         regex:
//!           - "/users/[a-z0-9]+/"
//! ```
//!
//! As in Traefik, expressions are Go's (RE2: `\w` and `\d` are ASCII, see `go_regex.rs`) and
//! are matched against the decoded path (`/caf%C3%A9/x` is `/café/x`); the rest of the path keeps
//! the client's encoding. An expression that does not compile is a config error naming it.
//!
//! Cost per request: one host call to read the path plus one regex search per expression until
//! one matches; two more host calls when one does.

use go_regex::BytesRegex as Regex;
use plugin_sdk::rules::check_header_value;
use plugin_sdk::{Action, Middleware, Request};
use serde::Deserialize;
use traefik_options::{go_regex, options, uri};

use options::TextList;

/// Traefik's `stripPrefixRegex` options, as written in the dynamic config.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct Options {
    regex: TextList,
}

/// The `stripPrefixRegex` middleware: the compiled expressions, in config order.
#[derive(Debug)]
pub struct StripPrefixRegex {
    expressions: Vec<Regex>,
}

/// What stripping does to a request path.
#[derive(Debug, PartialEq, Eq)]
pub struct Stripped {
    /// The path to send on (encoded).
    pub path: String,
    /// The `X-Forwarded-Prefix` value: the matched prefix, decoded as Traefik sends it (encoded
    /// when the decoded text cannot be a header value).
    pub prefix: Vec<u8>,
}

impl StripPrefixRegex {
    /// What to do with `path` (encoded), or `None` when no expression matches a prefix.
    pub fn strip(&self, path: &str) -> Option<Stripped> {
        let decoded = uri::decode_lenient(path);
        for expression in &self.expressions {
            let Some(found) = expression.find(&decoded) else {
                continue;
            };
            let prefix = found.as_bytes();
            // Traefik checks that the matched text starts the path, not where it was found.
            if prefix.is_empty() || !decoded.starts_with(prefix) {
                continue;
            }
            let cut = uri::encoded_prefix_len(path, prefix)?;
            let (encoded_prefix, rest) = (path.get(..cut)?, path.get(cut..)?);
            let header = if check_header_value(prefix).is_ok() {
                prefix.to_vec()
            } else {
                encoded_prefix.as_bytes().to_vec()
            };
            return Some(Stripped {
                path: uri::with_leading_slash(rest).into_owned(),
                prefix: header,
            });
        }
        None
    }
}

impl Middleware for StripPrefixRegex {
    /// Request-only: the gateway skips the response hook (one call per request saved).
    fn wants_response_hook(&self) -> bool {
        false
    }

    fn from_config(config: &str) -> Result<Self, String> {
        let options: Options = options::parse(config)?;
        let expressions = options
            .regex
            .0
            .iter()
            .enumerate()
            .map(|(i, pattern)| {
                go_regex::compile_bytes(pattern).map_err(|e| format!("regex[{i}]: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StripPrefixRegex { expressions })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        if self.expressions.is_empty() {
            return Action::Continue;
        }
        let Some(stripped) = self.strip(&req.path()) else {
            return Action::Continue;
        };
        if let Err(e) = req.set_path(&stripped.path) {
            plugin_sdk::warn!("stripPrefixRegex: path {:?} refused: {e}", stripped.path);
            return Action::Continue;
        }
        if let Err(e) = req.append_header("x-forwarded-prefix", &stripped.prefix) {
            plugin_sdk::warn!("stripPrefixRegex: X-Forwarded-Prefix refused: {e}");
        }
        Action::Continue
    }
}

plugin_sdk::export_middleware!(StripPrefixRegex);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest};

    fn run(config: &str, target: &str) -> TestRequest {
        testing::continued_get::<StripPrefixRegex>(config, target)
    }

    #[test]
    fn the_matched_prefix_is_stripped_and_forwarded() {
        let req = run(
            r#"{"regex": ["/foo/[a-z0-9]+/[0-9]+/"]}"#,
            "/foo/bar/123/rest?x=1",
        );
        assert_eq!(req.path, "/rest");
        assert_eq!(req.query.as_deref(), Some("x=1"));
        assert_eq!(
            req.header_str("x-forwarded-prefix").as_deref(),
            Some("/foo/bar/123/")
        );
    }

    #[test]
    fn traefik_test_cases() {
        let config = r#"{"regex": ["/a/api/", "/b/([a-z0-9]+)/", "/c/[a-z0-9]+/[0-9]+/"]}"#;
        for (path, want, prefix) in [
            ("/a/test", "/a/test", None),
            ("/a/test/", "/a/test/", None),
            ("/a/api/", "/", Some("/a/api/")),
            ("/a/api/test", "/test", Some("/a/api/")),
            ("/b/api/", "/", Some("/b/api/")),
            ("/b/api", "/b/api", None),
            ("/b/api/test1", "/test1", Some("/b/api/")),
            ("/c/api/123/", "/", Some("/c/api/123/")),
            ("/c/api/123/test3", "/test3", Some("/c/api/123/")),
            ("/c/api/abc/test4", "/c/api/abc/test4", None),
            ("/a/api/a%2Fb", "/a%2Fb", Some("/a/api/")),
        ] {
            let req = run(config, path);
            assert_eq!(req.path, want, "{path}");
            assert_eq!(
                req.header_str("x-forwarded-prefix").as_deref(),
                prefix,
                "{path}"
            );
        }
    }

    #[test]
    fn a_match_that_does_not_start_the_path_is_ignored() {
        let req = run(r#"{"regex": ["[a-z]+", "/b"]}"#, "/b/x");
        assert_eq!(
            req.path, "/x",
            "the first expression matches 'b', not a prefix; the second wins"
        );
        assert_eq!(
            run(r#"{"regex": ["x*"]}"#, "/x"),
            TestRequest::get("/x"),
            "empty matches strip nothing"
        );
    }

    #[test]
    fn expressions_see_the_decoded_path_with_go_semantics() {
        let req = run(r#"{"regex": ["^/[^/]+"]}"#, "/caf%C3%A9/menu");
        assert_eq!(req.path, "/menu");
        assert_eq!(
            req.header_str("x-forwarded-prefix").as_deref(),
            Some("/café")
        );
        assert_eq!(
            run(r#"{"regex": ["^/\\w+"]}"#, "/caf%C3%A9/menu").path,
            "/%C3%A9/menu",
            "\\w is ASCII"
        );
        let req = run(r#"{"regex": ["^/a\\x0Ab"]}"#, "/a%0Ab/x");
        assert_eq!(req.path, "/x");
        assert_eq!(
            req.header_str("x-forwarded-prefix").as_deref(),
            Some("/a%0Ab"),
            "undecodable header stays encoded"
        );
    }

    #[test]
    fn expressions_are_trimmed_and_an_empty_list_strips_nothing() {
        assert_eq!(run(r#"{"regex": ["  /api  "]}"#, "/api/x").path, "/x");
        for config in ["{}", r#"{"regex": []}"#, r#"{"regex": null}"#] {
            assert_eq!(run(config, "/api/x"), TestRequest::get("/api/x"));
        }
    }

    #[test]
    fn bad_configs_are_errors_naming_the_option() {
        let err = testing::validate_config::<StripPrefixRegex>(r#"{"regex": ["/ok", "/api/("]}"#)
            .err()
            .unwrap_or_default();
        assert!(
            err.starts_with(r#"regex[1]: invalid regular expression "/api/(": "#),
            "{err}"
        );
        assert_eq!(
            testing::validate_config::<StripPrefixRegex>(r#"{"regexp": ["/a"]}"#),
            Err(r#"unknown option "regexp" (known: "regex")"#.to_string())
        );
        assert_eq!(
            testing::validate_config::<StripPrefixRegex>(r#"{"regex": "/a"}"#),
            Err(r#"regex: expected a list, got the text "/a" (write it as ["/a"])"#.to_string())
        );
    }
}
