//! The API-key guard example in every plugin language, as component files for the suites.
//!
//! Rust's is built by host/build.rs with the other guests; JavaScript's, Python's, C's and Go's by
//! `scripts/build-lang-plugin.sh`, which caches them by content under `target/lang-wasm/` (a
//! cache hit costs a few milliseconds, a build 10-20 s). Each language is built at most once per
//! test process. A toolchain that is not installed fails the test with the command to run
//! (`bash scripts/setup.sh`); it never skips. A JavaScript or Python build is compiled into the
//! suites' compiled-plugin cache once, before any gateway needs it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::gateway::check_config_niced;
use super::{Config, fixture_wasm};

/// A language the guard example is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Js,
    Python,
    C,
    Go,
}

impl Lang {
    /// The argument of `scripts/build-lang-plugin.sh`, and the name in test messages.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Js => "js",
            Lang::Python => "python",
            Lang::C => "c",
            Lang::Go => "go",
        }
    }
}

/// The guard component of `lang`, built if its sources changed.
pub fn guard_wasm(lang: Lang) -> PathBuf {
    static JS: OnceLock<PathBuf> = OnceLock::new();
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    static C: OnceLock<PathBuf> = OnceLock::new();
    static GO: OnceLock<PathBuf> = OnceLock::new();
    match lang {
        Lang::Rust => fixture_wasm("example_rust_plugin"),
        Lang::Js => JS.get_or_init(|| precompiled(build(lang))).clone(),
        Lang::Python => PYTHON.get_or_init(|| precompiled(build(lang))).clone(),
        // About 100 KB: it compiles in well under a second.
        Lang::C => C.get_or_init(|| build(lang)).clone(),
        // About 2 MB (Go's runtime): compiled once into the shared cache like the engines.
        Lang::Go => GO.get_or_init(|| precompiled(build(lang))).clone(),
    }
}

/// Compiles `wasm` into the suites' shared compiled-plugin cache with `wasmgate check` (no time
/// limit), so that gateways then load it in well under a second: compiling a 12-18 MB engine
/// component takes 30-80 s in a debug build on a busy machine, too close to the time a gateway
/// is given to start. Niced, like the build: the other suites' deadline tests run beside it.
fn precompiled(wasm: PathBuf) -> PathBuf {
    let yaml = Config::new()
        .plugin_dir()
        .service("app", "http://127.0.0.1:1")
        .route_through("r", "PathPrefix(`/`)", "app", "guard")
        .middlewares(
            "    guard:\n      plugin:\n        name: guard\n        \
             config: { keys: { a: k } }\n        deadline: 2s\n",
        )
        .yaml();
    let (ok, stdout, stderr) = check_config_niced(&yaml, &[("guard", wasm.clone())]);
    assert!(ok, "{} does not load: {stdout}{stderr}", wasm.display());
    wasm
}

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host crate sits in the workspace")
}

fn build(lang: Lang) -> PathBuf {
    let root = workspace_root();
    // Lowest CPU priority: the other suites' deadline tests run beside it.
    let out = Command::new("nice")
        .args(["-n", "19", "bash"])
        .arg(root.join("scripts/build-lang-plugin.sh"))
        .arg(lang.name())
        .output()
        .expect("run bash scripts/build-lang-plugin.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "building the {} guard failed:\n{stderr}",
        lang.name()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = root.join(stdout.lines().last().unwrap_or_default().trim());
    assert!(
        path.is_file(),
        "the {} build printed {stdout:?}, which is not a file",
        lang.name()
    );
    path
}
