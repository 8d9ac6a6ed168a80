//! The component side of connection middlewares: bindings for the `connection-middleware`
//! world and the glue [`export_connection_middleware!`](crate::export_connection_middleware)
//! expands to.

use std::cell::OnceCell;
use std::thread::LocalKey;

use crate::connection::{Connection, ConnectionMiddleware, Verdict};

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "connection-middleware",
        pub_export_macro: true,
        export_macro_name: "__export_connection_world",
        default_bindings_module: "plugin_sdk::__private_connection::bindings",
        runtime_path: "crate::guest::bindings::__wit_bindgen_rt",
    });
}

use bindings::exports::wasmgate::plugin::connection as wit;

/// `counters.acquire-in-flight` for the connection of the current `on-connect` call.
pub(crate) fn counters_acquire(key: &str, limit: u32) -> bool {
    bindings::wasmgate::plugin::counters::acquire_in_flight(key, limit)
}

/// `validate-config`: parse, report, drop.
pub fn validate_config<T: ConnectionMiddleware>(config: &str) -> Result<(), String> {
    super::glue::route_panics_to_host_log();
    crate::config::parse(config, T::from_config).map(drop)
}

/// `init`: parse and keep the config for the instance's life (once per instance).
pub fn init<T: ConnectionMiddleware>(
    slot: &'static LocalKey<OnceCell<T>>,
    config: &str,
) -> Result<(), String> {
    super::glue::route_panics_to_host_log();
    let middleware = crate::config::parse(config, T::from_config)?;
    slot.with(|cell| {
        cell.set(middleware)
            .map_err(|_| "init called twice on the same instance".to_string())
    })
}

/// `on-connect`: hand the connection's facts to [`ConnectionMiddleware::on_connect`].
pub fn on_connect<T: ConnectionMiddleware>(
    slot: &'static LocalKey<OnceCell<T>>,
    info: wit::ConnectionInfo,
) -> wit::Verdict {
    let conn = Connection {
        client_addr: info.client_addr,
        local_addr: info.local_addr,
        router_name: info.router_name,
        is_tls: info.is_tls,
        server_name: info.server_name,
        alpn: info.alpn,
        first_bytes: info.first_bytes,
    };
    slot.with(
        |cell| match super::glue::initialised(cell).on_connect(&conn) {
            Verdict::Accept => wit::Verdict::Accept,
            Verdict::Reject(why) => wit::Verdict::Reject(why),
        },
    )
}

/// What the export macro needs; not part of the SDK's API.
#[doc(hidden)]
pub mod __private {
    pub use super::bindings;
    pub use super::bindings::exports::wasmgate::plugin::connection::{
        ConnectionInfo, Guest, Verdict,
    };
    pub use super::{init, on_connect, validate_config};
}

/// Export a [`ConnectionMiddleware`](crate::connection::ConnectionMiddleware) type as the
/// component's `connection` interface (world `connection-middleware`):
/// `plugin_sdk::export_connection_middleware!(MyPlugin);` once, at the crate root.
#[macro_export]
macro_rules! export_connection_middleware {
    ($middleware:ty) => {
        const _: () = {
            struct __WasmgateConnectionMiddleware;

            ::std::thread_local! {
                static __WASMGATE_INSTANCE: ::core::cell::OnceCell<$middleware> =
                    const { ::core::cell::OnceCell::new() };
            }

            impl $crate::__private_connection::Guest for __WasmgateConnectionMiddleware {
                fn validate_config(
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $crate::__private_connection::validate_config::<$middleware>(&config)
                }

                fn init(
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $crate::__private_connection::init(&__WASMGATE_INSTANCE, &config)
                }

                fn on_connect(
                    conn: $crate::__private_connection::ConnectionInfo,
                ) -> $crate::__private_connection::Verdict {
                    $crate::__private_connection::on_connect(&__WASMGATE_INSTANCE, conn)
                }
            }

            $crate::__private_connection::bindings::__export_connection_world!(
                __WasmgateConnectionMiddleware with_types_in $crate::__private_connection::bindings
            );
        };
    };
}
