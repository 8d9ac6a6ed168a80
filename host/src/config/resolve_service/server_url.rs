//! Server URLs as `loadBalancer.servers[].url` writes them.

const SERVER_SCHEMES: &[&str] = &["http", "https", "h2c"];

/// A server URL: scheme http, https or h2c, and a host.
pub(crate) fn parse_server_url(text: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = text
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
    match uri.scheme_str() {
        None => return Err("missing scheme (http, https or h2c)".to_string()),
        Some(scheme) if !SERVER_SCHEMES.contains(&scheme) => {
            return Err(format!(
                "unsupported scheme \"{scheme}\" (allowed: http, https, h2c)"
            ));
        }
        Some(_) => {}
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("missing host".to_string());
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        assert!(parse_server_url("http://127.0.0.1:9001").is_ok());
        assert!(parse_server_url("https://backend.test").is_ok());
        assert!(parse_server_url("h2c://127.0.0.1:9000").is_ok());
        assert_eq!(
            parse_server_url("127.0.0.1:9001"),
            Err("missing scheme (http, https or h2c)".to_string())
        );
        assert_eq!(
            parse_server_url("ftp://x.test"),
            Err("unsupported scheme \"ftp\" (allowed: http, https, h2c)".to_string())
        );
        assert_eq!(
            parse_server_url("/just/a/path"),
            Err("missing scheme (http, https or h2c)".to_string())
        );
        assert!(parse_server_url("http://bad host").is_err());
    }
}
