//! Bundled plugin `redirect-regex`: Traefik's `redirectRegex` middleware.
//!
//! Options:
//! - `regex` (text, required, a Go regular expression): matched against the request's full URL,
//!   `scheme://host[:port]/path?query`, as Traefik builds it (scheme `https` when the client
//!   connection is TLS, else `http`; host and port exactly as in the `Host` header);
//! - `replacement` (text, required): the URL to redirect to; every match in the URL is replaced
//!   with it, `$1`, `${1}`, `$name` and `${name}` inserting capture groups, `$$` a `$`;
//! - `permanent` (boolean, default `false`): 301 instead of 302 for `GET`, 308 instead of 307
//!   for every other method.
//!
//! When the expression does not match, or the rewritten URL is the same as the original, the
//! request goes on; otherwise the client is redirected to the rewritten URL.
//!
//! ```yaml
//! http:
//!   middlewares:
//!     test-redirectregex:
//!       redirectRegex:
//!         regex: "^http://localhost/(.*)"
//!         replacement: "http://mydomain/${1}"
//! ```
//!
//! Unlike `replacePathRegex`, neither option is trimmed (as in Traefik). An expression that does
//! not compile, and a missing `regex` or `replacement`, are config errors (Traefik would redirect
//! every request to an empty location); a rewritten URL with control characters is answered
//! with 500, as Traefik answers a URL it cannot parse.
//!
//! Cost per request: four host calls (scheme, authority, path, query), one string build and one
//! regex search; the replacement and the reply only when redirecting.

use go_regex::Regex;
use plugin_sdk::{Action, Middleware, Request};
use serde::Deserialize;
use traefik_options::{go_regex, options, redirect};

use options::{Flag, Text};

/// Traefik's `redirectRegex` options, as written in the dynamic config.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct Options {
    regex: Text,
    replacement: Text,
    permanent: Flag,
}

/// The `redirectRegex` middleware: the compiled expression, the replacement template, the kind
/// of redirect.
#[derive(Debug)]
pub struct RedirectRegex {
    regex: Regex,
    replacement: String,
    permanent: bool,
}

impl RedirectRegex {
    /// Where to redirect a request whose full URL is `url`, or `None` to let it go on.
    pub fn target(&self, url: &str) -> Option<String> {
        if !self.regex.is_match(url) {
            return None;
        }
        let rewritten = self.regex.replace_all(url, self.replacement.as_str());
        (rewritten != url).then(|| rewritten.into_owned())
    }
}

/// The request URL as Traefik's `redirectRegex` sees it.
pub fn request_url(tls: bool, authority: &str, path: &str, query: Option<&str>) -> String {
    let scheme = if tls { "https" } else { "http" };
    match query {
        Some(query) => format!("{scheme}://{authority}{path}?{query}"),
        None => format!("{scheme}://{authority}{path}"),
    }
}

impl Middleware for RedirectRegex {
    /// Request-only: the gateway skips the response hook (one call per request saved).
    fn wants_response_hook(&self) -> bool {
        false
    }

    fn from_config(config: &str) -> Result<Self, String> {
        let options: Options = options::parse(config)?;
        if options.regex.as_str().is_empty() {
            return Err("regex: required (the expression the request URL must match)".to_string());
        }
        if options.replacement.as_str().is_empty() {
            return Err("replacement: required (the URL to redirect to)".to_string());
        }
        let regex = go_regex::compile(options.regex.as_str()).map_err(|e| format!("regex: {e}"))?;
        Ok(RedirectRegex {
            regex,
            replacement: options.replacement.0,
            permanent: options.permanent.0,
        })
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let authority = req.authority().unwrap_or_default();
        let url = request_url(
            req.is_tls(),
            &authority,
            &req.path(),
            req.query().as_deref(),
        );
        match self.target(&url) {
            Some(location) => {
                Action::Respond(redirect::reply(&req.method(), self.permanent, &location))
            }
            None => Action::Continue,
        }
    }
}

plugin_sdk::export_middleware!(RedirectRegex);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestRequest};

    /// Regex, replacement, permanent, request, and the expected status and `Location`.
    type Case<'a> = (&'a str, &'a str, bool, TestRequest, Option<(u16, &'a str)>);

    /// The status and `Location` for a request, or `None` when it goes on unchanged.
    fn redirect(config: &str, req: TestRequest) -> Option<(u16, String)> {
        let mw = testing::instance::<RedirectRegex>(config).unwrap_or_else(|e| panic!("{e}"));
        let mut req = req;
        let before = req.clone();
        let action = testing::on_request(&mw, &mut req);
        assert_eq!(req, before, "the request itself is never edited");
        action.reply().map(|r| {
            let location = r
                .get_header("location")
                .map(|l| String::from_utf8_lossy(l).into_owned());
            (r.status, location.unwrap_or_default())
        })
    }

    fn config(regex: &str, replacement: &str, permanent: bool) -> String {
        format!(
            r#"{{"regex": {regex:?}, "replacement": {replacement:?}, "permanent": {permanent}}}"#
        )
    }

    #[test]
    fn traefik_test_cases() {
        let cases: &[Case<'_>] = &[
            (
                r"^(?:http?:\/\/)(foo)(\.com)(:\d+)(.*)$",
                "https://${1}bar$2:443$4",
                false,
                TestRequest::get("/").authority("foo.com:80"),
                Some((302, "https://foobar.com:443/")),
            ),
            (
                r"^(?:http?:\/\/)(foo)(\.com)(:\d+)(.*)$",
                "https://${1}bar$2:443$4",
                true,
                TestRequest::get("/").authority("foo.com:80"),
                Some((301, "https://foobar.com:443/")),
            ),
            (
                r"^(?:http?:\/\/)(foo)(\.com)(:\d+)(.*)$",
                "https://${1}bar$2:443$4",
                false,
                TestRequest::post("/").authority("foo.com:80"),
                Some((307, "https://foobar.com:443/")),
            ),
            (
                r"^(?:http?:\/\/)(foo)(\.com)(:\d+)(.*)$",
                "https://${1}bar$2:443$4",
                true,
                TestRequest::post("/").authority("foo.com:80"),
                Some((308, "https://foobar.com:443/")),
            ),
            (
                r"^(?:http?:\/\/)(foo)(\.com)(:\d+)(.*)$",
                "https://${1}bar$2:443$4",
                false,
                TestRequest::get("/").authority("foo.com"),
                None,
            ),
            (
                r"^http://foo.com(?::\d+)?/(.*)$",
                "https://$1",
                false,
                TestRequest::get("/x/y").authority("foo.com"),
                Some((302, "https://x/y")),
            ),
            (
                r"^https://(.*)$",
                "http://$1",
                false,
                TestRequest::get("/p").authority("foo.com").tls(true),
                Some((302, "http://foo.com/p")),
            ),
            (
                r"^http://(.*)\?(.*)$",
                "http://$1?x=$2",
                false,
                TestRequest::get("/p?a=1").authority("foo.com"),
                Some((302, "http://foo.com/p?x=a=1")),
            ),
            (
                r"^(.*)$",
                "$1",
                false,
                TestRequest::get("/p").authority("foo.com"),
                None,
            ),
            (
                r"^http://bar",
                "http://x",
                false,
                TestRequest::get("/p").authority("foo.com"),
                None,
            ),
        ];
        for (regex, replacement, permanent, req, want) in cases {
            let want = want.map(|(s, l)| (s, l.to_string()));
            assert_eq!(
                redirect(&config(regex, replacement, *permanent), req.clone()),
                want,
                "{regex} {req:?}"
            );
        }
    }

    #[test]
    fn the_url_is_built_as_traefik_builds_it() {
        assert_eq!(
            request_url(false, "a:81", "/p", Some("q=1")),
            "http://a:81/p?q=1"
        );
        assert_eq!(request_url(true, "a", "/", None), "https://a/");
    }

    #[test]
    fn options_are_not_trimmed() {
        let with_space = config("^http://a/(.*)", " http://b/$1", false);
        assert_eq!(
            redirect(&with_space, TestRequest::get("/x").authority("a")),
            Some((302, " http://b/x".to_string()))
        );
    }

    #[test]
    fn bad_configs_are_errors_naming_the_option() {
        let err = testing::validate_config::<RedirectRegex>(&config("^http://(", "x", false))
            .err()
            .unwrap_or_default();
        assert!(
            err.starts_with(r#"regex: invalid regular expression "^http://(": "#),
            "{err}"
        );
        let cases = [
            (
                r#"{"replacement": "x"}"#,
                "regex: required (the expression the request URL must match)",
            ),
            (
                r#"{"regex": "x"}"#,
                "replacement: required (the URL to redirect to)",
            ),
            (
                r#"{"regex": "x", "replacement": "y", "permanent": 2}"#,
                "permanent: expected true or false, got 2",
            ),
            (
                r#"{"regex": "x", "replacment": "y"}"#,
                r#"unknown option "replacment" (known: "regex", "replacement", "permanent")"#,
            ),
        ];
        for (config, want) in cases {
            assert_eq!(
                testing::validate_config::<RedirectRegex>(config),
                Err(want.to_string()),
                "{config}"
            );
        }
    }
}
