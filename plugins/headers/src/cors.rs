//! Traefik's CORS options: the preflight answer and the headers added to every response.
//!
//! Semantics follow Traefik v3 (`pkg/middlewares/headers/header.go`):
//! - a request is a preflight when CORS is configured (any option below set), its method is
//!   `OPTIONS` and it carries both `Origin` and `Access-Control-Request-Method`; the plugin answers
//!   it with 200 and `Access-Control-Allow-Credentials` (if set), `-Allow-Headers` and
//!   `-Allow-Methods` (joined with `,`, if non-empty), `-Allow-Origin` (if the origin is allowed)
//!   and `Access-Control-Max-Age` (always, `0` by default); the upstream is not contacted;
//! - every other response gets `Access-Control-Allow-Origin` when the request's `Origin` is
//!   allowed (`*` in the list allows any origin, also a missing one, and is sent as `*`; a list
//!   entry equal to the origin or a matching `accessControlAllowOriginListRegex` sends the
//!   origin), `-Allow-Credentials: true` if set, `-Expose-Headers` if non-empty, and with
//!   `addVaryHeader` `Origin` appended to the first `Vary` value unless it is exactly `Origin`.
//!
//! Regexes use Go's RE2 syntax (ASCII `\d`, `\w`, `\s`) and match anywhere in the origin, as
//! Go's `MatchString` does: anchor them (`^https://.*\.example\.com$`) to match whole origins.

use plugin_sdk::{Reply, Request};
use regex_lite::{Regex, RegexBuilder};
use serde_json::Value;

use crate::json::{boolean, header_value, integer, joined_header_value, string_list};
use crate::sink::HeaderSink;

/// Deepest nesting of groups, repetitions and classes an origin regex may have (regex-lite's
/// default is 50). The plugin runs on a 16 KiB guest stack and regex-lite's parser and compiler
/// recurse once per level: 49 nested groups exhausted it (a trap at config load) where 32 leave
/// a third of it free. Real origin patterns nest a level or two.
pub const ORIGIN_REGEX_NEST_LIMIT: u32 = 32;

const ALLOW_CREDENTIALS: &str = "access-control-allow-credentials";
const ALLOW_HEADERS: &str = "access-control-allow-headers";
const ALLOW_METHODS: &str = "access-control-allow-methods";
const ALLOW_ORIGIN: &str = "access-control-allow-origin";
const EXPOSE_HEADERS: &str = "access-control-expose-headers";
const MAX_AGE: &str = "access-control-max-age";

/// A compiled `accessControlAllowOriginListRegex` entry; compares by its source text.
#[derive(Debug, Clone)]
pub struct OriginRegex(Regex);

impl PartialEq for OriginRegex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for OriginRegex {}

/// The CORS options. All default to off / empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    /// `accessControlAllowCredentials`.
    pub allow_credentials: bool,
    /// `accessControlAllowHeaders`, joined with `,`.
    pub allow_headers: String,
    /// `accessControlAllowMethods`, joined with `,`.
    pub allow_methods: String,
    /// `accessControlAllowOriginList`.
    pub allow_origins: Vec<String>,
    /// `accessControlAllowOriginListRegex`.
    pub allow_origin_regexes: Vec<OriginRegex>,
    /// `accessControlExposeHeaders`, joined with `,`.
    pub expose_headers: String,
    /// `accessControlMaxAge`, seconds.
    pub max_age: i64,
    /// `addVaryHeader`.
    pub add_vary_header: bool,
    /// Whether any option above is set (Traefik's `HasCorsHeadersDefined`): only then are
    /// preflights answered by the plugin.
    pub defined: bool,
}

impl Cors {
    /// The option names this module reads.
    pub const OPTIONS: &'static [&'static str] = &[
        "accessControlAllowCredentials",
        "accessControlAllowHeaders",
        "accessControlAllowMethods",
        "accessControlAllowOriginList",
        "accessControlAllowOriginListRegex",
        "accessControlExposeHeaders",
        "accessControlMaxAge",
        "addVaryHeader",
    ];

    /// Reads one option (a name from [`Cors::OPTIONS`]).
    pub fn set(&mut self, option: &str, value: Value) -> Result<(), String> {
        match option {
            "accessControlAllowCredentials" => self.allow_credentials = boolean(option, value)?,
            "accessControlAllowHeaders" => self.allow_headers = joined_header_value(option, value)?,
            "accessControlAllowMethods" => self.allow_methods = joined_header_value(option, value)?,
            "accessControlAllowOriginList" => {
                self.allow_origins = string_list(option, value)?
                    .into_iter()
                    .enumerate()
                    .map(|(i, origin)| {
                        header_value(&format!("{option}[{i}]"), Value::String(origin))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "accessControlAllowOriginListRegex" => {
                self.allow_origin_regexes = string_list(option, value)?
                    .iter()
                    .enumerate()
                    .map(|(i, source)| {
                        RegexBuilder::new(source)
                            .nest_limit(ORIGIN_REGEX_NEST_LIMIT)
                            .build()
                            .map(OriginRegex)
                            .map_err(|e| {
                                format!("{option}[{i}]: invalid regular expression {source:?}: {e}")
                            })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "accessControlExposeHeaders" => {
                self.expose_headers = joined_header_value(option, value)?;
            }
            "accessControlMaxAge" => self.max_age = integer(option, value)?,
            "addVaryHeader" => self.add_vary_header = boolean(option, value)?,
            _ => return Err(format!("unknown option {option:?}")),
        }
        Ok(())
    }

    /// Called once every option is read: works out [`Cors::defined`].
    pub fn finish(&mut self) {
        self.defined = self.allow_credentials
            || !self.allow_headers.is_empty()
            || !self.allow_methods.is_empty()
            || !self.allow_origins.is_empty()
            || !self.allow_origin_regexes.is_empty()
            || !self.expose_headers.is_empty()
            || self.max_age != 0
            || self.add_vary_header;
    }

    /// Whether responses may get `Access-Control-Allow-Origin` (so the request's `Origin` is
    /// worth reading).
    pub fn checks_origin(&self) -> bool {
        !self.allow_origins.is_empty() || !self.allow_origin_regexes.is_empty()
    }

    /// The `Access-Control-Allow-Origin` value for `origin` (empty when the request has none),
    /// or `None` when it is not allowed. No allocation.
    pub fn allowed_origin<'a>(&'a self, origin: &'a str) -> Option<&'a str> {
        if let Some(item) = self
            .allow_origins
            .iter()
            .find(|item| *item == "*" || *item == origin)
        {
            return Some(item);
        }
        self.allow_origin_regexes
            .iter()
            .any(|r| r.0.is_match(origin))
            .then_some(origin)
    }

    /// The plugin's answer to a CORS preflight, or `None` when `req` is not one. Costs up to
    /// three header reads, and only when CORS is configured.
    pub fn preflight(&self, req: &Request<'_>) -> Option<Reply> {
        if !self.defined || req.method() != "OPTIONS" {
            return None;
        }
        let requested_method = req.header("access-control-request-method")?;
        let origin = req.header_str("origin")?;
        if requested_method.is_empty() || origin.is_empty() {
            return None;
        }
        let mut reply = Reply::new(200);
        if self.allow_credentials {
            reply = reply.header(ALLOW_CREDENTIALS, "true");
        }
        if !self.allow_headers.is_empty() {
            reply = reply.header(ALLOW_HEADERS, &self.allow_headers);
        }
        if !self.allow_methods.is_empty() {
            reply = reply.header(ALLOW_METHODS, &self.allow_methods);
        }
        if let Some(allowed) = self.allowed_origin(&origin) {
            reply = reply.header(ALLOW_ORIGIN, allowed);
        }
        Some(reply.header(MAX_AGE, self.max_age.to_string()))
    }

    /// Adds the CORS response headers for a request whose `Origin` is `origin` (`None`: absent
    /// or not read because no origin list is configured).
    pub fn apply(&self, origin: Option<&str>, head: &mut impl HeaderSink) {
        if self.checks_origin()
            && let Some(allowed) = self.allowed_origin(origin.unwrap_or(""))
        {
            head.set(ALLOW_ORIGIN, allowed.as_bytes());
        }
        if self.allow_credentials {
            head.set(ALLOW_CREDENTIALS, b"true");
        }
        if !self.expose_headers.is_empty() {
            head.set(EXPOSE_HEADERS, self.expose_headers.as_bytes());
        }
        if self.add_vary_header {
            let vary = head.get("vary").unwrap_or_default();
            if vary != b"Origin" {
                let mut value = vary;
                if !value.is_empty() {
                    value.push(b',');
                }
                value.extend_from_slice(b"Origin");
                head.set("vary", &value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(json: &str) -> Cors {
        let Value::Object(options) = serde_json::from_str(json).unwrap() else {
            panic!("not an object")
        };
        let mut cors = Cors::default();
        for (option, value) in options {
            cors.set(&option, value).unwrap();
        }
        cors.finish();
        cors
    }

    #[test]
    fn an_origin_regex_nested_past_the_limit_is_a_config_error_not_a_deep_compile() {
        let nested = |levels: usize| format!("{}a{}", "(".repeat(levels), ")".repeat(levels));
        let option = "accessControlAllowOriginListRegex";
        let mut c = Cors::default();
        let at_limit = vec![nested(ORIGIN_REGEX_NEST_LIMIT as usize)];
        assert_eq!(c.set(option, Value::from(at_limit)), Ok(()));
        let too_deep = vec![nested(ORIGIN_REGEX_NEST_LIMIT as usize + 1)];
        let err = c
            .set(option, Value::from(too_deep))
            .expect_err("one level past the limit");
        assert!(err.contains("too much nesting"), "{err}");
    }

    #[test]
    fn origins_match_by_list_wildcard_or_regex() {
        let c = cors(
            r#"{"accessControlAllowOriginList": ["https://a.test"],
                "accessControlAllowOriginListRegex": ["^https://.*\\.b\\.test$"]}"#,
        );
        assert_eq!(c.allowed_origin("https://a.test"), Some("https://a.test"));
        assert_eq!(
            c.allowed_origin("https://x.b.test"),
            Some("https://x.b.test")
        );
        assert_eq!(c.allowed_origin("https://evil.test"), None);
        assert_eq!(c.allowed_origin(""), None);
        let any = cors(r#"{"accessControlAllowOriginList": ["*"]}"#);
        assert_eq!(any.allowed_origin("https://z.test"), Some("*"));
        assert_eq!(
            any.allowed_origin(""),
            Some("*"),
            "Traefik allows a missing origin with *"
        );
    }

    #[test]
    fn regexes_are_unanchored_like_go_match_string() {
        let c = cors(r#"{"accessControlAllowOriginListRegex": ["b\\.test"]}"#);
        assert!(c.allowed_origin("https://evil-b.test.example").is_some());
    }

    #[test]
    fn any_option_defines_cors_and_an_empty_config_does_not() {
        assert!(!cors("{}").defined);
        for json in [
            r#"{"accessControlAllowCredentials": true}"#,
            r#"{"accessControlMaxAge": 10}"#,
            r#"{"addVaryHeader": true}"#,
            r#"{"accessControlAllowMethods": ["GET"]}"#,
            r#"{"accessControlAllowOriginListRegex": ["x"]}"#,
        ] {
            assert!(cors(json).defined, "{json}");
        }
        assert!(!cors(r#"{"accessControlAllowCredentials": false}"#).defined);
    }

    #[test]
    fn vary_gets_origin_appended_unless_it_is_exactly_origin() {
        let c = cors(r#"{"addVaryHeader": true}"#);
        let mut reply = Reply::new(200);
        c.apply(None, &mut reply);
        assert_eq!(reply.get_header("vary"), Some(&b"Origin"[..]));
        let mut reply = Reply::new(200).header("vary", "Accept-Encoding");
        c.apply(None, &mut reply);
        assert_eq!(
            reply.get_header("vary"),
            Some(&b"Accept-Encoding,Origin"[..])
        );
        let mut reply = Reply::new(200).header("vary", "Origin");
        c.apply(None, &mut reply);
        assert_eq!(reply.headers.len(), 1);
    }

    #[test]
    fn bad_values_name_the_option() {
        let mut c = Cors::default();
        let err = c.set(
            "accessControlAllowOriginListRegex",
            serde_json::json!(["ok", "(unclosed"]),
        );
        assert!(
            err.as_ref()
                .is_err_and(|e| e.starts_with("accessControlAllowOriginListRegex[1]: invalid")),
            "{err:?}"
        );
        assert_eq!(
            c.set("accessControlMaxAge", serde_json::json!("ten")),
            Err("accessControlMaxAge: must be a number, got a string".to_string())
        );
        assert_eq!(
            c.set("accessControlAllowMethods", serde_json::json!(["GET", 1])),
            Err("accessControlAllowMethods[1]: must be a string, got a number".to_string())
        );
        assert!(
            c.set("accessControlAllowOriginList", serde_json::json!(["a\nb"]))
                .is_err_and(|e| e.starts_with("accessControlAllowOriginList[0]: invalid header"))
        );
    }
}
