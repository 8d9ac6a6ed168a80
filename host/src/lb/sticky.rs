//! Sticky sessions by cookie: the response that first reaches a target carries
//! `Set-Cookie: <name>=<target id>`; later requests with that cookie go to the same target
//! while it is available, and are re-pinned (a new cookie) when it is not.
//!
//! Target ids are hashes of the server URL (or child service name), so cookies survive a
//! reload that keeps the target and do not reveal upstream addresses. Ids and whole
//! `Set-Cookie` values are built at config time: a request only scans its `Cookie` headers.

use http::header::{COOKIE, HeaderMap, HeaderValue, InvalidHeaderValue};
use sha2::{Digest, Sha256};

use crate::config::{SameSite, StickyCookieConfig};

#[derive(Debug)]
pub struct StickyCookie {
    name: Box<str>,
    /// Cookie value of each target.
    ids: Box<[Box<str>]>,
    /// `Set-Cookie` value pinning each target.
    set_cookie: Box<[HeaderValue]>,
}

impl StickyCookie {
    /// `targets` are stable keys of the targets (server URLs, service names), by index.
    pub fn new(config: &StickyCookieConfig, targets: &[&str]) -> Result<Self, InvalidHeaderValue> {
        let ids: Vec<Box<str>> = targets.iter().map(|t| target_id(t).into()).collect();
        let set_cookie = ids
            .iter()
            .map(|id| HeaderValue::from_str(&set_cookie_text(config, id)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StickyCookie {
            name: config.name.as_str().into(),
            ids: ids.into_boxed_slice(),
            set_cookie: set_cookie.into_boxed_slice(),
        })
    }

    /// The target the request's cookie pins, if it names one of ours.
    pub fn pinned(&self, headers: &HeaderMap) -> Option<usize> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == &*self.name)
            .find_map(|(_, value)| {
                let value = value.trim().trim_matches('"');
                self.ids.iter().position(|id| **id == *value)
            })
    }

    /// The `Set-Cookie` value pinning `target` (a cheap reference-counted clone).
    pub fn set_cookie(&self, target: usize) -> Option<HeaderValue> {
        self.set_cookie.get(target).cloned()
    }
}

/// 16 hex digits of SHA-256: unique enough among a service's targets, opaque to clients.
fn target_id(key: &str) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

fn set_cookie_text(c: &StickyCookieConfig, id: &str) -> String {
    let mut text = format!("{}={id}; Path={}", c.name, c.path);
    if let Some(domain) = &c.domain {
        text.push_str("; Domain=");
        text.push_str(domain);
    }
    if c.max_age > 0 {
        text.push_str(&format!("; Max-Age={}", c.max_age));
    }
    if c.secure {
        text.push_str("; Secure");
    }
    if c.http_only {
        text.push_str("; HttpOnly");
    }
    match c.same_site {
        Some(SameSite::None) => text.push_str("; SameSite=None"),
        Some(SameSite::Lax) => text.push_str("; SameSite=Lax"),
        Some(SameSite::Strict) => text.push_str("; SameSite=Strict"),
        None => {}
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> StickyCookieConfig {
        StickyCookieConfig {
            name: "lb".into(),
            secure: true,
            http_only: true,
            same_site: Some(SameSite::Lax),
            max_age: 60,
            path: "/".into(),
            domain: None,
        }
    }

    #[test]
    fn set_cookie_carries_every_attribute_and_pins_back() {
        let s = StickyCookie::new(&config(), &["http://a:1", "http://b:2"]).unwrap();
        let v = s.set_cookie(1).unwrap();
        let text = v.to_str().unwrap();
        assert!(text.starts_with("lb="));
        assert!(text.ends_with("; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax"));
        let pair = text.split(';').next().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_str(&format!("other=1; {pair}")).unwrap(),
        );
        assert_eq!(s.pinned(&h), Some(1));
    }

    #[test]
    fn unknown_or_missing_cookies_pin_nothing() {
        let s = StickyCookie::new(&config(), &["http://a:1"]).unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(s.pinned(&h), None);
        h.insert(COOKIE, HeaderValue::from_static("lb=0123456789abcdef"));
        assert_eq!(s.pinned(&h), None);
    }
}
