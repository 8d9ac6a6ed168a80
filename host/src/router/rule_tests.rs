//! What each matcher and operator means, through the public `Rule` API.

use std::cell::Cell;
use std::net::IpAddr;

use http::{HeaderMap, HeaderValue, Method};

use super::{RequestFacts, Rule};

/// An owned request to borrow `RequestFacts` from.
struct Req {
    host: Option<String>,
    path: String,
    query: Option<String>,
    method: Method,
    headers: HeaderMap,
    ip: IpAddr,
    original_dst: Option<std::net::SocketAddr>,
}

fn req() -> Req {
    Req {
        host: Some("a.test".into()),
        path: "/".into(),
        query: None,
        method: Method::GET,
        headers: HeaderMap::new(),
        ip: [192, 0, 2, 1].into(),
        original_dst: None,
    }
}

impl Req {
    fn host(mut self, host: Option<&str>) -> Self {
        self.host = host.map(str::to_owned);
        self
    }
    fn path(mut self, path: &str) -> Self {
        self.path = path.into();
        self
    }
    fn query(mut self, query: &str) -> Self {
        self.query = Some(query.into());
        self
    }
    fn method(mut self, method: &str) -> Self {
        self.method = Method::from_bytes(method.as_bytes()).unwrap();
        self
    }
    fn header(mut self, name: &'static str, value: &[u8]) -> Self {
        self.headers
            .append(name, HeaderValue::from_bytes(value).unwrap());
        self
    }
    fn ip(mut self, ip: &str) -> Self {
        self.ip = ip.parse().unwrap();
        self
    }
    fn redirected_from(mut self, dst: &str) -> Self {
        self.original_dst = Some(dst.parse().unwrap());
        self
    }
    fn facts(&self) -> RequestFacts<'_> {
        RequestFacts {
            host: self.host.as_deref(),
            path: &self.path,
            query: self.query.as_deref(),
            method: &self.method,
            headers: &self.headers,
            client_ip: self.ip,
            original_dst: self.original_dst,
        }
    }
    fn is(&self, rule: &str) -> bool {
        let rule = Rule::parse(rule).unwrap_or_else(|e| panic!("{rule:?}: {e}"));
        rule.matches(&self.facts())
    }
}

#[test]
fn host_is_case_insensitive_and_exact() {
    assert!(req().is("Host(`a.test`)"));
    assert!(req().host(Some("A.TEST")).is("Host(`a.test`)"));
    assert!(req().is("Host(`A.Test`)"));
    assert!(req().host(Some("a.test.")).is("Host(`a.test`)"));
    assert!(!req().host(Some("b.a.test")).is("Host(`a.test`)"));
    assert!(!req().host(Some("a.test.evil")).is("Host(`a.test`)"));
    assert!(!req().host(None).is("Host(`a.test`)"));
}

#[test]
fn host_ignores_the_port_via_host_of() {
    let parts = http::Request::builder()
        .uri("/x")
        .header("host", "A.test:8443")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let facts = RequestFacts {
        host: RequestFacts::host_of(&parts),
        path: parts.uri.path(),
        query: parts.uri.query(),
        method: &parts.method,
        headers: &parts.headers,
        client_ip: [127, 0, 0, 1].into(),
        original_dst: None,
    };
    assert!(Rule::parse("Host(`a.test`)").unwrap().matches(&facts));
}

#[test]
fn host_matches_ipv6_literals_with_or_without_brackets() {
    let r = req().host(Some("::1"));
    assert!(r.is("Host(`::1`)"));
    assert!(r.is("Host(`[::1]`)"));
    assert!(!r.is("Host(`::2`)"));
}

#[test]
fn host_regexp_is_unanchored_and_case_insensitive() {
    let rule = r"HostRegexp(`^.+\.example\.com$`)";
    assert!(req().host(Some("api.example.com")).is(rule));
    assert!(req().host(Some("API.Example.COM")).is(rule));
    assert!(!req().host(Some("example.com")).is(rule));
    assert!(!req().host(Some("api.example.com.evil")).is(rule));
    assert!(
        req()
            .host(Some("www.example.org"))
            .is("HostRegexp(`example`)")
    );
    assert!(req().host(None).is("HostRegexp(`^$`)"));
    assert!(!req().host(None).is("HostRegexp(`.`)"));
}

#[test]
fn path_is_exact() {
    assert!(req().path("/exact").is("Path(`/exact`)"));
    assert!(!req().path("/exact/").is("Path(`/exact`)"));
    assert!(!req().path("/Exact").is("Path(`/exact`)"));
    assert!(!req().path("/exact/more").is("Path(`/exact`)"));
}

#[test]
fn path_prefix_is_a_plain_string_prefix() {
    for path in ["/api", "/api/", "/api/x", "/apix"] {
        assert!(req().path(path).is("PathPrefix(`/api`)"), "{path}");
    }
    for path in ["/ap", "/API", "/", "/x/api"] {
        assert!(!req().path(path).is("PathPrefix(`/api`)"), "{path}");
    }
    assert!(req().path("/anything").is("PathPrefix(`/`)"));
}

#[test]
fn path_regexp_matches_anywhere_unless_anchored() {
    assert!(req().path("/users/42").is(r"PathRegexp(`^/users/\d+$`)"));
    assert!(!req().path("/users/x").is(r"PathRegexp(`^/users/\d+$`)"));
    assert!(req().path("/a/b.json").is(r"PathRegexp(`\.json`)"));
    assert!(!req().path("/A/B").is("PathRegexp(`^/a`)"));
}

#[test]
fn method_is_uppercased_in_the_rule() {
    assert!(req().is("Method(`GET`)"));
    assert!(req().is("Method(`get`)"));
    assert!(!req().method("POST").is("Method(`GET`)"));
    assert!(req().method("PURGE").is("Method(`purge`)"));
}

#[test]
fn header_matches_any_value_exactly() {
    let r = req().header("x-env", b"staging").header("x-env", b"prod");
    assert!(r.is("Header(`X-Env`, `prod`)"));
    assert!(r.is("Header(`x-env`, `staging`)"));
    assert!(!r.is("Header(`X-Env`, `Prod`)"));
    assert!(!r.is("Header(`X-Env`, `pro`)"));
    assert!(!r.is("Header(`X-Other`, `prod`)"));
    let opaque = req().header("x-bin", b"caf\xe9");
    assert!(!opaque.is("Header(`X-Bin`, `café`)"));
}

#[test]
fn header_regexp_matches_any_value() {
    let r = req()
        .header("user-agent", b"curl/8.5")
        .header("user-agent", b"Mozilla/5.0");
    assert!(r.is("HeaderRegexp(`User-Agent`, `^Mozilla/`)"));
    assert!(r.is(r"HeaderRegexp(`User-Agent`, `^curl/\d`)"));
    assert!(!r.is("HeaderRegexp(`User-Agent`, `^Wget`)"));
    assert!(!r.is("HeaderRegexp(`Accept`, `.*`)"));
    assert!(
        req()
            .header("x-bin", b"caf\xe9")
            .is("HeaderRegexp(`X-Bin`, `^caf`)")
    );
}

#[test]
fn query_with_one_argument_needs_the_key_only() {
    assert!(req().query("debug").is("Query(`debug`)"));
    assert!(req().query("a=1&debug=").is("Query(`debug`)"));
    assert!(req().query("debug=yes").is("Query(`debug`)"));
    assert!(!req().query("debugger=1").is("Query(`debug`)"));
    assert!(!req().is("Query(`debug`)"));
}

#[test]
fn query_with_a_value_matches_any_decoded_value() {
    let r = req().query("tag=a&tag=b%20c&q=x+y&k%2F=v");
    assert!(r.is("Query(`tag`, `a`)"));
    assert!(r.is("Query(`tag`, `b c`)"));
    assert!(r.is("Query(`q`, `x y`)"));
    assert!(r.is("Query(`k/`, `v`)"));
    assert!(!r.is("Query(`tag`, `c`)"));
    assert!(!r.is("Query(`q`, `x+y`)"));
    // Go drops pairs with ';' or a malformed escape.
    assert!(!req().query("a=1;b=2").is("Query(`a`)"));
    assert!(!req().query("a=%zz").is("Query(`a`)"));
    assert!(req().query("a=%zz&a=2").is("Query(`a`, `2`)"));
}

#[test]
fn query_regexp_matches_decoded_values() {
    let r = req().query("id=42&name=J%C3%BCrgen+X");
    assert!(r.is(r"QueryRegexp(`id`, `^\d+$`)"));
    assert!(r.is("QueryRegexp(`name`, `^Jürgen X$`)"));
    assert!(!r.is(r"QueryRegexp(`name`, `^\d+$`)"));
    assert!(!r.is("QueryRegexp(`missing`, `.*`)"));
    let long = format!("v={}", "%41".repeat(2000));
    assert!(req().query(&long).is("QueryRegexp(`v`, `^A{2000}$`)"));
}

#[test]
fn original_destination_matchers_see_only_redirected_connections() {
    let rule = "OriginalDst(`10.96.0.10:80`)";
    assert!(req().redirected_from("10.96.0.10:80").is(rule));
    assert!(!req().redirected_from("10.96.0.10:81").is(rule));
    assert!(!req().is(rule));
    assert!(
        req()
            .redirected_from("[fd00::1]:80")
            .is("OriginalDst(`[fd00::1]:80`)")
    );
    assert!(
        req()
            .redirected_from("10.96.0.9:80")
            .is("OriginalDstPort(`80`)")
    );
    assert!(!req().is("OriginalDstPort(`80`)"));
    let err = Rule::parse("OriginalDst(`reviews:80`)")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an ip:port address"), "{err}");
    let err = Rule::parse("OriginalDstPort(`65536`)")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a port number"), "{err}");
}

#[test]
fn client_ip_matches_addresses_and_ranges() {
    assert!(req().ip("10.1.2.3").is("ClientIP(`10.0.0.0/8`)"));
    assert!(!req().ip("11.1.2.3").is("ClientIP(`10.0.0.0/8`)"));
    assert!(req().ip("1.2.3.4").is("ClientIP(`1.2.3.4`)"));
    assert!(!req().ip("1.2.3.5").is("ClientIP(`1.2.3.4`)"));
    assert!(req().ip("10.9.9.9").is("ClientIP(`10.1.2.3/8`)"));
    assert!(req().ip("2001:db8::7").is("ClientIP(`2001:db8::/32`)"));
    assert!(!req().ip("2001:db9::7").is("ClientIP(`2001:db8::/32`)"));
    assert!(req().ip("::1").is("ClientIP(`::1`)"));
    assert!(!req().ip("::1").is("ClientIP(`127.0.0.1`)"));
    assert!(req().ip("::ffff:10.0.0.5").is("ClientIP(`10.0.0.0/8`)"));
    assert!(req().ip("10.0.0.5").is("ClientIP(`::ffff:10.0.0.0/104`)"));
}

#[test]
fn and_binds_tighter_than_or() {
    let rule = "Path(`/a`) || Path(`/b`) && Method(`POST`)";
    assert!(req().path("/a").is(rule));
    assert!(!req().path("/b").is(rule));
    assert!(req().path("/b").method("POST").is(rule));
    let grouped = "(Path(`/a`) || Path(`/b`)) && Method(`POST`)";
    assert!(!req().path("/a").is(grouped));
    assert!(req().path("/a").method("POST").is(grouped));
}

#[test]
fn not_binds_tighter_than_and() {
    let rule = "!Path(`/a`) && Method(`GET`)";
    assert!(req().path("/b").is(rule));
    assert!(!req().path("/a").is(rule));
    assert!(!req().path("/b").method("POST").is(rule));
    let grouped = "!(Path(`/a`) && Method(`GET`))";
    assert!(req().path("/b").method("POST").is(grouped));
    assert!(!req().path("/a").is(grouped));
    assert!(req().path("/a").is("!!Path(`/a`)"));
    assert!(!req().path("/a").is("!!!Path(`/a`)"));
}

#[test]
fn nested_groups_and_whitespace() {
    let rule = "Host(`a.test`)\n  && ( PathPrefix(`/api`) ||\t(Header(`X-Api`, `1`) && !Method(`DELETE`)) )";
    assert!(req().path("/api/x").is(rule));
    assert!(req().path("/web").header("x-api", b"1").is(rule));
    assert!(
        !req()
            .path("/web")
            .header("x-api", b"1")
            .method("DELETE")
            .is(rule)
    );
    assert!(!req().host(Some("b.test")).path("/api").is(rule));
    assert!(req().is("((((Host(`a.test`)))))"));
}

#[test]
fn quoting_styles_are_equivalent() {
    assert!(req().is("Host(\"a.test\")"));
    // Request paths reach the router normalised, and a literal's raw space or backslash is
    // compared in its escaped form (`router::path::canonical_rule_path`).
    assert!(req().path("/a%20b").is("Path(\"/a\\x20b\")"));
    assert!(req().path("/a%5Cb").is(r"Path(`/a\b`)"));
    assert!(req().path("/a%5Cb").is(r#"Path("/a\\b")"#));
    assert!(req().header("x", b"q\"").is(r#"Header(`X`, "q\"")"#));
    assert!(req().path("/users/7").is(r#"PathRegexp("^/users/\\d$")"#));
}

#[test]
fn matcher_names_accept_traefik_spellings() {
    assert!(req().is("host(`a.test`)"));
    assert!(req().is("HOST(`a.test`)"));
    assert!(
        req()
            .path("/api")
            .is("pathprefix(`/api`) && Pathprefix(`/a`)")
    );
    assert!(req().ip("10.0.0.1").is("clientip(`10.0.0.0/8`)"));
}

#[test]
fn priority_is_the_rule_length_and_text_is_kept() {
    let text = "Host(`a.test`) && PathPrefix(`/api`)";
    let rule = Rule::parse(text).unwrap();
    assert_eq!(rule.default_priority(), 36);
    assert_eq!(rule.text(), text);
    assert_eq!(rule.to_string(), text);
    let padded: Rule = "  Host(`a.test`)  ".parse().unwrap();
    assert_eq!(padded.default_priority(), 18);
    // Bytes, not characters, as Go's len().
    assert_eq!(Rule::parse("Path(`/é`)").unwrap().default_priority(), 11);
}

#[test]
fn rules_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Rule>();
    assert_send_sync::<super::RouteTable<String>>();
}

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Counts allocations per thread so a test can prove matching allocates nothing. Delegates to
/// the system allocator; only this crate's unit-test binary uses it.
struct CountingAllocator;

unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `ptr` came from `alloc` above, i.e. from the system allocator.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn matching_allocates_nothing() {
    let rules: Vec<Rule> = [
        "Host(`A.test`) && PathPrefix(`/api`) && Method(`GET`)",
        r"HostRegexp(`^[a-z]+\.test$`) || PathRegexp(`^/users/\d+$`)",
        "Header(`X-Env`, `prod`) && HeaderRegexp(`User-Agent`, `^curl`)",
        "Query(`tag`, `b c`) && QueryRegexp(`id`, `^4`) && Query(`flag`)",
        "ClientIP(`10.0.0.0/8`) || ClientIP(`2001:db8::/32`) || !ClientIP(`::1`)",
        "!(Path(`/x`) || Path(`/y`)) && (Host(`a.test`) || Host(`b.test`))",
    ]
    .iter()
    .map(|text| Rule::parse(text).unwrap())
    .collect();
    let r = req()
        .host(Some("A.Test"))
        .path("/users/42")
        .query("tag=b%20c&id=42&flag&x=%41%42")
        .header("x-env", b"prod")
        .header("user-agent", b"curl/8")
        .ip("::ffff:10.1.1.1");
    let facts = r.facts();
    // Warm up any lazily built regex caches (the regex crate's per-thread matching cache).
    let expected: Vec<bool> = rules.iter().map(|rule| rule.matches(&facts)).collect();
    assert_eq!(expected, [false, true, true, true, true, true]);
    // The counter does see allocations on this thread.
    let before = ALLOCATIONS.with(Cell::get);
    std::hint::black_box(Rule::parse("Path(`/x`)").map(|r| r.default_priority()).ok());
    assert!(ALLOCATIONS.with(Cell::get) > before);
    let before = ALLOCATIONS.with(Cell::get);
    for _ in 0..100 {
        for rule in &rules {
            std::hint::black_box(rule.matches(&facts));
        }
    }
    assert_eq!(ALLOCATIONS.with(Cell::get) - before, 0);
}
