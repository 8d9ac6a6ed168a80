//! The slice of WASI a plugin may use, locked down, linked under whatever 0.2.x version the
//! component imports.
//!
//! Language runtimes import WASI even for pure computation: Rust's std asks
//! `wasi:random/insecure-seed` for `HashMap` seeds (the `regex` crate builds one per pattern),
//! `SystemTime` reads the wall clock, Go's runtime reads the monotonic clock and its arguments
//! and writes to stderr at start-up. We implement only what is safe and non-blocking on a proxy
//! thread, backed by nothing sensitive:
//! - `wasi:random/{random,insecure,insecure-seed}`: real randomness (at most 64 KiB per call);
//!   an `init` that draws bytes or numbers (not the hash seed) keeps its instances from
//!   per-request snapshots (`snapshot`), which would replay the draws;
//! - `wasi:clocks/wall-clock`: a clock frozen at the Unix epoch (plugins get no wall clock;
//!   the contract's `clock` gives monotonic time);
//! - `wasi:clocks/monotonic-clock`: `now` and `resolution` (the contract's clock, in ns);
//!   `subscribe-*` trap: a plugin must not sleep on a proxy thread;
//! - `wasi:cli/environment`: no variables, no arguments, no working directory;
//! - `wasi:cli/exit`: traps;
//! - stdout and stderr to the gateway log, an empty stdin, no terminal, no preopened
//!   directories, and the `wasi:io` streams and pollables those need (`wasi_stdio`).
//!
//! Everything else a component imports (filesystem operations, sockets, HTTP) is linked as a
//! trap by the registry: a plugin that tries to open a file or a socket fails that request.
//!
//! Why by hand rather than wasmtime-wasi: a guest built with an older toolchain imports e.g.
//! `wasi:random/insecure-seed@0.2.6`; the registry's trap stubs are defined under that exact
//! name and would hide a `@0.2.12` definition, so we define our functions under the exact
//! imported names, per component, before the stubs. (And wasmtime-wasi's synchronous stream
//! functions block on the tokio runtime, which would stall a proxy thread.)

use wasmtime::Engine;
use wasmtime::component::{Component, Linker, LinkerInstance, Val};

use super::host_state::{HostState, monotonic_nanos};

/// Largest random buffer one call may ask for; larger requests trap (a guest must not be able
/// to make the host allocate without bound).
const MAX_RANDOM_BYTES: u64 = 64 << 10;

/// Defines the subset under each `wasi:…@0.2.x` name `component` imports. Config-time cost.
pub fn define_for(
    linker: &mut Linker<HostState>,
    component: &Component,
    engine: &Engine,
) -> wasmtime::Result<()> {
    let names: Vec<String> = component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    for name in names {
        let (interface, version) = name.split_once('@').unwrap_or((name.as_str(), ""));
        if !(version.is_empty() || version.starts_with("0.2.")) {
            continue;
        }
        if super::wasi_stdio::define(linker, &name, interface)? {
            continue;
        }
        match interface {
            "wasi:clocks/monotonic-clock" => {
                let mut i = linker.instance(&name)?;
                i.func_wrap("now", |_, ()| Ok((monotonic_nanos(),)))?;
                i.func_wrap("resolution", |_, ()| Ok((1u64,)))?;
            }
            "wasi:random/random" => {
                let mut i = linker.instance(&name)?;
                random_bytes(&mut i, "get-random-bytes")?;
                random_u64(&mut i, "get-random-u64")?;
            }
            "wasi:random/insecure" => {
                let mut i = linker.instance(&name)?;
                random_bytes(&mut i, "get-insecure-random-bytes")?;
                random_u64(&mut i, "get-insecure-random-u64")?;
            }
            "wasi:random/insecure-seed" => {
                linker
                    .instance(&name)?
                    .func_wrap("insecure-seed", |_, ()| {
                        Ok(((random_u64_value()?, random_u64_value()?),))
                    })?;
            }
            "wasi:clocks/wall-clock" => {
                let mut i = linker.instance(&name)?;
                for func in ["now", "resolution"] {
                    let seconds = u64::from(func == "resolution");
                    i.func_new(func, move |_, _, _, results| {
                        if let Some(slot) = results.first_mut() {
                            *slot = Val::Record(vec![
                                ("seconds".into(), Val::U64(seconds)),
                                ("nanoseconds".into(), Val::U32(0)),
                            ]);
                        }
                        Ok(())
                    })?;
                }
            }
            "wasi:cli/environment" => {
                let mut i = linker.instance(&name)?;
                i.func_wrap("get-environment", |_, ()| {
                    Ok((Vec::<(String, String)>::new(),))
                })?;
                i.func_wrap("get-arguments", |_, ()| Ok((Vec::<String>::new(),)))?;
                i.func_wrap("initial-cwd", |_, ()| Ok((None::<String>,)))?;
            }
            "wasi:cli/exit" => {
                linker.instance(&name)?.func_new("exit", |_, _, _, _| {
                    Err(wasmtime::Error::msg("plugin called wasi:cli/exit"))
                })?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn random_bytes(i: &mut LinkerInstance<'_, HostState>, func: &str) -> wasmtime::Result<()> {
    i.func_wrap(func, |mut store, (len,): (u64,)| {
        store.data_mut().drew_random = true;
        if len > MAX_RANDOM_BYTES {
            return Err(wasmtime::Error::msg(format!(
                "asked for {len} random bytes (at most {MAX_RANDOM_BYTES})"
            )));
        }
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
        getrandom::fill(&mut buf).map_err(|e| wasmtime::Error::msg(format!("getrandom: {e}")))?;
        Ok((buf,))
    })
}

fn random_u64(i: &mut LinkerInstance<'_, HostState>, func: &str) -> wasmtime::Result<()> {
    i.func_wrap(func, |mut store, ()| {
        store.data_mut().drew_random = true;
        Ok((random_u64_value()?,))
    })
}

fn random_u64_value() -> wasmtime::Result<u64> {
    getrandom::u64().map_err(|e| wasmtime::Error::msg(format!("getrandom: {e}")))
}
