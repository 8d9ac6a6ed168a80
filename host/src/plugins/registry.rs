//! The plugin registry: name -> component bytes, and compiled components on demand.
//!
//! Bundled plugins are compiled into the binary; `*.wasm` files in the plugin directory (name =
//! file stem) add to or override them. Compilation happens at config time (start-up or reload),
//! only for plugins a config actually uses, and is cached by content hash — never on the request
//! path. The registry is immutable once built; a new plugin directory scan builds a new registry
//! (hot reload swaps it whole).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker};

use super::bindings::{Middleware, MiddlewarePre};
use super::engine::PluginEngine;
use super::error::LoadError;
use super::host_state::HostState;

mod bundled {
    // TEMPORARY until host/build.rs generates bundled_plugins.rs.
    pub static BUNDLED_PLUGINS: &[(&str, &[u8])] = &[];
}

/// Where a plugin's bytes came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    Bundled,
    File(PathBuf),
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::Bundled => f.write_str("bundled"),
            PluginSource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A plugin's bytes and identity, before compilation.
#[derive(Debug, Clone)]
pub struct PluginFile {
    pub name: String,
    pub source: PluginSource,
    /// Hex SHA-256 of the bytes.
    pub hash: String,
    pub bytes: Arc<[u8]>,
}

impl PluginFile {
    fn new(name: String, source: PluginSource, bytes: Arc<[u8]>) -> Self {
        let hash = hex::encode(Sha256::digest(&bytes));
        PluginFile { name, source, hash, bytes }
    }

    /// First 12 hex digits of the content hash, for log lines.
    pub fn short_hash(&self) -> &str {
        &self.hash[..12.min(self.hash.len())]
    }
}

/// A compiled, linked plugin, ready to instantiate cheaply (`InstancePre`).
pub struct CompiledPlugin {
    pub file: PluginFile,
    pub pre: MiddlewarePre<HostState>,
}

impl std::fmt::Debug for CompiledPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledPlugin").field("file", &self.file).finish()
    }
}

pub struct PluginRegistry {
    engine: Arc<PluginEngine>,
    linker: Linker<HostState>,
    files: BTreeMap<String, PluginFile>,
    /// Compiled components by content hash (config-time cache; not touched per request).
    compiled: Mutex<BTreeMap<String, Arc<CompiledPlugin>>>,
}

impl PluginRegistry {
    /// The bundled plugins, plus every `*.wasm` in `directory` (which override bundled ones of
    /// the same name). A directory that cannot be read is an error; so is a file that cannot be
    /// read. Nothing is compiled yet.
    pub fn load(engine: Arc<PluginEngine>, directory: Option<&Path>) -> Result<Self, LoadError> {
        let mut files = BTreeMap::new();
        for (name, bytes) in bundled::BUNDLED_PLUGINS {
            let file = PluginFile::new((*name).to_owned(), PluginSource::Bundled, Arc::from(*bytes));
            files.insert(file.name.clone(), file);
        }
        if let Some(dir) = directory {
            for file in scan_directory(dir)? {
                files.insert(file.name.clone(), file);
            }
        }
        let linker = build_linker(&engine)
            .map_err(|e| LoadError::World(format!("cannot build the host linker: {e:#}")))?;
        Ok(PluginRegistry { engine, linker, files, compiled: Mutex::new(BTreeMap::new()) })
    }

    pub fn engine(&self) -> &Arc<PluginEngine> {
        &self.engine
    }

    /// Every known plugin, by name.
    pub fn files(&self) -> impl Iterator<Item = &PluginFile> {
        self.files.values()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// The compiled plugin of that name, compiling it on first use. `Ok(None)` if no plugin has
    /// that name. Cost: a hash lookup when cached; a compile (tens of ms, or a cache load of
    /// well under 1 ms) the first time.
    pub fn compiled(&self, name: &str) -> Result<Option<Arc<CompiledPlugin>>, LoadError> {
        let Some(file) = self.files.get(name) else {
            return Ok(None);
        };
        if let Some(done) = self.lock_compiled().get(&file.hash) {
            return Ok(Some(done.clone()));
        }
        let compiled = Arc::new(self.compile(file)?);
        self.lock_compiled().insert(file.hash.clone(), compiled.clone());
        Ok(Some(compiled))
    }

    fn lock_compiled(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<CompiledPlugin>>> {
        // A panic while holding this lock cannot leave the map half-written (single insert).
        self.compiled.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn compile(&self, file: &PluginFile) -> Result<CompiledPlugin, LoadError> {
        let component = Component::new(self.engine.engine(), &file.bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        // Imports outside our contract and the WASI subset (filesystem, sockets, stdio...)
        // become traps: a component may import them, but calling one fails that request only.
        let mut linker = self.linker.clone();
        linker
            .define_unknown_imports_as_traps(&component)
            .map_err(|e| LoadError::World(format!("{e:#}")))?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::World(format!("{e:#}")))?;
        let pre = MiddlewarePre::new(instance_pre).map_err(|e| LoadError::World(format!("{e:#}")))?;
        Ok(CompiledPlugin { file: file.clone(), pre })
    }
}

/// The linker shared by every plugin: our imports, the safe WASI subset, and traps for the rest.
fn build_linker(engine: &PluginEngine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine.engine());
    Middleware::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    super::wasi_subset::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// Reads every `*.wasm` file of a directory, sorted by name.
fn scan_directory(dir: &Path) -> Result<Vec<PluginFile>, LoadError> {
    let read_err = |source| LoadError::Read { path: dir.display().to_string(), source };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("wasm") || !path.is_file() {
            continue;
        }
        let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        let bytes = std::fs::read(&path)
            .map_err(|source| LoadError::Read { path: path.display().to_string(), source })?;
        out.push(PluginFile::new(name, PluginSource::File(path), Arc::from(bytes)));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
