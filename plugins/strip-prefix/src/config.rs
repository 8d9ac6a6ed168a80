//! The `stripPrefix` options, checked once at `validate-config` / `init`.

use plugin_sdk::rules::check_header_value;
use serde::Deserialize;

use crate::options::{self, Flag, TextList};

/// Traefik's `stripPrefix` options, as written in the dynamic config.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct Options {
    /// Prefixes to strip; the first that the path starts with wins. Default: none (the
    /// middleware then changes nothing, as in Traefik).
    prefixes: TextList,
    /// Deprecated in Traefik v3 and off by default: when on, a path that was exactly the prefix
    /// becomes `/` for later middlewares too.
    force_slash: Flag,
}

/// One prefix to strip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefix {
    /// Compared with the start of the decoded path, as configured.
    pub text: String,
    /// `X-Forwarded-Prefix` value: the prefix trimmed of surrounding white space, as Traefik
    /// sends it.
    pub header: String,
}

/// The parsed config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StripPrefixConfig {
    pub prefixes: Vec<Prefix>,
    pub force_slash: bool,
}

impl StripPrefixConfig {
    /// Parses the middleware's JSON config; refuses unknown options and prefixes that cannot be
    /// sent in `X-Forwarded-Prefix` (control characters), naming them.
    pub fn parse(config: &str) -> Result<Self, String> {
        let parsed: Options = options::parse(config)?;
        let mut prefixes = Vec::with_capacity(parsed.prefixes.0.len());
        for (i, text) in parsed.prefixes.0.into_iter().enumerate() {
            let header = text.trim().to_string();
            check_header_value(header.as_bytes()).map_err(|_| {
                format!("prefixes[{i}]: {text:?} cannot be sent in X-Forwarded-Prefix")
            })?;
            prefixes.push(Prefix { text, header });
        }
        Ok(StripPrefixConfig {
            prefixes,
            force_slash: parsed.force_slash.0,
        })
    }
}
