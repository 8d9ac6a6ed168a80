//! The `Authorization: Digest ...` header, parsed as Go's `go-http-auth` parses it (which is
//! what Traefik runs): the scheme word exactly `Digest`, then comma-separated `key=value` pairs;
//! commas inside double quotes do not split, a backslash inside quotes escapes the next
//! character, surrounding quotes are removed, keys are case-sensitive.

use std::collections::BTreeMap;

/// The parameters of a Digest `Authorization` header, or `None` if it is not one.
pub fn digest_params(header: &str) -> Option<BTreeMap<String, String>> {
    let (scheme, rest) = header.split_once(' ')?;
    (scheme == "Digest").then(|| parse_pairs(rest))
}

/// `key=value` pairs; an element without `=` (or with nothing after it) maps to "".
fn parse_pairs(value: &str) -> BTreeMap<String, String> {
    let mut pairs = BTreeMap::new();
    for item in parse_list(value.trim()) {
        match item.find('=') {
            Some(i) if i + 1 < item.len() => {
                let v = &item[i + 1..];
                let v = if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
                    &v[1..v.len() - 1]
                } else {
                    v
                };
                pairs.insert(item[..i].to_string(), v.to_string());
            }
            _ => {
                pairs.insert(item, String::new());
            }
        }
    }
    pairs
}

/// Splits at commas outside double quotes; each element trimmed.
fn parse_list(value: &str) -> Vec<String> {
    let mut list = Vec::new();
    let mut current = String::new();
    let (mut escape, mut quote) = (false, false);
    for c in value.chars() {
        if escape {
            current.push(c);
            escape = false;
        } else if quote {
            if c == '\\' {
                escape = true;
            } else {
                if c == '"' {
                    quote = false;
                }
                current.push(c);
            }
        } else if c == ',' {
            list.push(current.trim().to_string());
            current.clear();
        } else {
            if c == '"' {
                quote = true;
            }
            current.push(c);
        }
    }
    if !current.is_empty() {
        list.push(current.trim().to_string());
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curl_style_header_parses() {
        let p = digest_params(
            r#"Digest username="carol", realm="traefik", nonce="n1", uri="/a?b=1,2", cnonce="c", nc=00000001, qop=auth, response="abc", opaque="o", algorithm=MD5"#,
        )
        .unwrap();
        assert_eq!(p["username"], "carol");
        assert_eq!(p["uri"], "/a?b=1,2", "a comma inside quotes does not split");
        assert_eq!(p["nc"], "00000001");
        assert_eq!(p["qop"], "auth");
        assert_eq!(p["algorithm"], "MD5");
    }

    #[test]
    fn escapes_and_bare_keys_follow_go() {
        let p = digest_params(r#"Digest username="a\"b", flag, empty="#).unwrap();
        assert_eq!(p["username"], "a\"b");
        assert_eq!(p["flag"], "");
        assert_eq!(p["empty="], "");
    }

    #[test]
    fn only_the_exact_digest_scheme_is_read() {
        assert!(digest_params("digest username=\"a\"").is_none());
        assert!(digest_params("Basic YTpi").is_none());
        assert!(digest_params("Digest").is_none());
    }
}
