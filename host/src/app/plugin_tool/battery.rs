//! The requests `wasmgate plugin test` drives a plugin's hooks with: heads a gateway really
//! hands to plugins, chosen for the cases plugin authors forget (unusual methods, empty and long
//! paths, many and large headers, bytes that are not UTF-8, HTTP/2 heads without a `Host`).
//!
//! Each head is built the way `proxy::handler` builds it (normalised URI, the raw path beside it,
//! the client address, the TLS flag, the router's name), plus the headers the author passes with
//! `--header` (e.g. the API key a guard wants), so the hooks get past a plugin's first check.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version};

use crate::plugins::{ConnectionFacts, RequestHead, ResponseHead};

/// One request of the battery and the response its response hook sees.
pub struct Case {
    /// What the case tries, for the report (`"many headers"`).
    pub name: &'static str,
    pub method: Method,
    /// The URI after normalisation (what `req.path()` / `req.query()` read).
    pub uri: String,
    /// The path exactly as sent (what `req.raw-path()` reads).
    pub raw_path: String,
    pub version: Version,
    pub tls: bool,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub status: StatusCode,
    /// Sent without the `--header` headers (what a client that knows nothing sends).
    pub bare: bool,
}

/// Header count of the "many headers" case: below the default budget of 100, so a plugin that
/// adds a few headers still fits, and far above what most plugins are tried with.
const MANY_HEADERS: usize = 80;

/// Bytes of the "large header" value and of the long path.
const LARGE: usize = 8 << 10;

fn header(name: &str, value: &[u8]) -> Option<(HeaderName, HeaderValue)> {
    Some((
        HeaderName::from_bytes(name.as_bytes()).ok()?,
        HeaderValue::from_bytes(value).ok()?,
    ))
}

fn case(name: &'static str, method: Method, uri: &str, raw_path: &str) -> Case {
    Case {
        name,
        method,
        uri: uri.to_owned(),
        raw_path: raw_path.to_owned(),
        version: Version::HTTP_11,
        tls: false,
        headers: header("host", b"example.test").into_iter().collect(),
        status: StatusCode::OK,
        bare: false,
    }
}

/// The battery. Built once per `plugin test` run.
pub fn battery() -> Vec<Case> {
    let long_path = format!("/{}", "segment/".repeat(LARGE / 8));
    let long_query = format!("/search?{}", "k=v&".repeat(LARGE / 4));
    let mut bare = case("plain GET without --header headers", Method::GET, "/", "/");
    bare.bare = true;
    let mut cases = vec![
        case("plain GET", Method::GET, "/", "/"),
        bare,
        case("HEAD", Method::HEAD, "/index.html", "/index.html"),
        case("OPTIONS *", Method::OPTIONS, "*", "*"),
        case(
            "unusual method PROPFIND",
            Method::from_bytes(b"PROPFIND").unwrap_or(Method::GET),
            "/dav/",
            "/dav/",
        ),
        case(
            "extension method",
            Method::from_bytes(b"X-CUSTOM-VERB").unwrap_or(Method::GET),
            "/x",
            "/x",
        ),
        case("DELETE", Method::DELETE, "/items/1", "/items/1"),
        // `GET http://example.test HTTP/1.1`: the gateway routes on "/", the client sent nothing.
        case("empty path", Method::GET, "/", ""),
        case("long path", Method::GET, &long_path, &long_path),
        case("long query", Method::GET, &long_query, "/search"),
        case(
            "percent-encoded path",
            Method::GET,
            "/caf%C3%A9/a%2Fb?q=%00%FF",
            "/caf%c3%a9/./a%2Fb",
        ),
    ];

    let mut many = case("many headers", Method::GET, "/many", "/many");
    for i in 0..MANY_HEADERS {
        many.headers.extend(header(
            &format!("x-many-{i}"),
            format!("value {i}").as_bytes(),
        ));
    }
    many.headers
        .extend((0..8).filter_map(|i| header("x-repeated", format!("r{i}").as_bytes())));
    cases.push(many);

    let mut large = case("large header values", Method::POST, "/upload", "/upload");
    large.headers.extend(header("x-large", &vec![b'a'; LARGE]));
    large.headers.extend(header("cookie", &vec![b'c'; LARGE]));
    large.headers.extend(header("content-length", b"0"));
    cases.push(large);

    let mut binary = case("non-UTF-8 header values", Method::GET, "/bytes", "/bytes");
    binary.headers.extend(header("x-latin1", b"caf\xe9"));
    binary
        .headers
        .extend(header("x-high", &[0x80, 0xff, 0xfe, b' ', 0xc3]));
    binary
        .headers
        .extend(header("user-agent", b"\xf0\x9f\x92\xa9"));
    cases.push(binary);

    let mut h2 = case(
        "HTTP/2 head (no Host header)",
        Method::GET,
        "https://example.test/h2?x=1",
        "/h2",
    );
    h2.version = Version::HTTP_2;
    h2.tls = true;
    h2.headers.clear();
    h2.headers.extend(header("accept", b"*/*"));
    cases.push(h2);

    let mut h10 = case("HTTP/1.0 without Host", Method::GET, "/old", "/old");
    h10.version = Version::HTTP_10;
    h10.headers.clear();
    cases.push(h10);

    // Response heads the response hooks meet: errors, no-body statuses.
    for (i, c) in cases.iter_mut().enumerate() {
        c.status = match i % 5 {
            1 => StatusCode::NOT_FOUND,
            2 => StatusCode::NOT_MODIFIED,
            3 => StatusCode::BAD_GATEWAY,
            _ => StatusCode::OK,
        };
    }
    cases
}

/// Headers every case carries (`--header NAME:VALUE`): parsed once; a bad one is refused with
/// the reason.
pub fn parse_extra_header(text: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("--header {text:?}: expected NAME:VALUE"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|e| format!("--header {text:?}: {e}"))?;
    let value =
        HeaderValue::from_str(value.trim_start()).map_err(|e| format!("--header {text:?}: {e}"))?;
    Ok((name, value))
}

impl Case {
    /// A fresh request head for a chain of one middleware, with `extra` headers set.
    pub fn request_head(&self, extra: &[(HeaderName, HeaderValue)]) -> Option<RequestHead> {
        let mut builder = Request::builder()
            .method(self.method.clone())
            .uri(self.uri.as_str())
            .version(self.version);
        let extra = if self.bare { &[][..] } else { extra };
        for (name, value) in self.headers.iter().chain(extra) {
            builder = builder.header(name.clone(), value.clone());
        }
        let (parts, ()) = builder.body(()).ok()?.into_parts();
        Some(RequestHead::new(
            parts,
            self.raw_path.clone().into(),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)), 50_123),
            self.tls,
            Arc::new(ConnectionFacts::at(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                if self.tls { 443 } else { 80 },
            ))),
            Arc::from("plugin-test"),
            1,
        ))
    }

    /// The response head the response hook sees for this case.
    pub fn response_head(&self) -> Option<ResponseHead> {
        let mut builder = Response::builder()
            .status(self.status)
            .version(self.version)
            .header("content-type", "text/plain; charset=utf-8")
            .header("server", "upstream");
        if self.status != StatusCode::NOT_MODIFIED {
            builder = builder.header("content-length", "5");
        }
        let (parts, ()) = builder.body(()).ok()?.into_parts();
        Some(ResponseHead::new(parts))
    }

    /// The body's first bytes as the host would hold them for `on-response-body`.
    pub fn body(&self) -> &'static [u8] {
        if self.status == StatusCode::NOT_MODIFIED || self.method == Method::HEAD {
            b""
        } else {
            b"hello"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_builds_a_head_the_gateway_could_hand_over() {
        let extra = [parse_extra_header("x-api-key: k").expect("header")];
        let cases = battery();
        assert!(cases.len() >= 14);
        for c in cases.iter().filter(|c| !c.bare) {
            let head = c
                .request_head(&extra)
                .unwrap_or_else(|| panic!("{}", c.name));
            assert_eq!(
                head.parts.headers.get("x-api-key").map(|v| v.as_bytes()),
                Some(&b"k"[..])
            );
            assert!(c.response_head().is_some(), "{}", c.name);
        }
        let many = cases
            .iter()
            .find(|c| c.name == "many headers")
            .expect("case");
        assert!(many.headers.len() > MANY_HEADERS);
    }

    #[test]
    fn extra_headers_need_a_name_and_a_value() {
        assert!(parse_extra_header("novalue").is_err());
        assert!(parse_extra_header("bad name: v").is_err());
        assert!(parse_extra_header("x-ok:v").is_ok());
    }
}
