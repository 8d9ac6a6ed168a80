//! The build script of the bundled plugins that compile Go regexes (`forward-auth`,
//! `redirect-regex`, `replace-path-regex`, `strip-prefix-regex`; each names this file as its
//! `package.build`): links the component with a 64 KiB guest stack instead of the bundled
//! plugins' 16 KiB (`.cargo/config.toml`). `traefik_options::go_regex`'s compiler recurses once
//! per nesting level, and patterns at `MAX_NESTING` (64) need more than 16 KiB (the e2e suite
//! `config_nesting` compiles the deepest). Runs at build time only; the later `-z stack-size`
//! wins, and a build script's link arguments come after `RUSTFLAGS`'.

fn main() {
    println!("cargo:rerun-if-changed=../deep-stack-build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=65536");
    }
}
