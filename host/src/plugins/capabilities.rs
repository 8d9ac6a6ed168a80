//! What a configured middleware needs from the host: its response hook at all, and how many
//! leading bytes of the response body (the `capabilities` interface of the contract); its
//! request hook at all, and the request's headers in its response hook (`hook-needs`).
//!
//! Fixed at config time (`PluginMiddleware::configure` asks the plugin once, after `init`);
//! read per request as two plain fields, so a chain skips middlewares that opted out of the
//! response hook at the cost of one branch.

use super::bindings::Declaration;

/// The most response-body bytes the host holds for one middleware (and so for one chain): the
/// contract's cap, shared with plugin-sdk and stated in the WIT.
pub use plugin_contract::MAX_BODY_PEEK;

/// A middleware's declared needs, after the host's caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Call the response hook (`on-response`, or `on-response-body` when `body_peek > 0`).
    pub response_hook: bool,
    /// Leading response-body bytes handed to `on-response-body` (0: none; at most
    /// [`MAX_BODY_PEEK`]; always 0 when `response_hook` is false).
    pub body_peek: usize,
}

impl Capabilities {
    /// A plain-`middleware` component, or one whose declaration could not be read: every hook,
    /// no body.
    pub const PLAIN: Capabilities = Capabilities {
        response_hook: true,
        body_peek: 0,
    };

    /// Applies the host's caps to what the plugin declared.
    pub fn from_declaration(declared: &Declaration) -> Self {
        if !declared.response_hook {
            return Capabilities {
                response_hook: false,
                body_peek: 0,
            };
        }
        let wanted = usize::try_from(declared.response_body_peek).unwrap_or(MAX_BODY_PEEK);
        Capabilities {
            response_hook: true,
            body_peek: wanted.min(MAX_BODY_PEEK),
        }
    }
}

/// What a middleware needs of each request (`hook-needs`), after the host's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookNeeds {
    /// Call `on-request` (else the chain goes on as if it had returned `continue`).
    pub request_hook: bool,
    /// The response hooks read the request's headers (else, when no middleware of the chain
    /// does, the proxy sends them upstream without keeping a copy).
    pub request_headers_in_response: bool,
}

impl HookNeeds {
    /// A component without `hook-needs`, or whose answer could not be read.
    pub const ALL: HookNeeds = HookNeeds {
        request_hook: true,
        request_headers_in_response: true,
    };

    /// The plugin's answer; a middleware that asked for `on-complete` (`completes`) always
    /// gets its `on-request` (`on-complete` is called for requests whose `on-request` ran).
    pub fn from_answer(needs: &super::bindings::hook_needs::Needs, completes: bool) -> Self {
        HookNeeds {
            request_hook: needs.request_hook || completes,
            request_headers_in_response: needs.request_headers_in_response,
        }
    }
}

/// The first bytes of a response body, as held by the host for `on-response-body`.
#[derive(Debug, Clone, Copy)]
pub struct BodyStart<'a> {
    /// Up to the chain's largest peek; each middleware sees at most its own declared length.
    pub bytes: &'a [u8],
    /// `bytes` is the whole body.
    pub complete: bool,
}

impl<'a> BodyStart<'a> {
    /// What a caller that holds no body bytes passes (`complete` false: the plugin cannot tell
    /// an empty body from an unknown one).
    pub const UNKNOWN: BodyStart<'static> = BodyStart {
        bytes: &[],
        complete: false,
    };

    /// A response that has no body (HEAD, 1xx, 204, 304).
    pub const NONE: BodyStart<'static> = BodyStart {
        bytes: &[],
        complete: true,
    };

    /// The view one middleware gets: at most `peek` bytes, complete only if nothing was cut.
    pub fn limited_to(self, peek: usize) -> BodyStart<'a> {
        if self.bytes.len() <= peek {
            self
        } else {
            BodyStart {
                bytes: &self.bytes[..peek],
                complete: false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(response_hook: bool, response_body_peek: u32) -> Capabilities {
        Capabilities::from_declaration(&Declaration {
            response_hook,
            response_body_peek,
        })
    }

    #[test]
    fn the_peek_is_capped_and_ignored_without_a_response_hook() {
        assert_eq!(declared(true, 0), Capabilities::PLAIN);
        assert_eq!(declared(true, 512).body_peek, 512);
        assert_eq!(declared(true, u32::MAX).body_peek, MAX_BODY_PEEK);
        assert_eq!(
            declared(false, 512),
            Capabilities {
                response_hook: false,
                body_peek: 0
            }
        );
    }

    #[test]
    fn a_middleware_that_completes_always_gets_its_request_hook() {
        let none = super::super::bindings::hook_needs::Needs {
            request_hook: false,
            request_headers_in_response: false,
        };
        assert!(!HookNeeds::from_answer(&none, false).request_hook);
        assert!(HookNeeds::from_answer(&none, true).request_hook);
        assert!(!HookNeeds::from_answer(&none, true).request_headers_in_response);
    }

    #[test]
    fn a_middleware_sees_at_most_its_own_peek() {
        let all = BodyStart {
            bytes: b"0123456789",
            complete: true,
        };
        let cut = all.limited_to(4);
        assert_eq!((cut.bytes, cut.complete), (&b"0123"[..], false));
        let whole = all.limited_to(10);
        assert_eq!((whole.bytes, whole.complete), (&b"0123456789"[..], true));
        let partial = BodyStart {
            bytes: b"01",
            complete: false,
        };
        assert!(!partial.limited_to(64).complete);
    }
}
