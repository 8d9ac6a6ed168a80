//! The one `bindgen!` of the host: Rust types and traits generated from `wit/` (the contract).
//!
//! Host-owned resources map to our own head types, so a request head moves into a store's
//! resource table for the length of a hook call and comes back out afterwards: nothing is copied.

wasmtime::component::bindgen!({
    world: "middleware",
    path: "../wit",
    with: {
        "wasmgate:plugin/http.request": crate::plugins::heads::RequestHead,
        "wasmgate:plugin/http.response": crate::plugins::heads::ResponseHead,
    },
    // Resource-table lookups can fail (a guest passing a stale handle): those trap instead of
    // panicking the host.
    imports: { default: trappable },
});

pub use self::wasmgate::plugin::http::Action;
pub use self::wasmgate::plugin::http::Reply;
pub use self::wasmgate::plugin::types::EditError;
pub use self::wasmgate::plugin::types::LogLevel;
