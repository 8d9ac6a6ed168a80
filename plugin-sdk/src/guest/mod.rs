//! The component side: bindings generated from `wit/`, the host-backed heads, and the glue the
//! [`export_middleware!`](crate::export_middleware) macro expands to.

#[cfg(target_os = "unknown")]
mod allocator;
pub mod connection;
mod glue;
mod heads;
#[cfg(target_os = "unknown")]
pub(crate) mod random;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        // Includes `middleware-with-compression`, `middleware-with-body`,
        // `middleware-with-outbound-http`, `middleware-with-counters`,
        // `middleware-with-capabilities` and `middleware-with-client-connection`; `counters`,
        // `outbound-http`, `body`, `compression`, `client-connection` and `identity` are
        // imported only by plugins that call them (unused imports are left out of the
        // component), so only those need a grant (`client-connection` and `identity` need none).
        // `middleware-with-completion` adds the `completion` export, declined by default
        // (`Middleware::wants_on_complete`).
        // `middleware-with-retry-policy` adds the `retry-policy` export, declined by default
        // (`Middleware::retry_mode`); `middleware-with-kv` adds the `kv` import (needs the
        // grant, like `counters`); `middleware-with-grpc-web` adds the `grpc-web` import (no
        // grant); `middleware-with-hook-needs` adds the `hook-needs` export (every hook and
        // the request's headers needed by default: `Middleware::wants_request_hook`,
        // `Middleware::reads_request_headers_in_response`); `middleware-with-fixed-edits` adds
        // the `fixed-edits` export (`none` by default: `Middleware::fixed_edits`);
        // `middleware-with-client-ip` adds the `client-ip` import (no grant;
        // `Request::client_ip`); `middleware-with-pre-take` adds the `pre-take` export (`none`
        // by default: `Middleware::pre_take`); `middleware-with-verdict-memo` adds the
        // `verdict-memo` export (`none` by default: `Middleware::verdict_memo`).
        world: "middleware-with-verdict-memo",
        // The export macro is invoked from the plugin crate, which depends on this crate only.
        pub_export_macro: true,
        export_macro_name: "__export_middleware_world",
        default_bindings_module: "plugin_sdk::__private::bindings",
        runtime_path: "crate::guest::bindings::__wit_bindgen_rt",
    });

    #[doc(hidden)]
    pub use wit_bindgen::rt as __wit_bindgen_rt;
}

/// The imported interfaces and their types (`wit::http::Request`, `wit::log`...).
pub(crate) use bindings::wasmgate::plugin as wit;

/// What the export macro needs from this crate; not part of the SDK's API.
#[doc(hidden)]
pub mod __private {
    pub use super::bindings;
    pub use super::bindings::exports::wasmgate::plugin::capabilities::{
        Declaration, Guest as CapabilitiesGuest,
    };
    pub use super::bindings::exports::wasmgate::plugin::completion::{
        Guest as CompletionGuest, Outcome as WitOutcome,
    };
    pub use super::bindings::exports::wasmgate::plugin::fixed_edits::{
        Edits as WitFixedEdits, Guest as FixedEditsGuest,
    };
    pub use super::bindings::exports::wasmgate::plugin::handler::Guest;
    pub use super::bindings::exports::wasmgate::plugin::hook_needs::{
        Guest as HookNeedsGuest, Needs as WitNeeds,
    };
    pub use super::bindings::exports::wasmgate::plugin::pre_take::{
        Guest as PreTakeGuest, TakeSpec as WitTakeSpec,
    };
    pub use super::bindings::exports::wasmgate::plugin::retry_policy::{
        FailedAttempt as WitFailedAttempt, Guest as RetryPolicyGuest, RetryMode as WitRetryMode,
    };
    pub use super::bindings::exports::wasmgate::plugin::subresponses::{
        Guest as SubresponsesGuest, SubrequestFailure as WitSubrequestFailure,
        Subresponse as WitSubresponse,
    };
    pub use super::bindings::exports::wasmgate::plugin::verdict_memo::{
        Guest as VerdictMemoGuest, MemoSpec as WitMemoSpec,
    };
    pub use super::glue::{
        declare, fixed_edits, hook_needs, init, on_complete, on_request, on_request_subresponse,
        on_response, on_response_body, on_response_subresponse, pre_take, retry_after,
        validate_config, verdict_memo, wants_on_complete, wants_retry_policy,
    };
    pub use super::wit::http::{
        Action as WitAction, Request as WitRequest, Response as WitResponse,
    };
}

/// Export a [`Middleware`](crate::Middleware) type as the component's `handler` and
/// `capabilities` interfaces (world `middleware-with-capabilities`).
///
/// Invoke it once, at the crate root of a `cdylib` plugin crate: `plugin_sdk::export_middleware!(MyPlugin);`.
/// It defines the instance's slot for the parsed config (set by `init`) and the component exports.
/// Natively it expands to a compile-time check that the type implements `Middleware`.
#[macro_export]
macro_rules! export_middleware {
    ($middleware:ty) => {
        const _: () = {
            struct __WasmgateMiddleware;

            ::std::thread_local! {
                static __WASMGATE_INSTANCE: ::core::cell::OnceCell<$middleware> =
                    const { ::core::cell::OnceCell::new() };
            }

            impl $crate::__private::Guest for __WasmgateMiddleware {
                fn validate_config(
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $crate::__private::validate_config::<$middleware>(&config)
                }

                fn init(
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $crate::__private::init(&__WASMGATE_INSTANCE, &config)
                }

                fn on_request(req: &$crate::__private::WitRequest) -> $crate::__private::WitAction {
                    $crate::__private::on_request(&__WASMGATE_INSTANCE, req)
                }

                fn on_response(
                    req: &$crate::__private::WitRequest,
                    resp: &$crate::__private::WitResponse,
                ) -> $crate::__private::WitAction {
                    $crate::__private::on_response(&__WASMGATE_INSTANCE, req, resp)
                }
            }

            impl $crate::__private::CapabilitiesGuest for __WasmgateMiddleware {
                fn declare() -> $crate::__private::Declaration {
                    $crate::__private::declare(&__WASMGATE_INSTANCE)
                }

                fn on_response_body(
                    req: &$crate::__private::WitRequest,
                    resp: &$crate::__private::WitResponse,
                    body_start: ::std::vec::Vec<u8>,
                    complete: bool,
                ) -> $crate::__private::WitAction {
                    $crate::__private::on_response_body(
                        &__WASMGATE_INSTANCE,
                        req,
                        resp,
                        &body_start,
                        complete,
                    )
                }
            }

            impl $crate::__private::SubresponsesGuest for __WasmgateMiddleware {
                fn on_request_subresponse(
                    req: &$crate::__private::WitRequest,
                    answer: ::core::result::Result<
                        $crate::__private::WitSubresponse,
                        $crate::__private::WitSubrequestFailure,
                    >,
                ) -> $crate::__private::WitAction {
                    $crate::__private::on_request_subresponse(&__WASMGATE_INSTANCE, req, answer)
                }

                fn on_response_subresponse(
                    req: &$crate::__private::WitRequest,
                    resp: &$crate::__private::WitResponse,
                    answer: ::core::result::Result<
                        $crate::__private::WitSubresponse,
                        $crate::__private::WitSubrequestFailure,
                    >,
                ) -> $crate::__private::WitAction {
                    $crate::__private::on_response_subresponse(
                        &__WASMGATE_INSTANCE,
                        req,
                        resp,
                        answer,
                    )
                }
            }

            impl $crate::__private::CompletionGuest for __WasmgateMiddleware {
                fn wants_on_complete() -> bool {
                    $crate::__private::wants_on_complete(&__WASMGATE_INSTANCE)
                }

                fn on_complete(
                    state: ::core::option::Option<::std::vec::Vec<u8>>,
                    outcome: $crate::__private::WitOutcome,
                ) {
                    $crate::__private::on_complete(&__WASMGATE_INSTANCE, state, outcome)
                }
            }

            impl $crate::__private::HookNeedsGuest for __WasmgateMiddleware {
                fn hook_needs() -> $crate::__private::WitNeeds {
                    $crate::__private::hook_needs(&__WASMGATE_INSTANCE)
                }
            }

            impl $crate::__private::FixedEditsGuest for __WasmgateMiddleware {
                fn fixed_edits() -> ::core::option::Option<$crate::__private::WitFixedEdits> {
                    $crate::__private::fixed_edits(&__WASMGATE_INSTANCE)
                }
            }

            impl $crate::__private::PreTakeGuest for __WasmgateMiddleware {
                fn pre_take() -> ::core::option::Option<$crate::__private::WitTakeSpec> {
                    $crate::__private::pre_take(&__WASMGATE_INSTANCE)
                }
            }

            impl $crate::__private::VerdictMemoGuest for __WasmgateMiddleware {
                fn verdict_memo() -> ::core::option::Option<$crate::__private::WitMemoSpec> {
                    $crate::__private::verdict_memo(&__WASMGATE_INSTANCE)
                }
            }

            impl $crate::__private::RetryPolicyGuest for __WasmgateMiddleware {
                fn wants_retry_policy() -> $crate::__private::WitRetryMode {
                    $crate::__private::wants_retry_policy(&__WASMGATE_INSTANCE)
                }

                fn retry_after(
                    failed: $crate::__private::WitFailedAttempt,
                ) -> ::core::option::Option<u64> {
                    $crate::__private::retry_after(&__WASMGATE_INSTANCE, failed)
                }
            }

            $crate::__private::bindings::__export_middleware_world!(
                __WasmgateMiddleware with_types_in $crate::__private::bindings
            );
        };
    };
}
