//! Test fixture `other-world`: a valid WebAssembly component for a different world than
//! `wasmgate:plugin/middleware`, so the host must reject it as a plugin.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({
        inline: "
            package test:other;
            world other {
                export run: func() -> u32;
            }
        ",
    });

    struct Other;

    impl Guest for Other {
        fn run() -> u32 {
            42
        }
    }

    export!(Other);
}
