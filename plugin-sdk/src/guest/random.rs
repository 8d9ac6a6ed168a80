//! The `wasi:random/random` import, on its own, for plugins built for `wasm32-unknown-unknown`:
//! the only WASI interface the SDK uses there. Declared here (one function) rather than taken
//! from the WASI packages, so such a plugin imports nothing else of WASI; the gateway links it
//! under any `0.2.x` version. Imported only by plugins that call [`crate::random::fill`]. (Not
//! for `wasm32-wasip2`: wasm-component-ld refuses to merge this partial interface with
//! wasi-libc's whole one.)

mod bindings {
    wit_bindgen::generate!({
        inline: "
            package wasi:random@0.2.0;

            interface random {
                get-random-bytes: func(len: u64) -> list<u8>;
            }

            world random-import {
                import random;
            }
        ",
        world: "random-import",
        runtime_path: "crate::guest::bindings::__wit_bindgen_rt",
    });
}

pub(crate) use bindings::wasi::random::random::get_random_bytes;
