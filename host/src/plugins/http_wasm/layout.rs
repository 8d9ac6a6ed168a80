//! Traefik's plugin layout: a directory `<name>/` holding `.traefik.yml` (the manifest) and the
//! wasm file it names.
//!
//! Read at config time by the registry's directory scan, for each sub-directory of the plugin
//! directory and for each `experimental.localPlugins` entry. The manifest keys wasmgate reads
//! are `runtime` (must be `wasm`: Traefik's default, `yaegi`, interprets Go source, which
//! wasmgate does not) and `wasmPath` (default `plugin.wasm`, relative to the directory); the
//! others (`displayName`, `type`, `import`, `summary`, `testData`...) are Traefik catalogue
//! data and ignored.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

/// The manifest's file name.
pub const MANIFEST: &str = ".traefik.yml";
/// `wasmPath` when the manifest does not say.
pub const DEFAULT_WASM_PATH: &str = "plugin.wasm";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    runtime: Option<String>,
    wasm_path: Option<String>,
}

/// The wasm file of the plugin in `dir`: `Ok(None)` when `dir` has no manifest (not a Traefik
/// plugin directory), an error naming the manifest when it cannot be used.
pub fn wasm_file_of(dir: &Path) -> Result<Option<PathBuf>, String> {
    let manifest_path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&manifest_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", manifest_path.display())),
    };
    let manifest: Manifest =
        serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", manifest_path.display()))?;
    let runtime = manifest.runtime.as_deref().unwrap_or("yaegi");
    if !runtime.eq_ignore_ascii_case("wasm") {
        return Err(format!(
            "{}: runtime: {runtime} is not supported; wasmgate runs Traefik's Wasm plugins \
             (runtime: wasm, the http-wasm ABI), not Go source plugins",
            manifest_path.display()
        ));
    }
    let wasm_path = manifest.wasm_path.as_deref().unwrap_or(DEFAULT_WASM_PATH);
    let relative = Path::new(wasm_path);
    let escapes = relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes {
        return Err(format!(
            "{}: wasmPath {wasm_path:?} must be a path inside the plugin's directory",
            manifest_path.display()
        ));
    }
    Ok(Some(dir.join(relative)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin_dir(manifest: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(MANIFEST), manifest).expect("write manifest");
        dir
    }

    #[test]
    fn wasm_path_defaults_to_plugin_wasm() {
        let dir = plugin_dir("displayName: Demo\ntype: middleware\nruntime: wasm\n");
        assert_eq!(
            wasm_file_of(dir.path()),
            Ok(Some(dir.path().join("plugin.wasm")))
        );
    }

    #[test]
    fn a_go_source_plugin_is_refused_with_the_reason() {
        let dir = plugin_dir("displayName: Demo\nimport: github.com/x/y\n");
        let err = wasm_file_of(dir.path()).expect_err("yaegi refused");
        assert!(err.contains("runtime: yaegi is not supported"), "{err}");
    }

    #[test]
    fn wasm_path_may_not_leave_the_directory() {
        let dir = plugin_dir("runtime: wasm\nwasmPath: ../other.wasm\n");
        assert!(wasm_file_of(dir.path()).is_err());
    }
}
