//! Traefik's option semantics, shared by the bundled plugins that reimplement Traefik
//! middlewares. A normal library: it exports no component (only the plugin crates call
//! `export_middleware!`), so each plugin links just the modules it uses and the tests here run
//! once.
//!
//! - [`options`]: option types read from the JSON the gateway hands a plugin, as Traefik's file
//!   provider reads YAML (a number or boolean is also text, Go's `ParseBool`, lists of scalars),
//!   unknown options refused by name. Used by the request-rewriting plugins and `contentType`.
//! - [`auth_options`]: the options `basicAuth` and `digestAuth` share (users list, realm,
//!   `removeHeader`, `headerField`).
//! - [`go_regex`] (feature `go-regex`): Go (RE2) patterns compiled with the `regex` crate with
//!   Go's meaning. Only the regex plugins turn the feature on, so the others carry no regex code.
//! - [`go_duration`]: Go's `time.Duration` text (`rateLimit.period`, `retry.initialInterval`).
//! - [`uri`]: Go's `net/url` path encoding rules, for the path plugins.
//! - [`redirect`]: the reply of Traefik's redirect middlewares.
//! - [`go_duration`]: Go's duration text (`10s`, `1m30s`), as Traefik reads duration options.
//! - [`status_text`]: Go's `http.StatusText`, the body of a middleware's own replies.
//! - [`json_text`]: a refused option's JSON value named in its error, without serde_json's
//!   float printer.
//!
//! Everything here runs at `validate-config` / `init`, except [`uri`], [`redirect`] and matching
//! a compiled regex, which run per request; each module says what it costs.

pub mod auth_options;
pub mod go_duration;
#[cfg(feature = "go-regex")]
pub mod go_regex;
pub mod ip_net;
pub mod ip_strategy;
pub mod json_text;
pub mod options;
pub mod redirect;
pub mod source_criterion;
pub mod status_text;
pub mod uri;
