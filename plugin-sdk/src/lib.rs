//! Write wasmgate middleware plugins in Rust.
//!
//! A plugin is a type that implements [`Middleware`], exported with one line,
//! [`export_middleware!`]. Built for `wasm32-wasip2` (or, as the bundled plugins are, for
//! `wasm32-unknown-unknown` and then made a component with `wit-component`: see host/build.rs),
//! the crate becomes a WebAssembly component for
//! the `wasmgate:plugin/middleware-with-verdict-memo@0.1.0` world (`middleware` plus the
//! capability interfaces, each imported only when called; the contract lives in the
//! repository's `wit/`);
//! built natively, the same code runs against the in-memory doubles of the `testing` module, so
//! a plugin's unit tests are plain `cargo test`.
//!
//! # A complete plugin
//!
//! ```
//! use plugin_sdk::{Action, Middleware, Reply, Request};
//!
//! /// Answers 403 to every request whose path starts with the configured prefix.
//! pub struct BlockPrefix {
//!     prefix: String,
//! }
//!
//! impl Middleware for BlockPrefix {
//!     fn from_config(config: &str) -> Result<Self, String> {
//!         // Real plugins parse JSON with serde_json; the config here is a bare JSON string.
//!         let prefix = config.trim().trim_matches('"').to_string();
//!         if !prefix.starts_with('/') {
//!             return Err(format!("prefix must start with '/', got {prefix:?}"));
//!         }
//!         Ok(BlockPrefix { prefix })
//!     }
//!
//!     fn on_request(&self, req: &mut Request<'_>) -> Action {
//!         if req.path().starts_with(&self.prefix) {
//!             return Action::Respond(Reply::new(403).header("content-type", "text/plain").body("blocked\n"));
//!         }
//!         // A refused edit changes nothing; this value is always valid, so the error is ignored.
//!         let _ = req.set_header("x-checked-by", "block-prefix");
//!         Action::Continue
//!     }
//! }
//!
//! plugin_sdk::export_middleware!(BlockPrefix);
//!
//! // Natively, the same plugin runs against the test doubles:
//! # fn main() -> Result<(), String> {
//! use plugin_sdk::testing::{self, TestRequest};
//! let mw = testing::instance::<BlockPrefix>(r#""/admin""#)?;
//! let mut req = TestRequest::get("/admin/users");
//! assert_eq!(testing::on_request(&mw, &mut req).reply().map(|r| r.status), Some(403));
//! let mut req = TestRequest::get("/public");
//! assert!(testing::on_request(&mw, &mut req).is_continue());
//! assert_eq!(req.header_str("x-checked-by").as_deref(), Some("block-prefix"));
//! # Ok(())
//! # }
//! ```
//!
//! A connection-level (L4) middleware for `tcp.middlewares` implements
//! [`connection::ConnectionMiddleware`] instead and is exported with
//! [`export_connection_middleware!`]; the component then targets the `connection-middleware`
//! world (see the [`connection`] module).
//!
//! The crate needs `crate-type = ["cdylib", "rlib"]` (cdylib for the component, rlib for native
//! tests). Build it with `cargo build --target wasm32-wasip2 --profile plugin -p <crate>`.
//!
//! # Lifecycle and costs
//!
//! - `validate-config` (once per configured middleware, on a throw-away instance) calls
//!   [`Middleware::from_config`] and drops the result: return every config error from there.
//!   Before it (and before `init`'s), the SDK refuses a config whose lists and maps nest deeper
//!   than [`config::MAX_CONFIG_NESTING`] levels, so no JSON parser recurses past the stack.
//! - `init` (once per instance) calls [`Middleware::from_config`] again and keeps the value for the
//!   instance's life; the hooks borrow it. In `pooled` mode one instance serves many requests, one
//!   at a time, so keep per-request data out of `self` (use [`Request::set_state`] to carry data
//!   from `on_request` to `on_response`) and use `Cell`/`RefCell` for deliberate instance state.
//! - Once per configured middleware, right after an `init`, the gateway asks
//!   [`Middleware::wants_response_hook`] and [`Middleware::response_body_peek`] (the component
//!   targets the `middleware-with-capabilities` world): a middleware that answers `false` never
//!   gets its response hook called; one that asks for a body peek gets
//!   [`Middleware::on_response_body`] instead of [`Middleware::on_response`]. It also asks
//!   [`Middleware::wants_request_hook`] (`false`: `on_request` is never called) and
//!   [`Middleware::reads_request_headers_in_response`] (world `middleware-with-hook-needs`), and
//!   [`Middleware::fixed_edits`] (world `middleware-with-fixed-edits`): hooks whose work is a
//!   fixed list of header edits are then never called, the gateway applies the edits itself;
//!   and [`Middleware::pre_take`] (world `middleware-with-pre-take`): a rate limit's take made
//!   by the gateway before `on_request`, which is then called only for refused requests; and
//!   [`Middleware::verdict_memo`] (world `middleware-with-verdict-memo`): an `on_request`
//!   whose `continue` depends on one header alone (an authentication) is called once per value
//!   and ttl, the gateway replaying its edits for later requests carrying the same value.
//! - [`Request::client_ip`] (world `middleware-with-client-ip`) gives the client's address as
//!   an [`IpAddr`](std::net::IpAddr) in one host call, without the text of
//!   [`Request::client_addr`] (no allocation, no parse): for middlewares keyed by the client.
//! - [`Request`] and [`Response`] are views of heads the host owns: every method is one host call
//!   and nothing is copied into the guest up front, so read only what you need.
//! - A hook called before a successful `init` (a host bug) logs an error and traps; the host then
//!   fails that request (500) and discards the instance.
//! - Panics abort: in the component the message and location go to the host's log at `error`,
//!   then the instance traps; the host fails that request with 500 (or passes it on where the
//!   middleware is fail-open) and discards the instance.
//!
//! # Footprint
//!
//! Components are built with the workspace's `plugin` profile (`opt-level = 3`, LTO,
//! `panic = "abort"`, stripped) and a 64 KiB stack for `wasm32-wasip2` (`.cargo/config.toml`), so a
//! fresh instance starts with two 64 KiB pages of memory; the bundled plugins
//! (`wasm32-unknown-unknown`) get a 16 KiB stack and start with one page. A plugin with no
//! dependencies is about 60 KB; one that parses JSON with `serde_json` about 120-170 KB. For
//! `wasm32-wasip2` the std runtime imports a few WASI interfaces (`wasi:cli/*` stdio and
//! environment, `wasi:io/*`) that the SDK never calls; the gateway links them to traps or empty
//! implementations. For `wasm32-unknown-unknown` there are none: the component imports only the
//! contract's interfaces it calls, plus `wasi:random/random` when [`random::fill`] is called; std's
//! clocks panic there (use [`monotonic_now`]), `println!`/`eprintln!` print nothing (use
//! [`log()`]), the `getrandom` crate has no source (use [`random::fill`]), std's `HashMap` seeds
//! are fixed (key maps by client-controlled data with a secret from [`random::fill`], as
//! basicAuth's cache does, or use ordered maps), and the SDK supplies the global allocator
//! (dlmalloc starting in the initial memory's free tail).

mod action;
pub mod body;
pub mod client_connection;
pub mod completion;
pub mod compression;
pub mod config;
pub mod connection;
pub mod counters;
mod error;
pub mod fixed_edits;
pub mod grpc_web;
pub mod identity;
pub mod kv;
mod log;
pub mod outbound;
pub mod pre_take;
pub mod random;
mod request;
mod response;
pub mod retry;
pub mod rules;
pub mod verdict_memo;

#[cfg(target_arch = "wasm32")]
mod guest;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use action::{Action, Reply};
pub use error::EditError;
pub use log::{Level, log, monotonic_now};
pub use request::Request;
pub use response::Response;

/// A middleware plugin: its parsed config, the two hooks, and (optionally) what it needs.
///
/// One value lives per instance, built by `init` from the middleware's config and borrowed by
/// every hook call on that instance.
pub trait Middleware: Sized + 'static {
    /// Parse and check the config: the JSON text of the middleware's `config` in the route config.
    ///
    /// Called by `validate-config` (the value is then dropped) and by `init` (the value is kept
    /// for the instance's life). An `Err` is reported to the operator as the config error, so name
    /// the offending option.
    fn from_config(config: &str) -> Result<Self, String>;

    /// Called for every request routed through the middleware, before the upstream is chosen.
    ///
    /// Edits made to `req` are what later middlewares and the upstream see. Default: continue
    /// without edits.
    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let _ = req;
        Action::Continue
    }

    /// Called with the response head for every request whose `on_request` returned
    /// [`Action::Continue`] here. Edits to `req` are visible only to later response hooks.
    /// Default: continue without edits.
    fn on_response(&self, req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        let _ = (req, resp);
        Action::Continue
    }

    /// Whether the gateway should call the response hook ([`Middleware::on_response`] or
    /// [`Middleware::on_response_body`]) at all. Return `false` from a middleware that only acts on
    /// requests: the gateway then skips that hook call (~0.35 µs) on every request.
    ///
    /// Asked once per configured middleware, on an instance right after its `init`, so the answer
    /// may depend on the config (`self`); never per request. Default: `true`.
    fn wants_response_hook(&self) -> bool {
        true
    }

    /// Whether the gateway should call [`Middleware::on_request`] at all. Return `false` from a
    /// middleware whose `on_request` does nothing for this config (one that only edits
    /// responses): the gateway then goes on as if it had returned [`Action::Continue`], and
    /// saves that hook call on every request. Ignored (always called) when
    /// [`Middleware::wants_on_complete`] is `true`.
    ///
    /// Asked once per configured middleware, like [`Middleware::wants_response_hook`] (world
    /// `middleware-with-hook-needs`). Default: `true`.
    fn wants_request_hook(&self) -> bool {
        true
    }

    /// Whether the response hooks read the request's headers ([`Request::header`] and the
    /// like, from `on_response`, `on_response_body` or `on_response_subresponse`). When every
    /// middleware of a route whose response hook runs answers `false`, the gateway sends the
    /// request's headers upstream without keeping a copy (one header-map copy per request
    /// saved), and in the response hooks the request has no headers (and no
    /// [`Request::authority`] unless the request target carried one); method, path, query,
    /// client address and state stay readable.
    ///
    /// Asked once per configured middleware, like [`Middleware::wants_response_hook`].
    /// Default: `true`.
    fn reads_request_headers_in_response(&self) -> bool {
        true
    }

    /// How many leading bytes of the response body to see in [`Middleware::on_response_body`]
    /// (0: none, and the gateway calls [`Middleware::on_response`] as usual). The gateway caps
    /// it at 65536.
    ///
    /// Asked once per configured middleware, like [`Middleware::wants_response_hook`] (ignored
    /// when that is `false`). Cost: the gateway holds up to this many bytes of every response
    /// through the middleware before sending the head, and copies them into the instance for
    /// each call; declare only what you read. Default: 0.
    fn response_body_peek(&self) -> u32 {
        0
    }

    /// Called instead of [`Middleware::on_response`] when [`Middleware::response_body_peek`] is
    /// above 0, with the first bytes of the response body: at most that many, fewer when the
    /// body is shorter; `complete` says whether `body_start` is the whole body. A response
    /// without a body (to `HEAD`, 1xx, 204, 304) gives an empty, complete `body_start`.
    ///
    /// Read-only: the client receives the body unchanged; to send another, return
    /// [`Action::Respond`] with a whole reply. Default: calls `on_response`.
    fn on_response_body(
        &self,
        req: &mut Request<'_>,
        resp: &mut Response<'_>,
        body_start: &[u8],
        complete: bool,
    ) -> Action {
        let _ = (body_start, complete);
        self.on_response(req, resp)
    }

    /// Called with the answer to the subrequest that [`Middleware::on_request`] (or an earlier
    /// call of this hook) recorded with [`outbound::send`], once the gateway has it: decides as
    /// `on_request` would (continue, possibly after recording another subrequest, or reply).
    /// May run on another instance than `on_request` did: keep what it needs in the request's
    /// state. Default: continue.
    fn on_request_subresponse(&self, req: &mut Request<'_>, answer: outbound::Answer) -> Action {
        let _ = (req, answer);
        Action::Continue
    }

    /// The same for a subrequest recorded by a response hook; a reply replaces the response.
    /// Default: continue.
    fn on_response_subresponse(
        &self,
        req: &mut Request<'_>,
        resp: &mut Response<'_>,
        answer: outbound::Answer,
    ) -> Action {
        let _ = (req, resp, answer);
        Action::Continue
    }

    /// Whether the gateway should call [`Middleware::on_complete`] for this middleware's
    /// requests. Asked once per configured middleware, like
    /// [`Middleware::wants_response_hook`]. Default: `false` (the gateway then does nothing
    /// more per request).
    fn wants_on_complete(&self) -> bool {
        false
    }

    /// Called once for every request whose `on_request` ran here, after the response has been
    /// sent (or the client went away, or the upstream failed), with this middleware's
    /// per-request state ([`Request::set_state`]) as its last hook left it. Runs off the
    /// response path, on any instance; there is no request to read or edit. In-flight counts
    /// this middleware took ([`counters::acquire_in_flight`]) are released after it returns.
    /// Default: nothing.
    fn on_complete(&self, state: Option<&[u8]>, outcome: completion::Outcome) {
        let _ = (state, outcome);
    }

    /// The hooks' work, when it is the same header edits on every request whatever the request
    /// (fixed by the config): `on_request` always makes exactly the request edits and continues,
    /// `on_response` always makes exactly the response edits and continues. The gateway then
    /// applies the edits itself where it would have called the hooks (request edits in chain
    /// order, response edits in reverse chain order, replies of later middlewares included) and
    /// never calls the hooks: no instance, no hook call (its hook-call counters stay 0). Keep
    /// the hooks doing the same (they still serve `wasmgate plugin test` and older gateways).
    ///
    /// Asked once per configured middleware, like [`Middleware::wants_response_hook`] (world
    /// `middleware-with-fixed-edits`). The gateway refuses the config (a load error naming the
    /// middleware) when an edit is invalid, or when the middleware also answers
    /// [`Middleware::wants_on_complete`] true, a [`Middleware::response_body_peek`] above 0 or a
    /// [`Middleware::retry_mode`] other than `None`. Response edits are not applied when
    /// [`Middleware::wants_response_hook`] is `false`. Default: `None` (hooks called).
    fn fixed_edits(&self) -> Option<fixed_edits::FixedEdits> {
        None
    }

    /// The take `on_request` makes, when `on_request` is exactly: take `cost` from the bucket
    /// of a key read from the request ([`counters::take`], in the middleware's scope) and, when
    /// allowed, continue with no edit, no state and nothing else done. The gateway then makes
    /// that take itself before the hook (same key text, same bucket, same wait for a close
    /// token under the `rateLimit` grant) and calls `on_request` only when it is refused: the
    /// hook then takes again, is refused, and replies as it does (a 429, say). An admitted
    /// request costs no instance and no hook call (its hook-call counter is not incremented).
    /// Keep `on_request` doing the take (it still serves refused requests, `wasmgate plugin
    /// test`, older gateways and Redis-backed counters, where the gateway always calls it).
    ///
    /// Asked once per configured middleware, like [`Middleware::wants_response_hook`] (world
    /// `middleware-with-pre-take`). Ignored when [`Middleware::wants_on_complete`] is `true`.
    /// The gateway refuses the config (a load error naming the middleware) when the spec is
    /// invalid (an IPv6 subnet outside 1 to 128, an invalid header name) or the middleware has
    /// no `counters` grant. Default: `None` (`on_request` called on every request).
    fn pre_take(&self) -> Option<pre_take::PreTake> {
        None
    }

    /// The one request header `on_request`'s `continue` depends on, when it does: declare it
    /// and the gateway remembers, per value of that header (a keyed digest of it, not the
    /// value), what a `continue` did ([`Request::set_header`], `append_header`,
    /// `remove_header`, [`identity::set_user`]) for `ttl_ms`, and replays it for later requests
    /// carrying the same value without calling the hook (no instance, no hook call: ≈ 1 µs per
    /// request in `pooled` mode). Refusals are never remembered; a call that did anything else
    /// (state, path or query edits, a log line, counters, kv, outbound calls, body...) is not
    /// remembered either. See [`verdict_memo`].
    ///
    /// Asked once per configured middleware (world `middleware-with-verdict-memo`). Ignored
    /// when [`Middleware::wants_on_complete`] is `true`, or the middleware has a `body` grant
    /// or Redis-backed `counters` / `kv`. The gateway refuses the config (a load error naming
    /// the middleware) when the header name is invalid. Default: `None` (`on_request` called
    /// on every request).
    fn verdict_memo(&self) -> Option<verdict_memo::VerdictMemo> {
        None
    }

    /// Whether the gateway asks [`Middleware::retry_after`] when an attempt of a request
    /// routed through this middleware fails (see [`retry`]). Asked once per configured
    /// middleware. Default: [`retry::RetryMode::None`].
    fn retry_mode(&self) -> retry::RetryMode {
        retry::RetryMode::None
    }

    /// After a failed attempt: nanoseconds to wait before the next one, or `None` to give up.
    /// Runs on any instance, with no request to read. Default: give up.
    fn retry_after(&self, failed: &retry::FailedAttempt) -> Option<u64> {
        let _ = failed;
        None
    }
}

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub use guest::__private;
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub use guest::connection::__private as __private_connection;

/// Export a [`Middleware`] type as the component's `handler` and `capabilities` interfaces:
/// `plugin_sdk::export_middleware!(MyPlugin);` once, at the plugin crate's root.
///
/// For `wasm32` it defines the instance's config slot and the component exports; natively (this
/// expansion) it only checks at compile time that the type implements [`Middleware`].
/// Export a [`connection::ConnectionMiddleware`] type as the component's `connection`
/// interface (world `connection-middleware`). Natively: a compile-time check only.
#[cfg(not(target_arch = "wasm32"))]
#[macro_export]
macro_rules! export_connection_middleware {
    ($middleware:ty) => {
        const _: () = {
            const fn assert_connection_middleware<T: $crate::connection::ConnectionMiddleware>() {}
            assert_connection_middleware::<$middleware>();
        };
    };
}

#[cfg(not(target_arch = "wasm32"))]
#[macro_export]
macro_rules! export_middleware {
    ($middleware:ty) => {
        const _: () = {
            const fn assert_middleware<T: $crate::Middleware>() {}
            assert_middleware::<$middleware>();
        };
    };
}
