//! Traefik's provider-qualified names (`name@provider`) in references, and what the error says
//! when one names nothing wasmgate has.
//!
//! `name@file` is the file's own `name` (the suffix is dropped by
//! [`super::definitions::local_name`]); `name@http`, `name@redis`, `name@etcd` are named so by
//! `super::provider_scope`; Traefik's internal services
//! (`api@internal`, `dashboard@internal`, `ping@internal`, `prometheus@internal`,
//! `noop@internal`) are services only (`super::resolve_internal` checks them); any other
//! provider (`@docker`, `@kubernetescrd`, ...) is not available at all. Runs on the error path
//! of the reference checks only.

/// The names Traefik's `internal` provider defines.
const INTERNAL: &[&str] = &["api", "dashboard", "ping", "prometheus", "noop"];

/// Why a reference to the `kind` (service, middleware, servers transport) called `name` does
/// not resolve: a provider wasmgate does not have, or plainly not defined.
pub(crate) fn undefined_reason(kind: &str, name: &str) -> String {
    let Some((local, provider)) = name.rsplit_once('@') else {
        return format!("{kind} \"{name}\" is not defined");
    };
    match provider {
        "internal" if INTERNAL.contains(&local) => format!(
            "{kind} \"{name}\" is not defined: Traefik's internal \"{local}\" is a service, \
             not a {kind}"
        ),
        "internal" => format!(
            "{kind} \"{name}\" is not defined (Traefik's internal provider has no \"{local}\")"
        ),
        "http" | "redis" | "etcd" => format!(
            "{kind} \"{name}\" is not defined (the {provider} provider defines no {kind} \
             \"{local}\")"
        ),
        _ => format!(
            "provider \"{provider}\" is not available: \"{name}\" names a {kind} of Traefik's \
             {provider} provider; wasmgate reads the file, http, redis and etcd providers (write \"{local}\" or \
             \"{local}@file\" for one defined in the files)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_not_defined() {
        assert_eq!(
            undefined_reason("service", "nope"),
            "service \"nope\" is not defined"
        );
    }

    #[test]
    fn internal_services_are_services_only() {
        assert!(
            undefined_reason("middleware", "api@internal")
                .starts_with("middleware \"api@internal\" is not defined: Traefik's internal")
        );
        assert!(
            undefined_reason("service", "bogus@internal")
                .starts_with("service \"bogus@internal\" is not defined")
        );
    }

    #[test]
    fn other_providers_are_named() {
        assert!(undefined_reason("middleware", "auth@docker").starts_with(
            "provider \"docker\" is not available: \"auth@docker\" names a middleware"
        ));
    }
}
