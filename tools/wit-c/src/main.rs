//! Build helper for examples/c-plugin (run by scripts/build-lang-plugin.sh):
//!
//! - `wit-c bindings WIT_DIR WORLD OUT_DIR`: the C bindings of `WORLD` (`<world>.h`, `<world>.c`,
//!   `<world>_component_type.o`), from the `wit-bindgen-c` library rather than the
//!   `wit-bindgen` CLI (whose `cargo install` takes ~17 minutes on 2 cores);
//! - `wit-c component CORE_WASM OUT_WASM`: a core module linked with those bindings, made into a
//!   component with `wit-component` (the world comes from the custom section the
//!   `_component_type.o` object carries).

use std::path::Path;

use anyhow::{Context, Result, bail};
use wit_bindgen_core::Files;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["bindings", wit, world, out] => bindings(Path::new(wit), world, Path::new(out)),
        ["component", core, out] => component(Path::new(core), Path::new(out)),
        _ => bail!(
            "usage: wit-c bindings WIT_DIR WORLD OUT_DIR | wit-c component CORE_WASM OUT_WASM"
        ),
    }
}

fn bindings(wit: &Path, world: &str, out: &Path) -> Result<()> {
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_path(wit)
        .with_context(|| format!("reading {}", wit.display()))?;
    let world = resolve.select_world(&[package], Some(world))?;
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

fn component(core: &Path, out: &Path) -> Result<()> {
    let module = std::fs::read(core).with_context(|| format!("reading {}", core.display()))?;
    let bytes = wit_component::ComponentEncoder::default()
        .module(&module)?
        .validate(true)
        .encode()?;
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}
