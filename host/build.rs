//! Builds every guest component and tells the host crate where they are: the test fixtures and
//! the example plugin for `wasm32-wasip2` (components, as users build theirs) in one nested
//! cargo invocation; the bundled plugins for `wasm32-unknown-unknown` in a second one, each
//! core module then made a component here with `wit-component` (the component-type sections
//! wit-bindgen emitted say what it imports and exports). So a bundled plugin imports only
//! wasmgate's interfaces, plus `wasi:random/random` where it asks for random bytes: none of the
//! ~20 WASI imports (stdio, terminal, environment, exit) and shim core instances wasi-libc
//! brings, which a per-request instantiation pays for (bench/README, "Bundled plugins without
//! WASI").
//!
//! Outputs:
//! - `WASMGATE_WASM_DIR` (compile-time env): the absolute directory holding every built
//!   component (`fixture_loop.wasm`, `wasmgate_plugin_headers.wasm`,
//!   `example_rust_plugin.wasm`...): cargo's `wasm32-wasip2` output directory, into which the
//!   bundled plugins' components are written too.
//! - `$OUT_DIR/bundled_plugins.rs`: `pub static BUNDLED_PLUGINS: &[(&str, &[u8])]`, one
//!   `(name, component bytes)` per crate in `plugins/`; the name is the crate name without
//!   `wasmgate-plugin-`.
//!
//! Runs only when the guest sources change (`wit/`, `plugin-contract/`, `plugin-sdk/`,
//! `traefik-options/`, `der-walk/`, `plugins/`, `tests/plugins/`, `examples/rust-plugin/`, the workspace
//! manifest, lock file and cargo config). The nested build uses the `plugin` profile and its own
//! target directory, `target/wasm`, so it never contends with the outer build's lock; when
//! nothing changed it is a no-op of about a second.

use std::env;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Test fixtures and the example plugin: WASI components, as users' plugins are.
const WASM_TARGET: &str = "wasm32-wasip2";
/// Bundled plugins: core modules without WASI, made components by [`componentize`].
const BUNDLED_TARGET: &str = "wasm32-unknown-unknown";
const PROFILE: &str = "plugin";
/// Folders whose every sub-folder with a `Cargo.toml` is a guest crate.
const GUEST_PARENTS: &[&str] = &["plugins", "tests/plugins"];
/// Single guest crates outside those folders.
const GUEST_CRATES: &[&str] = &["examples/rust-plugin"];
/// Everything a guest component is built from.
const WATCHED: &[&str] = &[
    "wit",
    "plugin-contract",
    "plugin-sdk",
    "traefik-options",
    "der-walk",
    "oxy-expression",
    "plugins",
    "tests/plugins",
    "examples/rust-plugin",
    "tests/http-wasm/rust-guest/src",
    "tests/http-wasm/rust-guest/Cargo.toml",
    "tests/http-wasm/rust-guest/Cargo.lock",
    "tests/http-wasm/go-guest",
    "Cargo.toml",
    "Cargo.lock",
    ".cargo/config.toml",
];
const BUNDLED_PREFIX: &str = "wasmgate-plugin-";
/// Test fixtures also built as the bundled plugins are (`wasm32-unknown-unknown`, made a
/// component here), as `<crate>_bare.wasm` beside their WASI build: the panic-reporting test
/// runs the trap fixture both ways.
const BARE_FIXTURES: &[&str] = &["fixture-trap"];
/// The http-wasm guest built from source with the published `http-wasm-guest` crate (a Traefik
/// Wasm plugin: a core module for `wasm32-wasip1`). Its own workspace and lock file; built into
/// `target/wasm-p1` and exposed as `WASMGATE_HTTP_WASM_RUST_GUEST` (the `.wasm` path).
const HTTP_WASM_GUEST: &str = "tests/http-wasm/rust-guest";
const HTTP_WASM_TARGET: &str = "wasm32-wasip1";
/// The Go http-wasm guest (standard library only), built with the Go toolchain when one is on
/// PATH (scripts/setup.sh installs it) into `target/go-guest/<source hash>.wasm`, exposed as
/// `WASMGATE_HTTP_WASM_GO_GUEST` (empty without Go: its test then says how to get it).
/// Built here rather than by its test so the ~30 s of `go build` never competes with the
/// timing-sensitive end-to-end suites.
const GO_GUEST: &str = "tests/http-wasm/go-guest";

/// A guest crate: its package name and whether it ships inside the binary.
struct Guest {
    package: String,
    bundled: bool,
}

impl Guest {
    /// File name cargo gives the component: the crate name with `-` turned into `_`.
    fn wasm_file(&self) -> String {
        format!("{}.wasm", self.package.replace('-', "_"))
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = env_path("CARGO_MANIFEST_DIR")?;
    let root = manifest_dir
        .parent()
        .ok_or("host crate has no parent directory (workspace root)")?
        .to_path_buf();
    for watched in WATCHED {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let guests = discover_guests(&root)?;
    check_wasm_target(WASM_TARGET)?;
    check_wasm_target(BUNDLED_TARGET)?;
    check_wasm_target(HTTP_WASM_TARGET)?;
    let target_dir = root.join("target").join("wasm");
    let (bundled, others): (Vec<&Guest>, Vec<&Guest>) =
        guests.iter().partition(|guest| guest.bundled);
    let bare_fixtures: Vec<&Guest> = others
        .iter()
        .copied()
        .filter(|guest| BARE_FIXTURES.contains(&guest.package.as_str()))
        .collect();
    build_guests(&root, &target_dir, WASM_TARGET, &others)?;
    build_guests(
        &root,
        &target_dir,
        BUNDLED_TARGET,
        &[bundled.as_slice(), bare_fixtures.as_slice()].concat(),
    )?;

    let wasm_dir = target_dir.join(WASM_TARGET).join(PROFILE);
    let core_dir = target_dir.join(BUNDLED_TARGET).join(PROFILE);
    for guest in &bundled {
        componentize(
            &core_dir.join(guest.wasm_file()),
            &wasm_dir.join(guest.wasm_file()),
        )?;
    }
    for guest in &bare_fixtures {
        let bare = guest.wasm_file().replace(".wasm", "_bare.wasm");
        componentize(&core_dir.join(guest.wasm_file()), &wasm_dir.join(bare))?;
    }
    for guest in &guests {
        let file = wasm_dir.join(guest.wasm_file());
        if !file.is_file() {
            return Err(format!(
                "the guest build succeeded but {} is missing",
                file.display()
            ));
        }
    }
    println!("cargo:rustc-env=WASMGATE_WASM_DIR={}", wasm_dir.display());
    let http_wasm_guest = build_http_wasm_guest(&root)?;
    println!(
        "cargo:rustc-env=WASMGATE_HTTP_WASM_RUST_GUEST={}",
        http_wasm_guest.display()
    );
    let go_guest = build_go_guest(&root)?;
    println!(
        "cargo:rustc-env=WASMGATE_HTTP_WASM_GO_GUEST={}",
        go_guest
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    write_bundled_list(&env_path("OUT_DIR")?, &wasm_dir, &guests)
}

fn env_path(name: &str) -> Result<PathBuf, String> {
    env::var_os(name)
        .map(PathBuf::from)
        .ok_or_else(|| format!("cargo did not set {name}"))
}

/// The guest crates, sorted by package name so the generated list is stable.
fn discover_guests(root: &Path) -> Result<Vec<Guest>, String> {
    let mut dirs: Vec<PathBuf> = GUEST_CRATES.iter().map(|dir| root.join(dir)).collect();
    for parent in GUEST_PARENTS {
        let parent = root.join(parent);
        let entries =
            fs::read_dir(&parent).map_err(|e| format!("reading {}: {e}", parent.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("reading {}: {e}", parent.display()))?
                .path();
            if path.join("Cargo.toml").is_file() {
                dirs.push(path);
            }
        }
    }
    let bundled_dir = root.join("plugins");
    let mut guests = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let package = package_name(&dir.join("Cargo.toml"))?;
        let bundled = dir.parent() == Some(bundled_dir.as_path());
        if bundled && !package.starts_with(BUNDLED_PREFIX) {
            return Err(format!(
                "bundled plugin crate {package:?} in {} must be named {BUNDLED_PREFIX}<plugin name>",
                dir.display()
            ));
        }
        guests.push(Guest { package, bundled });
    }
    guests.sort_by(|a, b| a.package.cmp(&b.package));
    Ok(guests)
}

/// The `name` of the `[package]` table (our manifests write it as `name = "..."`).
fn package_name(manifest: &Path) -> Result<String, String> {
    let text =
        fs::read_to_string(manifest).map_err(|e| format!("reading {}: {e}", manifest.display()))?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "name"
        {
            return Ok(value.trim().trim_matches('"').to_string());
        }
    }
    Err(format!("{}: no [package] name", manifest.display()))
}

/// Fails early, with the fix, when the standard library for the guest target is not installed
/// (otherwise the nested build fails with "can't find crate for `core`").
fn check_wasm_target(target: &str) -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("running {} --print sysroot: {e}", rustc.to_string_lossy()))?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let target_lib = Path::new(&sysroot).join("lib").join("rustlib").join(target);
    if output.status.success() && target_lib.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "the {target} target is not installed for this toolchain ({sysroot}); \
             plugins are built for it. Run: scripts/setup.sh (or rustup target add {target})"
        ))
    }
}

/// `GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared` of the Go guest, skipped when the
/// output for the same sources exists (keyed by a hash of `go.mod` and `main.go`). `Ok(None)`
/// when there is no Go toolchain.
fn build_go_guest(root: &Path) -> Result<Option<PathBuf>, String> {
    use std::hash::{Hash, Hasher};
    let src = root.join(GO_GUEST);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in ["go.mod", "main.go"] {
        let path = src.join(file);
        fs::read(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?
            .hash(&mut hasher);
    }
    let out_dir = root.join("target").join("go-guest");
    let out = out_dir.join(format!("{:016x}.wasm", hasher.finish()));
    if out.is_file() {
        return Ok(Some(out));
    }
    if Command::new("go").arg("version").output().is_err() {
        println!(
            "cargo:warning=no Go toolchain: the Go http-wasm guest test will fail (run scripts/setup.sh)"
        );
        return Ok(None);
    }
    fs::create_dir_all(&out_dir).map_err(|e| format!("creating {}: {e}", out_dir.display()))?;
    let tmp = out.with_extension("wasm.tmp");
    let output = Command::new("go")
        .current_dir(&src)
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        .args(["build", "-buildmode=c-shared", "-o"])
        .arg(&tmp)
        .arg(".")
        .output()
        .map_err(|e| format!("running go build: {e}"))?;
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        return Err(format!(
            "building the Go guest in {GO_GUEST} failed; its output is above"
        ));
    }
    fs::rename(&tmp, &out).map_err(|e| format!("moving {}: {e}", tmp.display()))?;
    // Builds of older sources are not needed any more.
    if let Ok(entries) = fs::read_dir(&out_dir) {
        for old in entries.flatten().map(|e| e.path()).filter(|p| *p != out) {
            let _ = fs::remove_file(old);
        }
    }
    Ok(Some(out))
}

/// `cargo build --release --locked --target wasm32-wasip1` of the http-wasm Rust guest, with
/// the outer build's environment removed as for the components. A no-op of about a second
/// when nothing changed (cargo's own freshness check).
fn build_http_wasm_guest(root: &Path) -> Result<PathBuf, String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let target_dir = root.join("target").join("wasm-p1");
    let mut command = Command::new(&cargo);
    command
        .current_dir(root.join(HTTP_WASM_GUEST))
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            HTTP_WASM_TARGET,
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    for (name, _) in env::vars_os() {
        if leaks_from_outer_build(&name.to_string_lossy()) {
            command.env_remove(&name);
        }
    }
    let output = command
        .output()
        .map_err(|e| format!("running {}: {e}", cargo.to_string_lossy()))?;
    if !output.status.success() {
        eprintln!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        return Err(format!(
            "building the http-wasm guest in {HTTP_WASM_GUEST} failed; its output is above"
        ));
    }
    let wasm = target_dir
        .join(HTTP_WASM_TARGET)
        .join("release")
        .join("http_wasm_rust_guest.wasm");
    if !wasm.is_file() {
        return Err(format!(
            "the http-wasm guest build succeeded but {} is missing",
            wasm.display()
        ));
    }
    Ok(wasm)
}

/// Makes the component `out` from the core module `core` (built by cargo for
/// `wasm32-unknown-unknown`), validating it. Skipped when `out` is newer than `core`; `out` is
/// rewritten only when its bytes change. 40-90 ms a plugin (measured unoptimised), at build
/// time only.
fn componentize(core: &Path, out: &Path) -> Result<(), String> {
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    if let (Some(core_time), Some(out_time)) = (modified(core), modified(out))
        && out_time >= core_time
    {
        return Ok(());
    }
    let module = fs::read(core).map_err(|e| format!("reading {}: {e}", core.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|e| format!("making a component of {}: {e:#}", core.display()))?;
    if fs::read(out).ok().as_deref() == Some(component.as_slice()) {
        return Ok(());
    }
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let tmp = out.with_extension("wasm.tmp");
    fs::write(&tmp, &component).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    fs::rename(&tmp, out).map_err(|e| format!("moving {}: {e}", tmp.display()))
}

/// One `cargo build --target <target> --profile plugin -p ... -p ...`, with the outer build's
/// per-crate and jobserver environment removed. Its output is shown only on failure, plus one
/// warning line when it had warnings. Nothing to build: no cargo run.
fn build_guests(
    root: &Path,
    target_dir: &Path,
    target: &str,
    guests: &[&Guest],
) -> Result<(), String> {
    if guests.is_empty() {
        return Ok(());
    }
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(&cargo);
    command
        .current_dir(root)
        .args([
            "build",
            "--target",
            target,
            "--profile",
            PROFILE,
            "--target-dir",
        ])
        .arg(target_dir);
    for guest in guests {
        command.args(["-p", &guest.package]);
    }
    for (name, _) in env::vars_os() {
        if leaks_from_outer_build(&name.to_string_lossy()) {
            command.env_remove(&name);
        }
    }
    let output = command
        .output()
        .map_err(|e| format!("running {}: {e}", cargo.to_string_lossy()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        eprintln!("{}{stderr}", String::from_utf8_lossy(&output.stdout));
        return Err(format!(
            "building the plugin components failed ({:?}); its output is above",
            command
        ));
    }
    let warnings = stderr
        .lines()
        .filter(|line| line.starts_with("warning:"))
        .count();
    if warnings > 0 {
        println!(
            "cargo:warning=the plugin components built with {warnings} warning line(s); see them with: \
             cargo build --target {target} --profile {PROFILE} --target-dir target/wasm -p <crate>"
        );
    }
    Ok(())
}

/// Variables cargo sets for this build script (or inherits from an outer `cargo clippy`/`cargo
/// llvm-cov`) that would break or slow the nested build: per-crate `CARGO_*`, flags that override
/// `.cargo/config.toml`, the outer target directory, wrappers and the jobserver. User-level cargo
/// settings (home, network, registries, terminal) are kept.
fn leaks_from_outer_build(name: &str) -> bool {
    const KEEP_PREFIXES: &[&str] = &[
        "CARGO_HOME",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CARGO_TERM_",
        "CARGO_BUILD_JOBS",
    ];
    const REMOVE: &[&str] = &[
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "MAKEFLAGS",
        "MFLAGS",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "OPT_LEVEL",
        "DEBUG",
        "PROFILE",
        "OUT_DIR",
        "RUSTC_LINKER",
    ];
    if name.starts_with("__CARGO_") || REMOVE.contains(&name) {
        return true;
    }
    (name == "CARGO" || name.starts_with("CARGO_"))
        && !KEEP_PREFIXES.iter().any(|keep| name.starts_with(keep))
}

/// `pub static BUNDLED_PLUGINS: &[(&str, &str, &[u8])] = &[("headers", "<sha256>",
/// include_bytes!("...")), ...];`. The content hash is computed here, once per build, so a
/// running gateway never reads the bundled bytes unless it has to compile one (about 4.5 MB of
/// the binary that would otherwise be paged in at every start just to be hashed).
fn write_bundled_list(out_dir: &Path, wasm_dir: &Path, guests: &[Guest]) -> Result<(), String> {
    use sha2::{Digest, Sha256};
    let mut code = String::from(
        "/// Bundled plugin components (name, hex SHA-256 of the bytes, bytes), generated by\n\
         /// host/build.rs from `plugins/`.\n\
         pub static BUNDLED_PLUGINS: &[(&str, &str, &[u8])] = &[\n",
    );
    for guest in guests.iter().filter(|guest| guest.bundled) {
        let name = &guest.package[BUNDLED_PREFIX.len()..];
        let file = wasm_dir.join(guest.wasm_file());
        let bytes = fs::read(&file).map_err(|e| format!("reading {}: {e}", file.display()))?;
        let hash = hex::encode(Sha256::digest(&bytes));
        let _ = writeln!(
            code,
            "    ({name:?}, {hash:?}, include_bytes!({:?})),",
            file.display().to_string()
        );
    }
    code.push_str("];\n");
    let path = out_dir.join("bundled_plugins.rs");
    fs::write(&path, code).map_err(|e| format!("writing {}: {e}", path.display()))
}
