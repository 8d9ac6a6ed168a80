//! Every `RuleError` a config author can hit, with the exact message they read.

use super::{Rule, RuleError};

fn err(text: &str) -> String {
    match Rule::parse(text) {
        Ok(rule) => panic!("{text:?} parsed as {rule:?}"),
        Err(e) => e.to_string(),
    }
}

fn parse(text: &str) -> Result<Rule, RuleError> {
    Rule::parse(text)
}

#[test]
fn structural_errors_name_the_token_and_offset() {
    assert_eq!(err(""), "empty rule");
    assert_eq!(err(" \t\n"), "empty rule");
    assert_eq!(
        err("Host(`a`) &&"),
        "unexpected end of rule at offset 12, expected a matcher, '!' or '('"
    );
    assert_eq!(
        err("&& Host(`a`)"),
        "unexpected '&&' at offset 0, expected a matcher, '!' or '('"
    );
    assert_eq!(
        err("(Host(`a`)"),
        "unbalanced parentheses: '(' at offset 0 is never closed"
    );
    assert_eq!(
        err("Host(`a`))"),
        "unbalanced parentheses: ')' at offset 9 has no matching '('"
    );
    assert_eq!(
        err("Host(`a`) Path(`/`)"),
        "unexpected name \"Path\" at offset 10 after a complete rule (expected '&&', '||' or the end)"
    );
    assert_eq!(
        err("(Host(`a`) Path(`/`))"),
        "unexpected name \"Path\" at offset 11, expected '&&', '||' or ')'"
    );
    assert_eq!(
        err("Host"),
        "unexpected end of rule at offset 4, expected '(' after the matcher name"
    );
    assert_eq!(
        err("Host `a`"),
        "unexpected string \"a\" at offset 5, expected '(' after the matcher name"
    );
    assert_eq!(
        err("Host(`a`"),
        "unbalanced parentheses: '(' at offset 4 is never closed"
    );
    assert_eq!(
        err("Host(`a`,"),
        "unbalanced parentheses: '(' at offset 4 is never closed"
    );
    assert_eq!(
        err("Host(`a` `b`)"),
        "unexpected string \"b\" at offset 9, expected ',' or ')'"
    );
    assert_eq!(
        err("Host(a)"),
        "unexpected name \"a\" at offset 5, expected a quoted argument"
    );
    assert_eq!(
        err("Host(`a`,)"),
        "unexpected ')' at offset 9, expected a quoted argument"
    );
    assert_eq!(
        err("()"),
        "unexpected ')' at offset 1, expected a matcher, '!' or '('"
    );
    assert_eq!(
        err("`a`"),
        "unexpected string \"a\" at offset 0, expected a matcher, '!' or '('"
    );
}

#[test]
fn matcher_errors_name_the_matcher_and_offset() {
    assert_eq!(
        err("Hots(`a.test`)"),
        "unknown matcher \"Hots\" at offset 0 (expected one of Host, HostRegexp, Path, \
         PathPrefix, PathRegexp, Method, Header, HeaderRegexp, Query, QueryRegexp, ClientIP, \
         OriginalDst, OriginalDstPort)"
    );
    assert_eq!(err("Host()"), "Host at offset 0 takes 1 argument, got 0");
    assert_eq!(
        err("Path(`/`) || Host(`a`, `b`)"),
        "Host at offset 13 takes 1 argument, got 2"
    );
    assert_eq!(
        err("Header(`X`)"),
        "Header at offset 0 takes 2 arguments, got 1"
    );
    assert_eq!(
        err("Query(`a`, `b`, `c`)"),
        "Query at offset 0 takes 1 or 2 arguments, got 3"
    );
    assert_eq!(
        err("QueryRegexp(`a`)"),
        "QueryRegexp at offset 0 takes 2 arguments, got 1"
    );
    assert_eq!(err("Host(``)"), "empty argument to Host at offset 5");
    assert_eq!(
        err("Header(`X`, \"\")"),
        "empty argument to Header at offset 12"
    );
    assert_eq!(
        err("PathRegexp(`[a-`)"),
        "invalid regular expression \"[a-\" for PathRegexp at offset 11: unclosed character class"
    );
    assert_eq!(
        err("HeaderRegexp(`X`, `(`)"),
        "invalid regular expression \"(\" for HeaderRegexp at offset 18: unclosed group"
    );
    assert!(
        err("QueryRegexp(`k`, `*`)")
            .starts_with("invalid regular expression \"*\" for QueryRegexp at offset 17: ")
    );
    assert!(
        err("HostRegexp(`a(?<`)")
            .starts_with("invalid regular expression \"a(?<\" for HostRegexp at offset 11: ")
    );
    assert_eq!(
        err("ClientIP(`10.0.0.0/40`)"),
        "invalid IP address or CIDR \"10.0.0.0/40\" for ClientIP at offset 9"
    );
    assert_eq!(
        err("ClientIP(`nope`)"),
        "invalid IP address or CIDR \"nope\" for ClientIP at offset 9"
    );
    assert_eq!(
        err("PathPrefix(`api`)"),
        "path \"api\" for PathPrefix at offset 11 does not start with '/'"
    );
    assert_eq!(
        err("Path(`x`)"),
        "path \"x\" for Path at offset 5 does not start with '/'"
    );
    assert_eq!(
        err("Header(`Bad Name`, `v`)"),
        "invalid header name \"Bad Name\" for Header at offset 7"
    );
    assert_eq!(
        err("HeaderRegexp(`a:b`, `v`)"),
        "invalid header name \"a:b\" for HeaderRegexp at offset 13"
    );
    assert_eq!(
        err("Method(`G T`)"),
        "invalid HTTP method \"G T\" at offset 7"
    );
    assert_eq!(
        err("Host(`bücher.test`)"),
        "host \"bücher.test\" for Host at offset 5 has non-ASCII characters (use punycode)"
    );
    assert!(matches!(
        parse("HostRegexp(`ü`)"),
        Err(RuleError::NonAsciiHost { .. })
    ));
}

#[test]
fn lexer_errors_surface_through_the_parser() {
    assert_eq!(
        err("Host(`a`) & Path(`/`)"),
        "unexpected character '&' at offset 10"
    );
    assert_eq!(err("Host(\"a)"), "unterminated string starting at offset 5");
    assert_eq!(
        err(r#"Path("/\xff")"#),
        "string at offset 5 is not valid UTF-8 once unescaped"
    );
    assert_eq!(
        err(r#"Path("/\q")"#),
        r#"invalid escape "\\q" in string at offset 7"#
    );
    assert!(matches!(
        parse("Host(\"\\q\")"),
        Err(RuleError::BadEscape { offset: 6, .. })
    ));
}
