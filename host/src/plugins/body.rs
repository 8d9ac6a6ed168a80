//! The `body` capability: which bodies a middleware may read and replace, with their caps, and
//! how a chain merges its middlewares' grants into the one buffering decision the proxy makes.
//!
//! Built at config time (`app::build`, from `capabilities: [body]` + `body:`); read per request
//! as plain fields of the chain (`Chain::request_body` / `Chain::response_body`), so a route
//! without a body grant pays one branch and its bodies stream untouched.

/// What happens to a body longer than the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    /// Refuse the exchange: 413 for a request body, 502 for a response body (the gateway
    /// cannot apply the middleware to it).
    Reject,
    /// Pass the body on unread, streamed; the plugin reads `too-large`.
    Pass,
}

/// How much of one body the host buffers for the middleware, and what happens beyond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    /// The most bytes held in memory (and the most a replacement may have).
    pub max_bytes: usize,
    pub over_limit: OverLimit,
}

impl BodyLimit {
    /// The limit a chain applies when several middlewares were granted the same body: the
    /// smallest cap (no middleware holds more than it was granted), and `reject` if any says so.
    pub fn merge(self, other: BodyLimit) -> BodyLimit {
        BodyLimit {
            max_bytes: self.max_bytes.min(other.max_bytes),
            over_limit: if self.over_limit == OverLimit::Reject
                || other.over_limit == OverLimit::Reject
            {
                OverLimit::Reject
            } else {
                OverLimit::Pass
            },
        }
    }
}

/// A middleware's `body` grant: which bodies, and their limits (`None`: not that body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BodyGrant {
    pub request: Option<BodyLimit>,
    pub response: Option<BodyLimit>,
}

/// In a head's `extensions` instead of the held body (`http_wasm::BufferedBody`, which the
/// http-wasm host shares): the body was over the cap (`max_bytes`) and passes on unread.
#[derive(Debug, Clone, Copy)]
pub struct OverCap(pub u64);

/// Merges the limits of a chain's grants for one body (`None`: no middleware wants it).
pub fn merge_limits(limits: impl Iterator<Item = Option<BodyLimit>>) -> Option<BodyLimit> {
    limits.flatten().reduce(BodyLimit::merge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_holds_the_smallest_cap_and_rejects_if_any_middleware_rejects() {
        let pass = BodyLimit {
            max_bytes: 100,
            over_limit: OverLimit::Pass,
        };
        let reject = BodyLimit {
            max_bytes: 500,
            over_limit: OverLimit::Reject,
        };
        assert_eq!(merge_limits([None, None].into_iter()), None);
        assert_eq!(merge_limits([Some(pass), None].into_iter()), Some(pass));
        assert_eq!(
            merge_limits([Some(reject), Some(pass)].into_iter()),
            Some(BodyLimit {
                max_bytes: 100,
                over_limit: OverLimit::Reject
            })
        );
    }
}
