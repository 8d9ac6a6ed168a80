//! What the tracer reads from and writes to HTTP heads: the W3C `traceparent` / `tracestate`
//! headers (through the propagator's extractor and injector traits), captured header values
//! and the query with its unsafe values redacted, as Traefik records them. Runs per traced
//! request only.

use std::fmt::Write;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::{Array, Key, KeyValue, StringValue, Value};

/// Reads trace-context headers from a request head.
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// Writes trace-context headers into the upstream request, replacing the client's.
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// A header to record, with its attribute key built once (`http.request.header.x-id`).
#[derive(Debug)]
pub struct Captured {
    name: HeaderName,
    key: Key,
}

impl Captured {
    /// `names` are lower case (the config made them so); invalid ones were refused at load.
    /// `user-agent` is skipped on requests: it is recorded as `user_agent.original` already.
    pub fn list(prefix: &str, names: &[String]) -> Box<[Captured]> {
        names
            .iter()
            .filter(|n| !(prefix == "http.request.header." && n.as_str() == "user-agent"))
            .filter_map(|n| {
                let name = HeaderName::from_bytes(n.as_bytes()).ok()?;
                Some(Captured {
                    key: Key::from(format!("{prefix}{n}")),
                    name,
                })
            })
            .collect()
    }
}

/// The captured headers present in `headers`, each as a string-array attribute.
pub fn captured(list: &[Captured], headers: &HeaderMap, out: &mut Vec<KeyValue>) {
    for c in list {
        let values: Vec<StringValue> = headers
            .get_all(&c.name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| StringValue::from(v.to_string()))
            .collect();
        if !values.is_empty() {
            out.push(KeyValue::new(
                c.key.clone(),
                Value::Array(Array::String(values)),
            ));
        }
    }
}

/// The query with every value whose name is not in `safe` replaced by `REDACTED` (Traefik's
/// `safeQueryParams`). Names keep their order; a name without `=` stays as it is.
pub fn redacted_query(query: &str, safe: &[String]) -> String {
    let mut out = String::with_capacity(query.len());
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((name, value)) => {
                let keep = safe.iter().any(|s| s == name);
                let _ = write!(out, "{name}={}", if keep { value } else { "REDACTED" });
            }
            None => out.push_str(pair),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redacted_query;

    #[test]
    fn query_values_are_redacted_unless_safe() {
        let safe = vec!["page".to_string()];
        assert_eq!(
            redacted_query("page=2&token=abc&flag", &safe),
            "page=2&token=REDACTED&flag"
        );
        assert_eq!(redacted_query("a=1", &[]), "a=REDACTED");
    }
}
