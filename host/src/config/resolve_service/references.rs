//! Reference checks between services: every service a `weighted`, `mirroring` or `failover`
//! service names must be defined, and no service may reach itself (the runtime builds services
//! children first, and a request must not loop). Runs once per load.

use std::collections::BTreeMap;

use crate::config::definitions::Definitions;
use crate::config::model_dynamic::HttpConfig;
use crate::config::provider_names::undefined_reason;
use crate::yaml::report::Reporter;

pub(crate) fn check_service_references(
    reporter: &mut Reporter<'_>,
    http: &HttpConfig,
    definitions: &Definitions<'_>,
) {
    for (name, service) in &http.services {
        let Some(def) = definitions.services.get(name) else {
            continue;
        };
        for (child, keys) in service.children() {
            if !definitions.services.contains_key(child) {
                let mut path = vec!["http", "services", name.as_str()];
                path.extend(keys.iter().map(String::as_str));
                reporter.at(def.file, &path, undefined_reason("service", child));
            }
        }
    }
    // Depth-first search; each cycle is reported once, at the first of its services by name.
    let mut state: BTreeMap<&str, Visit> = BTreeMap::new();
    for name in http.services.keys() {
        let mut stack = Vec::new();
        if let Some(cycle) = find_cycle(http, name, &mut state, &mut stack)
            && let Some(def) = definitions.services.get(cycle[0])
        {
            let path = ["http", "services", cycle[0]];
            let reason = format!("services form a cycle: {}", cycle.join(" -> "));
            reporter.at(def.file, &path, reason);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    InProgress,
    Done,
}

/// The cycle through `name` found first (as a path ending where it starts), if any.
fn find_cycle<'h>(
    http: &'h HttpConfig,
    name: &'h str,
    state: &mut BTreeMap<&'h str, Visit>,
    stack: &mut Vec<&'h str>,
) -> Option<Vec<&'h str>> {
    match state.get(name) {
        Some(Visit::Done) => return None,
        Some(Visit::InProgress) => {
            let start = stack.iter().position(|s| *s == name).unwrap_or(0);
            let mut cycle = stack[start..].to_vec();
            cycle.push(name);
            return Some(cycle);
        }
        None => {}
    }
    let (key, service) = http.services.get_key_value(name)?;
    state.insert(key.as_str(), Visit::InProgress);
    stack.push(key.as_str());
    let mut found = None;
    for (child, _) in service.children() {
        if let Some(cycle) = find_cycle(http, child, state, stack) {
            found = Some(cycle);
            break;
        }
    }
    stack.pop();
    state.insert(key.as_str(), Visit::Done);
    found
}
