//! Traefik's list parameters: paging (`page`, `per_page`, the `X-Next-Page` header) and the
//! `search`, `status`, `serviceName` and `middlewareName` filters.

use std::collections::BTreeMap;

use http::StatusCode;
use serde_json::Value;

use super::InternalReply;

const DEFAULT_PER_PAGE: usize = 100;

/// The query parameters of a list request.
#[derive(Debug, Default)]
pub struct Criteria {
    search: Option<String>,
    status: Option<String>,
    service_name: Option<String>,
    middleware_name: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
}

impl Criteria {
    pub fn from_query(query: Option<&str>) -> Criteria {
        let mut criteria = Criteria::default();
        for pair in query.unwrap_or_default().split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = Some(percent_decode(value));
            match key {
                "search" => criteria.search = value,
                "status" => criteria.status = value,
                "serviceName" => criteria.service_name = value,
                "middlewareName" => criteria.middleware_name = value,
                "page" => criteria.page = value,
                "per_page" => criteria.per_page = value,
                _ => {}
            }
        }
        criteria
    }

    /// Whether an entry with this status passes `status=` (any case).
    pub fn with_status(&self, status: &str) -> bool {
        self.status
            .as_deref()
            .is_none_or(|wanted| wanted.is_empty() || wanted.eq_ignore_ascii_case(status))
    }

    /// Whether any of `values` contains `search=` (case-insensitive).
    pub fn search_in(&self, values: &[&str]) -> bool {
        match self.search.as_deref() {
            None | Some("") => true,
            Some(search) => {
                let search = search.to_lowercase();
                values.iter().any(|v| v.to_lowercase().contains(&search))
            }
        }
    }

    /// `serviceName=`: a qualified name matches exactly, a bare one the service's own name.
    pub fn with_service(&self, qualified: &str) -> bool {
        match self.service_name.as_deref() {
            None | Some("") => true,
            Some(wanted) if wanted.contains('@') => wanted == qualified,
            Some(wanted) => qualified.split('@').next() == Some(wanted),
        }
    }

    /// `middlewareName=`: one of the router's (qualified) middlewares.
    pub fn with_middleware(&self, middlewares: &[String]) -> bool {
        match self.middleware_name.as_deref() {
            None | Some("") => true,
            Some(wanted) => middlewares.iter().any(|m| m == wanted),
        }
    }

    /// A listing of documents filtered by name only (services, middlewares): the page asked
    /// for of those `search` matches.
    pub fn page_by_name(&self, documents: &BTreeMap<String, Value>) -> InternalReply {
        let items = documents
            .iter()
            .filter(|(name, _)| self.with_status("enabled") && self.search_in(&[name.as_str()]))
            .map(|(_, doc)| doc.clone())
            .collect();
        self.page(items)
    }

    /// A listing of TCP or UDP routers: `search` over rule (when the router has one) and
    /// name, and `serviceName`.
    pub fn page_of_l4_routers(&self, routers: &BTreeMap<String, Value>) -> InternalReply {
        let items = routers
            .iter()
            .filter(|(name, doc)| {
                let rule = doc["rule"].as_str().unwrap_or_default();
                let service = doc["service"].as_str().unwrap_or_default();
                self.with_status("enabled")
                    && self.search_in(&[rule, name.as_str()])
                    && self.with_service(service)
            })
            .map(|(_, doc)| doc.clone())
            .collect();
        self.page(items)
    }

    /// The page of `items` asked for, with `X-Next-Page`; 400 for a page past the end or a
    /// parameter that is not a positive number (Traefik's messages).
    pub fn page(&self, items: Vec<serde_json::Value>) -> InternalReply {
        let number = |raw: &Option<String>, key: &str, default: usize| match raw.as_deref() {
            None | Some("") => Ok(default),
            Some(text) => match text.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("invalid request: {key}: {text}")),
            },
        };
        let parsed = number(&self.per_page, "per_page", DEFAULT_PER_PAGE)
            .and_then(|per_page| Ok((per_page, number(&self.page, "page", 1)?)));
        let (per_page, page) = match parsed {
            Ok(values) => values,
            Err(message) => return bad_request(message),
        };
        let start = (page - 1).saturating_mul(per_page);
        if start != 0 && start >= items.len() {
            return bad_request(format!(
                "invalid request: page: {page}, per_page: {per_page}"
            ));
        }
        let end = start.saturating_add(per_page).min(items.len());
        let next = if page.saturating_mul(per_page) < items.len() {
            page + 1
        } else {
            1
        };
        let slice = items.get(start..end).map(<[_]>::to_vec).unwrap_or_default();
        let mut reply = InternalReply::json(StatusCode::OK, &serde_json::Value::Array(slice));
        reply.headers.push(("x-next-page", next.to_string()));
        reply
    }
}

fn bad_request(message: String) -> InternalReply {
    InternalReply::json(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({ "message": message }),
    )
}

/// `%XX` and `+` decoded (query values); invalid escapes are kept as written.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<serde_json::Value> {
        (0..n).map(|i| serde_json::json!(i)).collect()
    }

    fn next_page(reply: &InternalReply) -> &str {
        &reply.headers[0].1
    }

    #[test]
    fn pages_as_traefik_does() {
        let c = Criteria::from_query(Some("per_page=2&page=2"));
        let reply = c.page(items(5));
        assert_eq!(&reply.body[..], b"[2,3]\n");
        assert_eq!(next_page(&reply), "3");
        let last = Criteria::from_query(Some("per_page=2&page=3")).page(items(5));
        assert_eq!(&last.body[..], b"[4]\n");
        assert_eq!(next_page(&last), "1");
        let past = Criteria::from_query(Some("per_page=2&page=4")).page(items(5));
        assert_eq!(past.status, StatusCode::BAD_REQUEST);
        let zero = Criteria::from_query(Some("per_page=0")).page(items(5));
        assert_eq!(zero.status, StatusCode::BAD_REQUEST);
        let empty = Criteria::from_query(None).page(Vec::new());
        assert_eq!((&empty.body[..], next_page(&empty)), (&b"[]\n"[..], "1"));
    }

    #[test]
    fn filters_read_their_parameters() {
        let c = Criteria::from_query(Some("search=Api%20x&status=Enabled&serviceName=app"));
        assert!(c.search_in(&["the API X router"]));
        assert!(!c.search_in(&["other"]));
        assert!(c.with_status("enabled"));
        assert!(c.with_service("app@file"));
        assert!(!c.with_service("apps@file"));
        assert_eq!(percent_decode("a%2Fb+c%zz"), "a/b c%zz");
    }
}
