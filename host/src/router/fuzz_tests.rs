//! Garbage in, `Err` (or `Ok`) out, never a panic: a deterministic stand-in for the fuzz target
//! to come. Three generators: random bytes, random token soup, and mutations of valid rules.

use std::net::IpAddr;

use http::{HeaderMap, HeaderValue, Method};

use super::{RequestFacts, Rule};

/// xorshift64*: small, deterministic, good enough to spread inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const TOKENS: &[&str] = &[
    "Host",
    "HostRegexp",
    "Path",
    "PathPrefix",
    "PathRegexp",
    "Method",
    "Header",
    "HeaderRegexp",
    "Query",
    "QueryRegexp",
    "ClientIP",
    "host",
    "Hots",
    "(",
    ")",
    "(",
    ")",
    ",",
    "&&",
    "||",
    "!",
    "&",
    "|",
    " ",
    "\n",
    "`a.test`",
    "`/api`",
    "`/`",
    "`GET`",
    "`X-Env`",
    "`prod`",
    "`10.0.0.0/8`",
    "`::1`",
    "`2001:db8::/129`",
    "`^.+\\.test$`",
    "`[a-`",
    "`(?i)x`",
    "`a{99999}`",
    "``",
    "`",
    "\"",
    "\"a\\\"b\"",
    "\"\\x41\"",
    "\"\\u00e9\"",
    "\"\\q\"",
    "\"\\xff\"",
    "é",
    "\u{0}",
    "$",
    ";",
];

const VALID: &[&str] = &[
    "Host(`a.test`) && PathPrefix(`/api`)",
    "Host(`b.test`) || (Path(`/x`) && !Method(`POST`))",
    r"HostRegexp(`^.+\.example\.com$`) && PathRegexp(`^/v[0-9]+/`)",
    "Header(`X-Env`, `prod`) || HeaderRegexp(`User-Agent`, `curl`)",
    "Query(`debug`) && QueryRegexp(`id`, `^[0-9]+$`) && Query(`a`, \"b\")",
    "ClientIP(`10.0.0.0/8`) || ClientIP(`2001:db8::/32`) || ClientIP(`::1`)",
];

fn facts_for<'a>(headers: &'a HeaderMap, method: &'a Method) -> [RequestFacts<'a>; 3] {
    let v4: IpAddr = [10, 1, 2, 3].into();
    let v6: IpAddr = "2001:db8::1".parse().unwrap_or(v4);
    [
        RequestFacts {
            host: Some("a.test"),
            path: "/api/x",
            query: Some("debug&id=42&a=b"),
            method,
            headers,
            client_ip: v4,
            original_dst: None,
        },
        RequestFacts {
            host: None,
            path: "/",
            query: None,
            method,
            headers,
            client_ip: v6,
            original_dst: None,
        },
        RequestFacts {
            host: Some("::1"),
            path: "/%zz;é",
            query: Some("&&=;%%%+&id=%ff"),
            method,
            headers,
            client_ip: v6,
            original_dst: None,
        },
    ]
}

/// Parses `text` and, if it compiles, evaluates it; both must return rather than panic.
/// Returns whether it parsed.
fn exercise(text: &str, facts: &[RequestFacts<'_>]) -> bool {
    match Rule::parse(text) {
        Ok(rule) => {
            assert_eq!(rule.text(), text);
            assert_eq!(rule.default_priority(), text.len() as i64);
            for f in facts {
                std::hint::black_box(rule.matches(f));
            }
            true
        }
        Err(err) => {
            assert!(!err.to_string().is_empty());
            false
        }
    }
}

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-env", HeaderValue::from_static("prod"));
    headers.insert("user-agent", HeaderValue::from_static("curl/8"));
    headers
}

#[test]
fn random_bytes_never_panic() {
    let (headers, method) = (headers(), Method::GET);
    let facts = facts_for(&headers, &method);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..400 {
        let len = rng.below(80);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        exercise(&String::from_utf8_lossy(&bytes), &facts);
    }
}

#[test]
fn token_soup_never_panics() {
    let (headers, method) = (headers(), Method::POST);
    let facts = facts_for(&headers, &method);
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..600 {
        let count = 1 + rng.below(14);
        let text: String = (0..count).map(|_| *rng.pick(TOKENS)).collect();
        if exercise(&text, &facts) {
            ok += 1;
        } else {
            err += 1;
        }
    }
    assert!(
        err > 300,
        "token soup should mostly fail to parse: {ok} ok, {err} err"
    );
}

#[test]
fn grammar_walks_parse_or_fail_cleanly() {
    // Well-formed structure with random matchers and arguments: reaches the matcher compilers.
    fn random_rule(rng: &mut Rng, depth: usize) -> String {
        match rng.below(if depth > 5 { 1 } else { 4 }) {
            0 => {
                let name = rng.pick(&TOKENS[..13]);
                let args: Vec<&str> = (0..1 + rng.below(2))
                    .map(|_| *rng.pick(&TOKENS[25..46]))
                    .collect();
                format!("{name}({})", args.join(", "))
            }
            1 => format!("!{}", random_rule(rng, depth + 1)),
            2 => format!(
                "({} && {})",
                random_rule(rng, depth + 1),
                random_rule(rng, depth + 1)
            ),
            _ => format!(
                "{} || {}",
                random_rule(rng, depth + 1),
                random_rule(rng, depth + 1)
            ),
        }
    }
    let (headers, method) = (headers(), Method::GET);
    let facts = facts_for(&headers, &method);
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..400 {
        let text = random_rule(&mut rng, 0);
        if exercise(&text, &facts) {
            ok += 1;
        } else {
            err += 1;
        }
    }
    assert!(
        ok > 20 && err > 20,
        "grammar walk should hit both outcomes: {ok} ok, {err} err"
    );
}

#[test]
fn mutated_valid_rules_never_panic() {
    let (headers, method) = (headers(), Method::GET);
    let facts = facts_for(&headers, &method);
    let alphabet: Vec<char> = "()`\"!&|, \\é\u{0}aZ/.:[]{}*+?^$%".chars().collect();
    for text in VALID {
        assert!(exercise(text, &facts), "{text} must parse");
    }
    let mut rng = Rng(0xA076_1D64_78BD_642F);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..600 {
        let mut chars: Vec<char> = rng.pick(VALID).chars().collect();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(chars.len() + 1);
            match rng.below(3) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 if at < chars.len() => chars[at] = *rng.pick(&alphabet),
                _ => chars.insert(at, *rng.pick(&alphabet)),
            }
        }
        let text: String = chars.into_iter().collect();
        if exercise(&text, &facts) {
            ok += 1;
        } else {
            err += 1;
        }
    }
    assert!(
        ok > 10 && err > 300,
        "mutants should mostly fail: {ok} ok, {err} err"
    );
}
