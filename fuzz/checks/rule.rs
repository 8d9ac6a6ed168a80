//! Rule parser: [`Rule::parse`] on any text never panics, and a rule that parses evaluates,
//! without panicking, against a fixed set of requests, the way the router does per request.
//!
//! Beyond "no panic", the rule must mean what it says: `(rule)` matches exactly the requests
//! `rule` matches, `!(rule)` exactly the others, and either wrapped form parses unless it hits
//! the documented length or depth limit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use http::{HeaderMap, HeaderValue, Method};
use wasmgate::router::{RequestFacts, Rule, RuleError};

/// The owned parts a [`RequestFacts`] borrows from.
struct Request {
    host: Option<&'static str>,
    path: &'static str,
    query: Option<&'static str>,
    method: Method,
    headers: HeaderMap,
    client_ip: IpAddr,
}

impl Request {
    fn facts(&self) -> RequestFacts<'_> {
        RequestFacts {
            host: self.host,
            path: self.path,
            query: self.query,
            method: &self.method,
            headers: &self.headers,
            client_ip: self.client_ip,
            original_dst: None,
        }
    }
}

/// Requests that cover every matcher's inputs: hosts with and without port-like or odd forms,
/// IPv4 / IPv6 / mapped clients, repeated and binary header values, odd queries. Built once.
static REQUESTS: LazyLock<Vec<Request>> = LazyLock::new(|| {
    let headers = |pairs: &[(&'static str, &'static [u8])]| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                map.append(*name, value);
            }
        }
        map
    };
    let method = |m: &str| Method::from_bytes(m.as_bytes()).unwrap_or(Method::GET);
    vec![
        Request {
            host: Some("a.test"),
            path: "/",
            query: None,
            method: Method::GET,
            headers: HeaderMap::new(),
            client_ip: IpAddr::from([192, 0, 2, 1]),
        },
        Request {
            host: Some("api.example.com"),
            path: "/api/v1/users/42",
            query: Some("a=1&b=2&a=3"),
            method: Method::POST,
            headers: headers(&[
                ("x-api", b"1"),
                ("x-env", b"prod"),
                ("content-type", b"application/json"),
            ]),
            client_ip: IpAddr::from([10, 1, 2, 3]),
        },
        Request {
            host: None,
            path: "/admin",
            query: None,
            method: Method::DELETE,
            headers: headers(&[("x-api", b"0"), ("x-api", b"1")]),
            client_ip: IpAddr::V6(Ipv6Addr::LOCALHOST),
        },
        Request {
            host: Some("::1"),
            path: "/a%2Fb/c",
            query: Some("q=%2e%2e&k&=&&;x=+%20y&%zz=1"),
            method: Method::PUT,
            headers: headers(&[("x-empty", b""), ("x-bin", b"\xff\xfe\t")]),
            client_ip: IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped()),
        },
        Request {
            host: Some("A.TEST."),
            path: "/api../x",
            query: Some(""),
            method: method("PURGE"),
            headers: headers(&[("host", b"a.test"), ("x-forwarded-for", b"10.0.0.1")]),
            client_ip: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        },
        Request {
            host: Some("xn--bcher-kva.example"),
            path: "*",
            query: Some("%"),
            method: Method::HEAD,
            headers: HeaderMap::new(),
            client_ip: IpAddr::from([127, 0, 0, 1]),
        },
        Request {
            host: Some("b\u{fc}cher.test"),
            path: "//admin/\u{e9}",
            query: Some("\u{e9}=%C3%A9"),
            method: method("M-SEARCH"),
            headers: headers(&[("x-api", b"prod"), ("x-env", b"1")]),
            client_ip: IpAddr::from([0, 0, 0, 0]),
        },
        Request {
            host: Some(""),
            path: "",
            query: Some("a=%00&b=%ff"),
            method: Method::OPTIONS,
            headers: HeaderMap::new(),
            client_ip: IpAddr::from([255, 255, 255, 255]),
        },
    ]
});

/// The check libFuzzer and the corpus regression test run on one input (read as UTF-8,
/// invalid sequences replaced: rules come from YAML text). Panics when a property fails.
pub fn check_rule(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(rule) = Rule::parse(&text) else {
        return;
    };
    assert_eq!(rule.text(), text, "the rule keeps its text");
    assert_eq!(rule.to_string(), text);
    assert_eq!(rule.default_priority(), text.len() as i64);
    let verdicts: Vec<bool> = REQUESTS.iter().map(|r| rule.matches(&r.facts())).collect();

    if let Some(grouped) = parse_wrapped(&format!("({text})")) {
        for (request, &verdict) in REQUESTS.iter().zip(&verdicts) {
            assert_eq!(
                grouped.matches(&request.facts()),
                verdict,
                "({text}) disagrees with {text} on {:?} {:?}",
                request.host,
                request.path
            );
        }
    }
    if let Some(negated) = parse_wrapped(&format!("!({text})")) {
        for (request, &verdict) in REQUESTS.iter().zip(&verdicts) {
            assert_eq!(
                negated.matches(&request.facts()),
                !verdict,
                "!({text}) agrees with {text} on {:?} {:?}",
                request.host,
                request.path
            );
        }
    }
}

/// Parses a wrapped form of a valid rule: only the length and depth limits may refuse it.
fn parse_wrapped(text: &str) -> Option<Rule> {
    match Rule::parse(text) {
        Ok(rule) => Some(rule),
        Err(RuleError::TooLong { .. } | RuleError::TooDeep { .. }) => None,
        Err(error) => panic!("{text:?} wraps a valid rule but does not parse: {error}"),
    }
}
