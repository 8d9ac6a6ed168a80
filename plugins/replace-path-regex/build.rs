//! Links the component with a 64 KiB guest stack instead of the bundled plugins' 16 KiB
//! (`.cargo/config.toml`): this plugin compiles Go regexes (`traefik_options::go_regex`), whose
//! compiler recurses once per nesting level, and patterns at `MAX_NESTING` (64) need more than
//! 16 KiB (the e2e suite `config_nesting` compiles the deepest). Runs at build time only; the
//! later `-z stack-size` wins, and a build script's link arguments come after `RUSTFLAGS`'.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=65536");
    }
}
