//! Resolves `http.services.<name>` (load balancers over server URLs) and
//! `http.serversTransports.<name>`.

use super::model_dynamic::{
    LoadBalancerConfig, ServerConfig, ServersTransportConfig, ServiceConfig,
};
use super::raw::{RawLoadBalancer, RawServersTransport};
use super::report::Reporter;
use super::resolve_static::entries_of;
use super::tree::{Node, Seg};

/// Traefik's service kinds; only the first is implemented.
const SERVICE_KINDS: &[&str] = &["loadBalancer", "weighted", "mirroring", "failover"];
const SERVER_SCHEMES: &[&str] = &["http", "https", "h2c"];

/// Drops a Traefik provider suffix that means "this file" (`api-svc@file`), so file configs
/// written for Traefik keep working; other providers stay in the name and fail the reference.
pub(crate) fn local_name(name: &str) -> String {
    name.strip_suffix("@file").unwrap_or(name).to_string()
}

/// Resolves one service defined in `file` (name key on `line`); `None` after reporting.
pub(crate) fn resolve_service(
    reporter: &mut Reporter<'_>,
    file: usize,
    name: &str,
    node: &Node,
    line: usize,
) -> Option<ServiceConfig> {
    let path = ["http", "services", name];
    let segs: Vec<Seg> = path.iter().map(|k| Seg::Key((*k).to_string())).collect();
    let entries = entries_of(reporter, file, node, &segs, line)?;
    let entry = match entries {
        [entry] => entry,
        [] => {
            reporter.at(
                file,
                &path,
                "needs exactly one service type key, e.g. \"loadBalancer\"",
            );
            return None;
        }
        [_, ..] => {
            let keys: Vec<String> = entries.iter().map(|e| format!("\"{}\"", e.key)).collect();
            let reason = format!(
                "has {} service type keys ({}); exactly one is allowed",
                keys.len(),
                keys.join(", ")
            );
            reporter.at(file, &path, reason);
            return None;
        }
    };
    match entry.key.as_str() {
        "loadBalancer" => {}
        kind if SERVICE_KINDS.contains(&kind) => {
            reporter.at(
                file,
                &path,
                format!("service type \"{kind}\" is not supported yet"),
            );
            return None;
        }
        kind => {
            let reason = format!(
                "unknown service type \"{kind}\" (allowed: {})",
                SERVICE_KINDS.join(", ")
            );
            reporter.at(file, &path, reason);
            return None;
        }
    }
    let lb_path = ["http", "services", name, "loadBalancer"];
    let raw: RawLoadBalancer = reporter.parse(file, &entry.value, &lb_path, entry.line)?;
    if raw.servers.is_empty() {
        let servers_path = ["http", "services", name, "loadBalancer", "servers"];
        reporter.at(file, &servers_path, "at least one server is required");
        return None;
    }
    let mut servers = Vec::with_capacity(raw.servers.len());
    let mut all_valid = true;
    for (index, server) in raw.servers.iter().enumerate() {
        match parse_server_url(&server.url) {
            Ok(url) => servers.push(ServerConfig {
                url,
                weight: server.weight.unwrap_or(1),
            }),
            Err(reason) => {
                let index = index.to_string();
                let url_path = [
                    "http",
                    "services",
                    name,
                    "loadBalancer",
                    "servers",
                    &index,
                    "url",
                ];
                reporter.at(
                    file,
                    &url_path,
                    format!("invalid server URL \"{}\": {reason}", server.url),
                );
                all_valid = false;
            }
        }
    }
    all_valid.then(|| {
        ServiceConfig::LoadBalancer(LoadBalancerConfig {
            servers,
            pass_host_header: raw.pass_host_header.unwrap_or(true),
            servers_transport: raw.servers_transport.as_deref().map(local_name),
        })
    })
}

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

/// Resolves one servers transport; unset keys take [`ServersTransportConfig::default`].
pub(crate) fn resolve_transport(
    reporter: &mut Reporter<'_>,
    file: usize,
    name: &str,
    node: &Node,
    line: usize,
) -> Option<ServersTransportConfig> {
    let path = ["http", "serversTransports", name];
    let raw: RawServersTransport = reporter.parse(file, node, &path, line)?;
    let mut transport = ServersTransportConfig::default();
    if let Some(timeouts) = raw.forwarding_timeouts {
        if let Some(dial) = timeouts.dial_timeout {
            transport.dial_timeout = dial.0;
        }
        if let Some(response_header) = timeouts.response_header_timeout {
            transport.response_header_timeout = Some(response_header.0).filter(|d| !d.is_zero());
        }
        if let Some(idle) = timeouts.idle_conn_timeout {
            transport.idle_conn_timeout = idle.0;
        }
    }
    if let Some(max_idle) = raw.max_idle_conns_per_host {
        transport.max_idle_conns_per_host = max_idle;
    }
    Some(transport)
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

    #[test]
    fn file_provider_suffix_is_dropped() {
        assert_eq!(local_name("api-svc@file"), "api-svc");
        assert_eq!(local_name("api@internal"), "api@internal");
    }
}
