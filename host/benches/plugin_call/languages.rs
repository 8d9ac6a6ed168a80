//! The language rows: the API-key guard example in every plugin language (examples/rust-plugin,
//! c-plugin, go-plugin, js-plugin, python-plugin: the same behaviour, the same config), on a
//! request carrying a good key (the key is checked, stripped, the user header set), pooled and
//! per-request. Above each language's rows: the component's size, the time this engine took to
//! compile it (no compile cache) and the initial memory of an instance.
//!
//! Rust's component comes from host/build.rs; the others are built by
//! `scripts/build-lang-plugin.sh` (cached by content: milliseconds when the sources did not
//! change). A language whose toolchain is not installed (`bash scripts/setup.sh`) is reported
//! as such and its rows are left out. Every middleware gets a 2 s deadline instead of the
//! default 50 ms, so that a slow fresh instance (Python, per-request) on a busy machine is
//! measured rather than killed, and a 64 MiB memory cap: with the cap the gateway fits when
//! `memoryLimit` is not set (initial memory + 8 MiB), the JavaScript guard's pooled instance
//! outgrew it within the first 2000 requests (19 MiB wanted, 17.1 MiB cap). Neither changes
//! what a call costs.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmgate::plugins::{Chain, MiddlewareBudget, PluginMiddleware, PluginRegistry};

use super::cases::{Expect, Req, RequestMaker};
use super::{Bench, ms, print_row, run};

/// The guard's config: two users, the user passed upstream.
const CONFIG: &str = r#"{"keys": {"alice": "alice-secret-key", "ci-bot": "ci-secret-key"},
    "userHeader": "x-api-user"}"#;

const LANGUAGES: [&str; 5] = ["rust", "c", "go", "js", "python"];

/// The guard component of `lang`, or why there is none.
fn component(lang: &str) -> Result<PathBuf, String> {
    if lang == "rust" {
        return Ok(PathBuf::from(env!("WASMGATE_WASM_DIR")).join("example_rust_plugin.wasm"));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .ok_or("no workspace root")?;
    let out = Command::new("bash")
        .arg(root.join("scripts/build-lang-plugin.sh"))
        .arg(lang)
        .current_dir(&root)
        .output()
        .map_err(|e| format!("running build-lang-plugin.sh: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("failed").to_owned());
    }
    let printed = String::from_utf8_lossy(&out.stdout);
    Ok(root.join(printed.lines().last().unwrap_or_default().trim()))
}

/// Runs the language rows (those `--only` selects: `guard-go/pooled`...).
pub fn rows(bench: &Bench) {
    let label = |lang: &str, mode: &str| format!("guard-{lang}/{mode}");
    let wanted = |l: &str| bench.wants(l);
    for lang in LANGUAGES {
        let modes = [("pooled", false), ("per-request", true)];
        if !modes.iter().any(|(m, _)| wanted(&label(lang, m))) {
            continue;
        }
        let path = match component(lang) {
            Ok(path) => path,
            Err(why) => {
                println!("(guard-{lang}: not built: {why})");
                continue;
            }
        };
        let registry = PluginRegistry::load(bench.engine.clone(), None).expect("registry");
        let (registry, name) = registry.with_file(&path).expect("read the component");
        let size = registry.file(&name).map_or(0, |f| f.bytes.len());
        let started = Instant::now();
        let plugin = registry
            .compiled(&name)
            .expect("compile")
            .expect("the component");
        let compile = started.elapsed();
        let deadline = Duration::from_secs(2);
        let (initial, _) = wasmgate::app::plugin_tool::inspect::initial_memory(
            &bench.engine,
            &plugin,
            Some(deadline),
        )
        .expect("instantiate");
        println!(
            "(guard-{lang}: {:.1} KiB, compiled in {:.0} ms, initial memory {:.1} MiB)",
            size as f64 / 1024.0,
            ms(compile),
            initial as f64 / f64::from(1 << 20)
        );
        for (mode, per_request) in modes {
            let label = label(lang, mode);
            if !wanted(&label) {
                continue;
            }
            let mut budget = MiddlewareBudget {
                deadline,
                memory_limit: 64 << 20,
                ..Default::default()
            };
            if per_request {
                budget.isolation = wasmgate::plugins::Isolation::PerRequest;
            }
            let mw = PluginMiddleware::configure(
                bench.engine.clone(),
                &label,
                plugin.clone(),
                CONFIG,
                budget,
            )
            .expect("configure the guard");
            let chain = Chain::new(vec![Arc::new(mw)]);
            let mut maker = RequestMaker::new(Req::ApiKey, None);
            // A fresh instance per request costs up to milliseconds: fewer samples there.
            let (warmup, iterations) = match (bench.quick, per_request) {
                (true, false) => (2_000, 20_000),
                (true, true) => (50, 500),
                (false, false) => (20_000, 200_000),
                (false, true) => (200, 5_000),
            };
            let iterations = bench.samples.unwrap_or(iterations);
            run(&chain, &mut maker, Expect::Forward, warmup);
            print_row(&label, run(&chain, &mut maker, Expect::Forward, iterations));
        }
    }
}
