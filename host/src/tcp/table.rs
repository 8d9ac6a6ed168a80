//! The TCP routes of one entrypoint side (plain or TLS), sorted once at build time.

use std::sync::Arc;

use super::rule::{ConnFacts, TcpRule};

/// One TCP router on one entrypoint.
#[derive(Debug)]
pub struct TcpRoute<T> {
    pub name: String,
    pub rule: TcpRule,
    /// The explicit `priority`, else [`TcpRule::default_priority`].
    pub priority: i64,
    pub target: Arc<T>,
}

/// Routes in matching order: priority descending, then name ascending.
#[derive(Debug)]
pub struct TcpRoutes<T> {
    routes: Box<[TcpRoute<T>]>,
}

impl<T> Default for TcpRoutes<T> {
    fn default() -> Self {
        TcpRoutes {
            routes: Box::new([]),
        }
    }
}

impl<T> TcpRoutes<T> {
    /// Sorts `routes`. Config time: O(n log n).
    pub fn new(mut routes: Vec<TcpRoute<T>>) -> Self {
        routes.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| a.name.cmp(&b.name))
        });
        TcpRoutes {
            routes: routes.into_boxed_slice(),
        }
    }

    /// The first route whose rule matches, and whether it is a catch-all (`HostSNI(`*`)`).
    /// Once or twice per connection; allocates nothing.
    pub fn find(&self, facts: &ConnFacts<'_>) -> Option<(&Arc<T>, bool)> {
        self.routes
            .iter()
            .find(|r| r.rule.matches(facts))
            .map(|r| (&r.target, r.rule.is_catch_all()))
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}
