//! Every named entity of the merged `http:` and `tcp:` sections, where it was defined, before
//! resolution: what references between entities are checked against.

use std::collections::BTreeMap;

use crate::yaml::tree::Node;

/// Drops a Traefik provider suffix that means "this file" (`api-svc@file`), so file configs
/// written for Traefik keep working; other providers stay in the name and fail the reference.
pub(crate) fn local_name(name: &str) -> String {
    name.strip_suffix("@file").unwrap_or(name).to_string()
}

/// Where one named entity was defined.
#[derive(Clone, Copy)]
pub(crate) struct Definition<'n> {
    pub(crate) file: usize,
    pub(crate) line: usize,
    pub(crate) node: &'n Node,
}

/// Every named entity of the merged `http:` (or `tcp:`) sections, before resolution.
#[derive(Default)]
pub(crate) struct Definitions<'n> {
    pub(crate) routers: BTreeMap<String, Definition<'n>>,
    pub(crate) services: BTreeMap<String, Definition<'n>>,
    pub(crate) middlewares: BTreeMap<String, Definition<'n>>,
    pub(crate) transports: BTreeMap<String, Definition<'n>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_provider_suffix_is_dropped() {
        assert_eq!(local_name("api-svc@file"), "api-svc");
        assert_eq!(local_name("api@internal"), "api@internal");
    }
}
