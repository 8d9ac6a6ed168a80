//! Build helper for examples/c-plugin and examples/go-plugin (run by
//! scripts/build-lang-plugin.sh and by the `build.sh` of `wasmgate plugin new --lang c|go`):
//!
//! - `wit-c bindings WIT_DIR WORLD OUT_DIR`: the C bindings of `WORLD` (`<world>.h`, `<world>.c`,
//!   `<world>_component_type.o`), from the `wit-bindgen-c` library rather than the
//!   `wit-bindgen` CLI (whose `cargo install` takes ~17 minutes on 2 cores);
//! - `wit-c component CORE_WASM OUT_WASM`: a core module linked with those bindings, made into a
//!   component with `wit-component` (the world comes from the custom section the
//!   `_component_type.o` object carries).
//! - `wit-c component CORE_WASM OUT_WASM WIT_DIR WORLD`: the same for a core module that carries
//!   no world of its own (Go's `go build` cannot link a custom section in): `WORLD` of `WIT_DIR`
//!   is embedded first.
//!
//! A core module that imports WASI preview 1 (`wasi_snapshot_preview1`, as Go's `wasip1` runtime
//! does) gets wasmtime's preview-1 reactor adapter, so the component imports WASI 0.2 instead,
//! which the gateway gives every plugin in a minimal, deterministic form. A module that imports
//! none of it gets no adapter. A Go module's adapter allocates from an arena the Go binding
//! reserves (`adapter_arena`).

mod adapter_arena;

use std::path::Path;

use anyhow::{Context, Result, bail};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_bindgen_core::Files;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["bindings", wit, world, out] => bindings(Path::new(wit), world, Path::new(out)),
        ["component", core, out] => component(Path::new(core), Path::new(out), None),
        ["component", core, out, wit, world] => component(
            Path::new(core),
            Path::new(out),
            Some((Path::new(wit), world)),
        ),
        _ => bail!(
            "usage: wit-c bindings WIT_DIR WORLD OUT_DIR | \
             wit-c component CORE_WASM OUT_WASM [WIT_DIR WORLD]"
        ),
    }
}

/// The parsed contract and the id of `world` in it.
fn world_of(wit: &Path, world: &str) -> Result<(wit_parser::Resolve, wit_parser::WorldId)> {
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_path(wit)
        .with_context(|| format!("reading {}", wit.display()))?;
    let world = resolve.select_world(&[package], Some(world))?;
    Ok((resolve, world))
}

fn bindings(wit: &Path, world: &str, out: &Path) -> Result<()> {
    let (mut resolve, world) = world_of(wit, world)?;
    let mut files = Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)?;
    std::fs::create_dir_all(out)?;
    for (name, bytes) in files.iter() {
        let path = out.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn component(core: &Path, out: &Path, world: Option<(&Path, &str)>) -> Result<()> {
    let mut module = std::fs::read(core).with_context(|| format!("reading {}", core.display()))?;
    if let Some((wit, world)) = world {
        let (resolve, world) = world_of(wit, world)?;
        wit_component::embed_component_metadata(
            &mut module,
            &resolve,
            world,
            wit_component::StringEncoding::UTF8,
            false,
        )?;
    }
    let mut encoder = wit_component::ComponentEncoder::default();
    if let Some(with_realloc) = adapter_arena::add_realloc(&module)? {
        module = with_realloc;
    }
    encoder.module(&module)?.validate(true);
    if imports_preview1(&module)? {
        encoder.adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?;
    }
    let bytes = encoder.encode()?;
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

/// Whether the core module imports anything from WASI preview 1.
fn imports_preview1(module: &[u8]) -> Result<bool> {
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let wasmparser::Payload::ImportSection(imports) = payload? {
            for import in imports.into_imports() {
                if import?.module == WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}
