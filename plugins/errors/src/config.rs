//! `errors`' options as Traefik v3 declares them (`dynamic.ErrorPage`), read once per instance.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use traefik_options::options::{self, Text, TextList};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct Options {
    status: TextList,
    service: Text,
    query: Text,
    status_rewrites: BTreeMap<String, Value>,
}

/// An inclusive range of status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range(pub u16, pub u16);

impl Range {
    /// `"500-599"` or `"404"` (Traefik's `HTTPCodeRanges`).
    fn parse(text: &str) -> Result<Range, String> {
        let number = |t: &str| {
            t.trim()
                .parse::<u16>()
                .map_err(|_| format!("{text:?} is not a status code or a range like 500-599"))
        };
        match text.split_once('-') {
            Some((from, to)) => Ok(Range(number(from)?, number(to)?)),
            None => {
                let code = number(text)?;
                Ok(Range(code, code))
            }
        }
    }

    fn contains(self, code: u16) -> bool {
        (self.0..=self.1).contains(&code)
    }

    pub fn any_contains(ranges: &[Range], code: u16) -> bool {
        ranges.iter().any(|r| r.contains(code))
    }
}

/// The checked configuration of one `errors` middleware.
#[derive(Debug)]
pub struct ErrorsConfig {
    pub status: Vec<Range>,
    pub service: String,
    query: String,
    rewrites: Vec<(Range, u16)>,
}

impl ErrorsConfig {
    pub fn parse(config: &str) -> Result<Self, String> {
        let o: Options = options::parse(config)?;
        let status = o
            .status
            .0
            .iter()
            .map(|s| Range::parse(s).map_err(|e| format!("status: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        if o.service.0.is_empty() {
            return Err("service: required (the service that serves the error pages)".into());
        }
        let mut rewrites = Vec::new();
        for (from, to) in &o.status_rewrites {
            let range = Range::parse(from).map_err(|e| format!("statusRewrites: {e}"))?;
            let to = to
                .as_u64()
                .or_else(|| to.as_str().and_then(|t| t.trim().parse().ok()))
                .and_then(|n| u16::try_from(n).ok())
                .filter(|n| (200..=599).contains(n))
                .ok_or_else(|| {
                    format!("statusRewrites.{from}: must be a status code in 200..=599, got {to}")
                })?;
            rewrites.push((range, to));
        }
        Ok(ErrorsConfig {
            status,
            service: o.service.0,
            query: o.query.0,
            rewrites,
        })
    }

    /// The status the page is served with: the first rewrite whose range holds `original`.
    pub fn served_status(&self, original: u16) -> u16 {
        self.rewrites
            .iter()
            .find(|(range, _)| range.contains(original))
            .map_or(original, |(_, to)| *to)
    }

    /// The page's path and query: `query` with `/` in front and its placeholders filled in.
    pub fn page_path(&self, status: u16, original: u16, url: &str) -> String {
        if self.query.is_empty() {
            return "/".to_string();
        }
        format!("/{}", self.query.trim_start_matches('/'))
            .replace("{status}", &status.to_string())
            .replace("{originalStatus}", &original.to_string())
            .replace("{url}", &query_escape(url))
    }
}

/// Go's `url.QueryEscape`.
fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// The reason phrase of common statuses (Go's `http.StatusText`), else empty.
pub fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}
