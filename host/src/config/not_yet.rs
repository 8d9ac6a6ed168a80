//! Traefik v3 keys wasmgate knows but does not implement yet. The strict reading refuses them as
//! unknown keys like any typo; for a Traefik user migrating a config that reads like a bug, so
//! the refusal is rewritten to say what it is: "not supported yet: KEY (see README)", or for a
//! provider wasmgate does not have (`docker`, `kubernetesCRD`...), that it does not have it.
//! Runs once per load, over the errors found (on the error path only).

use crate::yaml::ConfigError;

const SEE_README: &str = "see README, Migrating from Traefik";

/// Key paths (`*` is any one name) whose unknown-key refusal means "not supported yet".
const NOT_YET: &[&str] = &[
    // Static configuration.
    "experimental.plugins",
    "experimental.fastProxy",
    "experimental.otlpLogs",
    "experimental.kubernetesGateway",
    "experimental.kubernetesIngressNGINX",
    "experimental.knative",
    "experimental.abortOnPluginFailure",
    "experimental.http3",
    "hostResolver",
    "tcpServersTransport",
    "spiffe",
    "ocsp",
    "entryPoints.*.http3",
    "entryPoints.*.allowACMEByPass",
    // Dynamic configuration.
    "tcp.serversTransports.*.spiffe",
    "tcp.serversTransports.*.tls.spiffe",
    "tcp.serversTransports.*.proxyProtocol",
    "tcp.services.*.loadBalancer.healthCheck",
    "http.services.*.highestRandomWeight",
    "http.serversTransports.*.spiffe",
    "http.services.*.mirroring.healthCheck",
    "http.services.*.weighted.healthCheck",
    "http.services.*.weighted.sticky",
    "http.services.*.failover.healthCheck",
];

/// Rewrites `error` when it refuses a key Traefik has and wasmgate does not implement yet.
pub(crate) fn explain_unsupported(error: &mut ConfigError) {
    let refused = error.reason.starts_with("unknown key \"")
        || error.reason.starts_with("unknown service type \"");
    if !refused {
        return;
    }
    let mut segments: Vec<&str> = error.key.split('.').collect();
    // A service type is named in the reason, not the key path.
    if let Some(rest) = error.reason.strip_prefix("unknown service type \"")
        && let Some((kind, _)) = rest.split_once('"')
    {
        segments.push(kind);
    }
    if let ["providers", provider] = segments[..] {
        error.reason = format!(
            "provider \"{provider}\" is not available: wasmgate reads Traefik's file, http, redis \
             and etcd providers ({SEE_README})"
        );
        return;
    }
    let known = NOT_YET.iter().find(|pattern| {
        let parts: Vec<&str> = pattern.split('.').collect();
        parts.len() == segments.len()
            && parts
                .iter()
                .zip(&segments)
                .all(|(part, seg)| *part == "*" || part.eq_ignore_ascii_case(seg))
    });
    if let Some(pattern) = known {
        error.reason = format!("not supported yet: {pattern} ({SEE_README})");
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn refused(key: &str, reason: &str) -> String {
        let mut error = ConfigError {
            file: PathBuf::from("gateway.yml"),
            line: Some(3),
            key: key.to_string(),
            reason: reason.to_string(),
        };
        explain_unsupported(&mut error);
        error.reason
    }

    #[test]
    fn known_traefik_keys_are_not_supported_yet() {
        assert_eq!(
            refused(
                "entryPoints.web.http3",
                "unknown key \"http3\" (allowed: address)"
            ),
            "not supported yet: entryPoints.*.http3 (see README, Migrating from Traefik)"
        );
        assert_eq!(
            refused(
                "http.services.s.weighted.sticky",
                "unknown key \"sticky\" (allowed: services)"
            ),
            "not supported yet: http.services.*.weighted.sticky (see README, Migrating from Traefik)"
        );
        assert_eq!(
            refused(
                "tcp.serversTransports.t.spiffe",
                "unknown key \"spiffe\" (allowed: dialTimeout, terminationDelay, tls)"
            ),
            "not supported yet: tcp.serversTransports.*.spiffe (see README, Migrating from Traefik)"
        );
        assert_eq!(
            refused(
                "http.services.s",
                "unknown service type \"highestRandomWeight\" (allowed: loadBalancer)"
            ),
            "not supported yet: http.services.*.highestRandomWeight (see README, Migrating from Traefik)"
        );
    }

    #[test]
    fn other_providers_are_not_available() {
        assert!(
            refused("providers.docker", "unknown key \"docker\" (allowed: file)")
                .starts_with("provider \"docker\" is not available")
        );
    }

    #[test]
    fn typos_stay_unknown_keys() {
        let reason = "unknown key \"rul\" (allowed: rule)";
        assert_eq!(refused("http.routers.api.rul", reason), reason);
    }
}
