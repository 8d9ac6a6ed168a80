//! What certificates an HTTP or TCP router with `tls.certResolver` asks its ACME resolver for.
//! Config time (every snapshot build).

/// The certificates a router with `tls.certResolver` asks `resolver` for: one per
/// `tls.domains` entry, else one for the `Host` (HTTP) or `HostSNI` (TCP) names of its rule
/// (Traefik's rule).
pub(super) fn acme_names(
    certificate_domains: &[Vec<String>],
    hosts: &[String],
    resolver: &str,
) -> Vec<(String, Vec<String>)> {
    if certificate_domains.is_empty() {
        let hosts: Vec<String> = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        return vec![(resolver.to_string(), hosts)];
    }
    certificate_domains
        .iter()
        .map(|names| (resolver.to_string(), names.clone()))
        .collect()
}
