//! The route table: compiled rules in the order they are tried.

use super::Rule;
use super::facts::RequestFacts;

/// One router from config: its rule, its priority and what it leads to (`T` is the caller's:
/// the service and middleware chain to run).
#[derive(Debug, Clone)]
pub struct Route<T> {
    pub name: String,
    pub rule: Rule,
    /// The explicit `priority` from config, else [`Rule::default_priority`] (the rule length).
    pub priority: i64,
    pub target: T,
}

/// Routes sorted once at build time: priority descending, ties broken by name ascending, so the
/// order never depends on config map iteration (routes with equal name and priority keep the
/// order they were given in).
#[derive(Debug, Clone)]
pub struct RouteTable<T> {
    routes: Box<[Route<T>]>,
}

impl<T> RouteTable<T> {
    /// Sorts `routes` into matching order. Runs on each config (re)load: O(n log n).
    pub fn new(mut routes: Vec<Route<T>>) -> Self {
        routes.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| a.name.cmp(&b.name))
        });
        RouteTable {
            routes: routes.into_boxed_slice(),
        }
    }

    /// The highest-priority route whose rule matches, or `None` (the caller answers 404).
    /// Runs once per request: tries routes in order and stops at the first match; allocates
    /// nothing. Cost is linear in the routes tried.
    pub fn find(&self, facts: &RequestFacts<'_>) -> Option<&Route<T>> {
        self.routes.iter().find(|route| route.rule.matches(facts))
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The routes in matching order (for the admin API and diagnostics).
    pub fn iter(&self) -> impl Iterator<Item = &Route<T>> {
        self.routes.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn route(name: &str, rule: &str, priority: Option<i64>) -> Route<&'static str> {
        let rule = Rule::parse(rule).unwrap();
        Route {
            name: name.to_owned(),
            priority: priority.unwrap_or_else(|| rule.default_priority()),
            rule,
            target: "t",
        }
    }

    fn find<'t>(table: &'t RouteTable<&'static str>, host: &str, path: &str) -> Option<&'t str> {
        let headers = http::HeaderMap::new();
        let facts = RequestFacts {
            host: Some(host),
            path,
            query: None,
            method: &http::Method::GET,
            headers: &headers,
            client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            original_dst: None,
        };
        table.find(&facts).map(|r| r.name.as_str())
    }

    #[test]
    fn longer_rules_win_by_default() {
        let table = RouteTable::new(vec![
            route("short", "Host(`a.test`)", None),
            route("long", "Host(`a.test`) && PathPrefix(`/api`)", None),
        ]);
        assert_eq!(find(&table, "a.test", "/api/x"), Some("long"));
        assert_eq!(find(&table, "a.test", "/other"), Some("short"));
        assert_eq!(find(&table, "b.test", "/api"), None);
        assert_eq!(table.len(), 2);
        assert!(!table.is_empty());
    }

    #[test]
    fn explicit_priority_wins_over_rule_length() {
        let table = RouteTable::new(vec![
            route("long", "Host(`a.test`) && PathPrefix(`/api`)", None),
            route("short", "Host(`a.test`)", Some(1000)),
        ]);
        assert_eq!(find(&table, "a.test", "/api/x"), Some("short"));
        let table = RouteTable::new(vec![
            route("neg", "PathPrefix(`/`)", Some(-5)),
            route("zero", "PathPrefix(`/`)", Some(0)),
        ]);
        assert_eq!(find(&table, "x", "/"), Some("zero"));
    }

    #[test]
    fn equal_priorities_are_ordered_by_name() {
        for routes in [["b", "a", "c"], ["c", "b", "a"], ["a", "c", "b"]] {
            let table = RouteTable::new(
                routes
                    .iter()
                    .map(|n| route(n, "PathPrefix(`/`)", Some(7)))
                    .collect(),
            );
            let order: Vec<&str> = table.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(order, ["a", "b", "c"]);
            assert_eq!(find(&table, "x", "/"), Some("a"));
        }
    }

    #[test]
    fn sorted_by_priority_then_name() {
        let table = RouteTable::new(vec![
            route("z", "Path(`/`)", Some(1)),
            route("y", "Path(`/`)", Some(3)),
            route("x", "Path(`/`)", Some(1)),
            route("w", "Path(`/`)", Some(2)),
        ]);
        let order: Vec<(&str, i64)> = table
            .iter()
            .map(|r| (r.name.as_str(), r.priority))
            .collect();
        assert_eq!(order, [("y", 3), ("w", 2), ("x", 1), ("z", 1)]);
    }

    #[test]
    fn empty_table_finds_nothing() {
        let table: RouteTable<&'static str> = RouteTable::new(Vec::new());
        assert!(table.is_empty());
        assert_eq!(table.len(), 0);
        assert_eq!(find(&table, "a.test", "/"), None);
    }
}
