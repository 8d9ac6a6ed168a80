//! `servers[].preservePath`: the path of a server URL put before the request's path.
//!
//! By default the path in a server URL is not used (Traefik's rule: use a middleware such as
//! `addPrefix` to send requests to a sub-path). With `preservePath: true` Traefik joins the two
//! with exactly one slash between them (Go's `singleJoiningSlash`), and so does this. The
//! prefix is taken from the URL once, at config time; per request it costs one small string
//! and only on servers that ask for it.

use http::Request;
use http::uri::{PathAndQuery, Uri};
use std::sync::Arc;

/// The path of `url` to keep, or `None` when there is nothing to put before a request path
/// (no path, or `/`).
pub fn prefix_of(url: &Uri) -> Option<Arc<str>> {
    let path = url.path();
    (!path.is_empty() && path != "/").then(|| Arc::from(path))
}

/// Puts `prefix` before the request's path (the query is kept as it is).
pub fn apply<B>(prefix: &str, req: &mut Request<B>) {
    let joined = {
        let (path, query) = match req.uri().path_and_query() {
            Some(pq) => (pq.path(), pq.query()),
            None => ("/", None),
        };
        let mut joined = join(prefix, path);
        if let Some(query) = query {
            joined.push('?');
            joined.push_str(query);
        }
        joined
    };
    // Both halves are already valid URI paths, so their join is one too; should it not parse,
    // the request keeps its own path rather than failing.
    if let Ok(pq) = PathAndQuery::try_from(joined) {
        let mut parts = req.uri().clone().into_parts();
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
}

/// `a` and `b` with exactly one `/` between them.
fn join(a: &str, b: &str) -> String {
    let mut out = String::with_capacity(a.len() + b.len() + 1);
    match (a.ends_with('/'), b.starts_with('/')) {
        (true, true) => {
            out.push_str(a);
            out.push_str(&b[1..]);
        }
        (false, false) => {
            out.push_str(a);
            out.push('/');
            out.push_str(b);
        }
        _ => {
            out.push_str(a);
            out.push_str(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(server: &str, request: &str) -> String {
        let prefix = prefix_of(&server.parse().unwrap()).expect("a prefix");
        let mut req = Request::builder().uri(request).body(()).unwrap();
        apply(&prefix, &mut req);
        req.uri().to_string()
    }

    #[test]
    fn one_slash_between_the_server_path_and_the_request_path() {
        assert_eq!(forwarded("http://b/api", "/users?id=1"), "/api/users?id=1");
        assert_eq!(forwarded("http://b/api/", "/users"), "/api/users");
        assert_eq!(forwarded("http://b/api/", "/"), "/api/");
        assert_eq!(forwarded("http://b/a%2Fb", "/x"), "/a%2Fb/x");
    }

    #[test]
    fn a_server_url_without_a_path_has_no_prefix() {
        assert!(prefix_of(&"http://b".parse().unwrap()).is_none());
        assert!(prefix_of(&"http://b/".parse().unwrap()).is_none());
    }
}
