//! A `Location` from the authentication server made absolute against its `address`, as Go's
//! `Response.Location` does (RFC 3986 reference resolution, without dot-segment removal for
//! relative paths). Runs only on a refusal that carries a `Location`.

/// `location` resolved against `base` (an absolute URL).
pub fn resolve(base: &str, location: &str) -> String {
    if has_scheme(location) {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(network_path) = location.strip_prefix("//") {
        return format!("{scheme}://{network_path}");
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..authority_end]);
    let path_and_more = &rest[authority_end..];
    let path_end = path_and_more
        .find(['?', '#'])
        .unwrap_or(path_and_more.len());
    let path = &path_and_more[..path_end];
    if location.starts_with('/') {
        return format!("{origin}{location}");
    }
    if location.starts_with('?') {
        return format!("{origin}{path}{location}");
    }
    if location.starts_with('#') {
        let without_fragment = path_and_more.split('#').next().unwrap_or("");
        return format!("{origin}{without_fragment}{location}");
    }
    let directory = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    format!("{origin}{directory}{location}")
}

fn has_scheme(reference: &str) -> bool {
    let Some((scheme, _)) = reference.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !scheme.contains('/')
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn relative_locations_are_resolved_against_the_address() {
        let base = "http://auth.test:9000/verify/check?x=1";
        assert_eq!(
            resolve(base, "https://login.test/a"),
            "https://login.test/a"
        );
        assert_eq!(resolve(base, "//login.test/a"), "http://login.test/a");
        assert_eq!(resolve(base, "/login"), "http://auth.test:9000/login");
        assert_eq!(resolve(base, "login"), "http://auth.test:9000/verify/login");
        assert_eq!(
            resolve(base, "?next=1"),
            "http://auth.test:9000/verify/check?next=1"
        );
        assert_eq!(
            resolve("http://auth.test", "login"),
            "http://auth.test/login"
        );
    }
}
