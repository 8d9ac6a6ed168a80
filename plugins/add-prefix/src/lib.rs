//! Bundled plugin `add-prefix`: Traefik's `addPrefix` middleware.
//!
//! Option: `prefix` (text, required, not empty): put in front of the request path before it is
//! forwarded (`/api` on `/users` gives `/api/users`); the query is kept. A prefix without a
//! leading `/` still yields a path that starts with one (`api` gives `/api/users`), as in
//! Traefik.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     add-foo:
//!       addPrefix:
//!         prefix: "/foo"
//! ```
//!
//! The prefix is text, not an encoded path: characters a path cannot carry are percent-encoded
//! (`/my app` is sent as `/my%20app`), as Go does when Traefik adds it; the request's own path
//! keeps its encoding.
//!
//! Cost per request: two host calls (read the path, set it) and one allocation.

use plugin_sdk::{Action, Middleware, Request};
use serde::Deserialize;
use traefik_options::{options, uri};

use options::Text;

/// Traefik's `addPrefix` options, as written in the dynamic config.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct Options {
    prefix: Text,
}

/// The `addPrefix` middleware: the prefix, already encoded for a path.
#[derive(Debug)]
pub struct AddPrefix {
    encoded_prefix: String,
}

impl AddPrefix {
    /// The new path for `path` (encoded, as the request carries it).
    pub fn prefixed(&self, path: &str) -> String {
        let joined = format!("{}{path}", self.encoded_prefix);
        uri::with_leading_slash(&joined).into_owned()
    }
}

impl Middleware for AddPrefix {
    /// Request-only: the gateway skips the response hook (one call per request saved).
    fn wants_response_hook(&self) -> bool {
        false
    }

    fn from_config(config: &str) -> Result<Self, String> {
        let options: Options = options::parse(config)?;
        if options.prefix.as_str().is_empty() {
            return Err("prefix: required, and must not be empty".to_string());
        }
        Ok(AddPrefix {
            encoded_prefix: uri::escape_path(options.prefix.as_str().as_bytes()),
        })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let path = self.prefixed(&req.path());
        if let Err(e) = req.set_path(&path) {
            plugin_sdk::warn!("addPrefix: path {path:?} refused: {e}");
        }
        Action::Continue
    }
}

plugin_sdk::export_middleware!(AddPrefix);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest};

    fn run(config: &str, target: &str) -> TestRequest {
        testing::continued_get::<AddPrefix>(config, target)
    }

    #[test]
    fn the_prefix_goes_in_front_of_the_path_and_the_query_stays() {
        let req = run(r#"{"prefix": "/foo"}"#, "/bar?x=1");
        assert_eq!(req.path, "/foo/bar");
        assert_eq!(req.query.as_deref(), Some("x=1"));
        assert_eq!(run(r#"{"prefix": "/foo"}"#, "/").path, "/foo/");
        assert_eq!(run(r#"{"prefix": "/foo/"}"#, "/bar").path, "/foo//bar");
    }

    #[test]
    fn a_prefix_without_a_leading_slash_still_gives_one() {
        assert_eq!(run(r#"{"prefix": "api"}"#, "/users").path, "/api/users");
    }

    #[test]
    fn the_prefix_is_encoded_and_the_path_keeps_its_encoding() {
        assert_eq!(
            run(r#"{"prefix": "/my app"}"#, "/a%2Fb").path,
            "/my%20app/a%2Fb"
        );
        assert_eq!(run(r#"{"prefix": "/café"}"#, "/x").path, "/caf%C3%A9/x");
    }

    #[test]
    fn a_number_is_a_prefix_too() {
        assert_eq!(run(r#"{"prefix": 2024}"#, "/x").path, "/2024/x");
    }

    #[test]
    fn a_missing_empty_or_mistyped_prefix_is_a_config_error() {
        for config in ["{}", r#"{"prefix": ""}"#, r#"{"prefix": null}"#] {
            assert_eq!(
                testing::validate_config::<AddPrefix>(config),
                Err("prefix: required, and must not be empty".to_string()),
                "{config}"
            );
        }
        assert_eq!(
            testing::validate_config::<AddPrefix>(r#"{"prefixes": ["/a"]}"#),
            Err(r#"unknown option "prefixes" (known: "prefix")"#.to_string())
        );
        assert_eq!(
            testing::validate_config::<AddPrefix>(r#"{"prefix": ["/a"]}"#),
            Err("prefix: expected text, got a list".to_string())
        );
    }
}
