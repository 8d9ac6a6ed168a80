//! The one `bindgen!` of the host: Rust types and traits generated from `wit/` (the contract).
//!
//! Generated for the `middleware-with-connections` world: every HTTP world (the last,
//! `middleware-with-verdict-memo`, adds the `verdict-memo` export to `middleware-with-pre-take`,
//! which adds the `pre-take` export to `middleware-with-client-ip`, which
//! adds the `client-ip` import to `middleware-with-fixed-edits`,
//! which adds the `fixed-edits` export to `middleware-with-hook-needs`, which adds
//! `hook-needs`) plus the
//! `connection` export of connection-level (L4) middlewares (world `connection-middleware`).
//! The HTTP worlds: `middleware-with-grpc-web` includes `middleware-with-kv`,
//! `middleware-with-retry-policy`, `middleware-with-identity`, which includes
//! `middleware-with-client-connection`,
//! `middleware-with-completion`, `middleware-with-compression`, `middleware-with-body`,
//! `middleware-with-outbound-http`, `middleware-with-counters`, `middleware-with-capabilities`
//! and so `middleware`: its imports are theirs plus `counters`, `outbound-http`, `body`,
//! `compression`, `client-connection`, `identity`, `kv`, `grpc-web` and `client-ip`,
//! so one linker serves every world (a component imports only what it calls), and its
//! per-interface export loaders (`handler::GuestIndices`, `connection::GuestIndices`,
//! `capabilities::GuestIndices`, `subresponses::GuestIndices`, `completion::GuestIndices`) let
//! the registry accept a component of any world (see `exports::ComponentExports`).
//!
//! Host-owned resources map to our own head types, so a request head moves into a store's
//! lent-head slot (`lent`) for the length of a hook call and comes back out afterwards:
//! nothing is copied.

wasmtime::component::bindgen!({
    world: "middleware-with-connections",
    path: "../wit",
    with: {
        "wasmgate:plugin/http.request": crate::plugins::heads::RequestHead,
        "wasmgate:plugin/http.response": crate::plugins::heads::ResponseHead,
    },
    // Resource-table lookups can fail (a guest passing a stale handle): those trap instead of
    // panicking the host.
    imports: { default: trappable },
});

pub use self::exports::wasmgate::plugin::capabilities;
pub use self::exports::wasmgate::plugin::capabilities::Declaration;
pub use self::exports::wasmgate::plugin::completion;
pub use self::exports::wasmgate::plugin::connection;
pub use self::exports::wasmgate::plugin::fixed_edits;
pub use self::exports::wasmgate::plugin::handler;
pub use self::exports::wasmgate::plugin::hook_needs;
pub use self::exports::wasmgate::plugin::pre_take;
pub use self::exports::wasmgate::plugin::retry_policy;
pub use self::exports::wasmgate::plugin::subresponses;
pub use self::exports::wasmgate::plugin::verdict_memo;
pub use self::wasmgate::plugin::http::Action;
pub use self::wasmgate::plugin::http::Reply;
pub use self::wasmgate::plugin::types::EditError;
pub use self::wasmgate::plugin::types::LogLevel;

/// The world name's Rust type, for `add_to_linker` (every import of every world).
pub type Middleware = MiddlewareWithConnections;
