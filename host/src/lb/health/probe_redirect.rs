//! Following a health probe's redirects (`healthCheck.followRedirects`, Traefik's default
//! true, as Go's HTTP client does): a 301, 302, 303, 307 or 308 with a `Location` sends the next
//! probe there. Runs on the probe tasks only, never on the request path.

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Method, Uri};

use crate::upstream::transport::UpstreamProtocol;

/// Where one request of a probe goes.
#[derive(Debug, Clone)]
pub(crate) struct Hop {
    pub(crate) scheme: Scheme,
    pub(crate) authority: Authority,
    pub(crate) protocol: UpstreamProtocol,
    pub(crate) path: PathAndQuery,
    pub(crate) method: Method,
}

impl Hop {
    /// The next request after an answer with `status` and `location`, when it redirects:
    /// an absolute URL (http or https) goes to its host, a path stays on this one; 303, and
    /// 301/302 after a non-GET/HEAD, become GET (Go's rules).
    pub(crate) fn follow(&self, status: u16, location: Option<&HeaderValue>) -> Option<Hop> {
        if !matches!(status, 301 | 302 | 303 | 307 | 308) {
            return None;
        }
        let location = location?.to_str().ok()?;
        let method = match status {
            303 => Method::GET,
            301 | 302 if self.method != Method::GET && self.method != Method::HEAD => Method::GET,
            _ => self.method.clone(),
        };
        let uri: Uri = location.parse().ok()?;
        if let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) {
            if scheme != &Scheme::HTTP && scheme != &Scheme::HTTPS {
                return None;
            }
            return Some(Hop {
                scheme: scheme.clone(),
                authority: authority.clone(),
                protocol: UpstreamProtocol::Http1,
                path: uri
                    .path_and_query()
                    .cloned()
                    .unwrap_or_else(|| PathAndQuery::from_static("/")),
                method,
            });
        }
        let path = if location.starts_with('/') {
            location.parse().ok()?
        } else {
            // Relative to the current path's directory.
            let current = self.path.path();
            let dir = &current[..current.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}").parse().ok()?
        };
        Some(Hop {
            path,
            method,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop() -> Hop {
        Hop {
            scheme: Scheme::HTTP,
            authority: Authority::from_static("10.0.0.1:80"),
            protocol: UpstreamProtocol::Http1,
            path: PathAndQuery::from_static("/a/health"),
            method: Method::POST,
        }
    }

    fn to(status: u16, location: &str) -> Option<Hop> {
        hop().follow(status, Some(&HeaderValue::from_str(location).unwrap()))
    }

    #[test]
    fn a_path_stays_on_the_server_and_an_absolute_url_goes_to_its_host() {
        let next = to(307, "/ready").unwrap();
        assert_eq!(
            (next.authority.as_str(), next.path.as_str()),
            ("10.0.0.1:80", "/ready")
        );
        assert_eq!(next.method, Method::POST, "307 keeps the method");
        let next = to(302, "https://other.test:8443/up?x=1").unwrap();
        assert_eq!(
            (
                next.scheme.as_str(),
                next.authority.as_str(),
                next.path.as_str()
            ),
            ("https", "other.test:8443", "/up?x=1")
        );
        assert_eq!(next.method, Method::GET, "302 after POST becomes GET");
        assert_eq!(to(301, "ok").unwrap().path.as_str(), "/a/ok");
    }

    #[test]
    fn other_statuses_and_schemes_are_not_followed() {
        assert!(to(200, "/x").is_none());
        assert!(to(304, "/x").is_none());
        assert!(to(302, "ftp://x.test/").is_none());
        assert!(hop().follow(302, None).is_none());
    }
}
