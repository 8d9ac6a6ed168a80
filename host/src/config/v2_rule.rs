//! Traefik v2 rule syntax in v3 spelling. Two uses:
//!
//! - a router with `ruleSyntax: v2` (or every router, with `core.defaultRuleSyntax: v2`) has its
//!   rule rewritten once at load ([`v2_to_v3`]), then parsed as any v3 rule;
//! - a v3 rule that does not parse is checked for v2 spellings, so the error can say so and show
//!   the v3 one ([`v2_hint`]).
//!
//! Following Traefik's v2 -> v3 migration guide:
//!
//! - several values in one matcher: ``Host(`a`, `b`)`` -> ``(Host(`a`) || Host(`b`))`` (also
//!   `HostSNI`, `ALPN`, `Method`, `ClientIP`...); several pairs in ``Query(`a=1`, `b=2`)`` must
//!   all match: ``(Query(`a`, `1`) && Query(`b`, `2`))``;
//! - `Headers` / `HeadersRegexp` -> `Header` / `HeaderRegexp`, `HostHeader` -> `Host`;
//! - ``Query(`k=v`)`` -> ``Query(`k`, `v`)``;
//! - v2's `HostRegexp`, `HostSNIRegexp`, and `Path` / `PathPrefix` with placeholders are
//!   templates: literal text is escaped, `{name:regex}` is `regex`, `{name}` one label or
//!   segment: ``HostRegexp(`{sub:[a-z]+}.example.com`)`` -> ``HostRegexp(`^[a-z]+\.example\.com$`)``,
//!   ``Path(`/p/{id:[0-9]+}`)`` -> ``PathRegexp(`^/p/[0-9]+$`)`` (`PathPrefix` without the `$`).
//!
//! Text only, one pass over the rule, at load (never per request).

/// How a `HostRegexp` / `HostSNIRegexp` argument without placeholders is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The rule is v2 (`ruleSyntax: v2`): every `HostRegexp` argument is a v2 template.
    V2,
    /// Guessing on the error path: only an argument with `{...}` is surely a v2 template.
    Hint,
}

/// A `ruleSyntax: v2` rule in v3 spelling; `None` when it cannot be read as matcher calls (then
/// the v3 parser reports the rule as written).
pub(crate) fn v2_to_v3(rule: &str) -> Option<String> {
    to_v3(rule, Mode::V2)
}

/// The hint to append to a rule's parse error: `None` when the rule has nothing of v2.
pub fn v2_hint(rule: &str) -> Option<String> {
    let v3 = to_v3(rule, Mode::Hint)?;
    (v3 != rule).then(|| {
        format!(
            " (this is Traefik v2 rule syntax: add `ruleSyntax: v2` to the router, or write it \
             in v3: {v3})"
        )
    })
}

/// `rule` with every matcher call in v3 spelling; `None` when it cannot be read as calls.
fn to_v3(rule: &str, mode: Mode) -> Option<String> {
    let mut out = String::with_capacity(rule.len());
    let mut rest = rule;
    while let Some(open) = rest.find('(') {
        let before = &rest[..open];
        let name_start = before
            .rfind(|c: char| !c.is_ascii_alphanumeric())
            .map_or(0, |i| i + 1);
        let name = &before[name_start..];
        out.push_str(&before[..name_start]);
        rest = &rest[open + 1..];
        if name.is_empty() {
            out.push('(');
            continue;
        }
        let (args, after) = backtick_args(rest)?;
        out.push_str(&call(name, &args, mode));
        rest = after;
    }
    out.push_str(rest);
    Some(out)
}

/// The backtick-quoted arguments up to the closing `)`, and the text after it.
fn backtick_args(text: &str) -> Option<(Vec<&str>, &str)> {
    let mut args = Vec::new();
    let mut rest = text.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix(')') {
            return Some((args, after));
        }
        let quoted = rest.strip_prefix('`')?;
        let end = quoted.find('`')?;
        args.push(&quoted[..end]);
        rest = quoted[end + 1..].trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start();
        }
    }
}

/// One matcher call in v3 spelling.
fn call(name: &str, args: &[&str], mode: Mode) -> String {
    let name = match name {
        "Headers" => "Header",
        "HeadersRegexp" => "HeaderRegexp",
        "HostHeader" => "Host",
        other => other,
    };
    let one_value = [
        "Host",
        "HostRegexp",
        "HostSNI",
        "HostSNIRegexp",
        "ALPN",
        "Path",
        "PathPrefix",
        "Method",
        "ClientIP",
    ];
    if one_value.contains(&name) && args.len() > 1 {
        let calls: Vec<String> = args.iter().map(|arg| call(name, &[arg], mode)).collect();
        return format!("({})", calls.join(" || "));
    }
    if name == "Query" && args.len() > 1 {
        let calls: Vec<String> = args.iter().map(|arg| call(name, &[arg], mode)).collect();
        return format!("({})", calls.join(" && "));
    }
    match (name, args) {
        ("Query", [pair]) if pair.contains('=') => {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            format!("Query(`{key}`, `{value}`)")
        }
        ("HostRegexp" | "HostSNIRegexp", [host]) if mode == Mode::V2 || host.contains('{') => {
            format!("{name}(`^{}$`)", placeholders(host, "[^.]+"))
        }
        ("Path" | "PathPrefix", [path]) if path.contains('{') => {
            let end = if name == "Path" { "$" } else { "" };
            format!("PathRegexp(`^{}{end}`)", placeholders(path, "[^/]+"))
        }
        _ => {
            let quoted: Vec<String> = args.iter().map(|arg| format!("`{arg}`")).collect();
            format!("{name}({})", quoted.join(", "))
        }
    }
}

/// A v2 template as a regular expression: literal text escaped, `{name:re}` as `re`, `{name}`
/// as `default`.
fn placeholders(template: &str, default: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&escape(&rest[..open]));
        let Some(close) = matching_brace(&rest[open..]) else {
            out.push_str(&escape(&rest[open..]));
            return out;
        };
        let inner = &rest[open + 1..open + close];
        match inner.split_once(':') {
            Some((_, re)) => out.push_str(re),
            None => out.push_str(default),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(&escape(rest));
    out
}

/// The offset of the `}` closing the `{` at the start of `text` (braces nest in regexes).
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for c in literal.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_rules_get_their_v3_spelling() {
        for (v2, v3) in [
            (
                "HostRegexp(`{subdomain:[a-z]+}.example.com`)",
                r"HostRegexp(`^[a-z]+\.example\.com$`)",
            ),
            ("HostRegexp(`{host:.+}`)", "HostRegexp(`^.+$`)"),
            (
                "Host(`a.test`, `b.test`) && PathPrefix(`/a`, `/b`)",
                "(Host(`a.test`) || Host(`b.test`)) && (PathPrefix(`/a`) || PathPrefix(`/b`))",
            ),
            ("Headers(`X-A`, `b`)", "Header(`X-A`, `b`)"),
            ("Query(`a=b`)", "Query(`a`, `b`)"),
            (
                "Path(`/p/{id:[0-9]{2}}/{name}`)",
                "PathRegexp(`^/p/[0-9]{2}/[^/]+$`)",
            ),
        ] {
            assert_eq!(to_v3(v2, Mode::Hint).as_deref(), Some(v3), "{v2}");
        }
    }

    #[test]
    fn v2_router_rules_read_every_regexp_argument_as_a_template() {
        for (v2, v3) in [
            ("HostRegexp(`example.com`)", r"HostRegexp(`^example\.com$`)"),
            (
                "HostSNI(`a.test`, `b.test`) && ALPN(`h2`, `http/1.1`)",
                "(HostSNI(`a.test`) || HostSNI(`b.test`)) && (ALPN(`h2`) || ALPN(`http/1.1`))",
            ),
            (
                "HostSNIRegexp(`{sub}.test`)",
                r"HostSNIRegexp(`^[^.]+\.test$`)",
            ),
            (
                "Query(`a=1`, `b=2`)",
                "(Query(`a`, `1`) && Query(`b`, `2`))",
            ),
            ("HostHeader(`a.test`)", "Host(`a.test`)"),
            (
                "ClientIP(`10.0.0.0/8`, `::1`)",
                "(ClientIP(`10.0.0.0/8`) || ClientIP(`::1`))",
            ),
        ] {
            assert_eq!(v2_to_v3(v2).as_deref(), Some(v3), "{v2}");
        }
        // On the error path a regexp without placeholders may well be v3: no hint for it.
        assert_eq!(
            to_v3("HostRegexp(`^a$`)", Mode::Hint).as_deref(),
            Some("HostRegexp(`^a$`)")
        );
    }

    #[test]
    fn v3_rules_get_no_hint() {
        assert_eq!(v2_hint("Host(`a.test`) && !PathPrefix(`/x`)"), None);
        assert_eq!(v2_hint("Hots(`a.test`)"), None);
        assert!(v2_hint("Host(`a`, `b`)").is_some_and(|h| h.contains("(Host(`a`) || Host(`b`))")));
    }
}
