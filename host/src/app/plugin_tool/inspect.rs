//! `wasmgate plugin inspect FILE`: what a plugin file is, as the gateway sees it: which of the
//! contract's worlds it targets (or that it is an http-wasm guest), its imports and exports,
//! size, content hash, declared memories, the linear memory an instance starts with and the
//! limits the gateway would give it by default.
//!
//! Loads the file with the gateway's own engine and linker (`PluginRegistry::with_file`), so a
//! file this accepts is one the gateway loads. Cost: one compile (wasmtime's on-disk cache
//! makes a second run cheap) and, for a component, one instantiation.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use crate::plugins::host_state::PluginIdentity;
use crate::plugins::instance::PluginInstance;
use crate::plugins::registry::{
    BODY_IMPORT, CLIENT_IP_IMPORT, COMPRESSION_IMPORT, CONNECTION_IMPORT, COUNTERS_IMPORT,
    GRPC_WEB_IMPORT, IDENTITY_IMPORT, KV_IMPORT, OUTBOUND_HTTP_IMPORT,
};
use crate::plugins::{CompiledPlugin, MiddlewareBudget, PluginEngine, PluginRegistry};

use super::declared_memory::{DeclaredMemory, declared_memories};

/// What kind of plugin a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A component of the contract; `world` is the smallest of `wit/plugin.wit`'s worlds that
    /// covers its imports and exports.
    Component { world: &'static str },
    /// A core module importing `http_handler`: a Traefik Wasm plugin (http-wasm guest).
    HttpWasm,
}

/// Everything `plugin inspect` reports.
#[derive(Debug)]
pub struct Inspection {
    pub name: String,
    pub kind: Kind,
    pub size: usize,
    pub sha256: String,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    pub declared: Vec<DeclaredMemory>,
    /// Linear memory a fresh instance holds (components: measured on one instance; http-wasm:
    /// the declared minimum).
    pub initial_memory: u64,
    /// What a middleware of this plugin gets without budget settings (its memory cap fitted
    /// to `initial_memory`).
    pub default_budget: MiddlewareBudget,
}

const CAPABILITIES_EXPORT: &str = "wasmgate:plugin/capabilities@0.1.0";

const CONNECTION_EXPORT: &str = "wasmgate:plugin/connection@0.1.0";

const PRE_TAKE_EXPORT: &str = "wasmgate:plugin/pre-take@0.1.0";

const VERDICT_MEMO_EXPORT: &str = "wasmgate:plugin/verdict-memo@0.1.0";

/// The contract's worlds, each including the previous one (`wit/plugin.wit`), with what first
/// appears in each.
const WORLDS: &[(&str, &str)] = &[
    ("middleware", ""),
    ("middleware-with-capabilities", CAPABILITIES_EXPORT),
    ("middleware-with-counters", COUNTERS_IMPORT),
    ("middleware-with-outbound-http", OUTBOUND_HTTP_IMPORT),
    ("middleware-with-body", BODY_IMPORT),
    ("middleware-with-compression", COMPRESSION_IMPORT),
    ("middleware-with-client-connection", CONNECTION_IMPORT),
    ("middleware-with-identity", IDENTITY_IMPORT),
    ("middleware-with-kv", KV_IMPORT),
    ("middleware-with-grpc-web", GRPC_WEB_IMPORT),
    ("middleware-with-client-ip", CLIENT_IP_IMPORT),
    ("middleware-with-pre-take", PRE_TAKE_EXPORT),
    ("middleware-with-verdict-memo", VERDICT_MEMO_EXPORT),
];

/// The smallest world whose imports and exports cover what the component uses. An exported
/// `subresponses`, `completion` or `retry-policy` alone does not count: plugin-sdk exports those
/// hooks from every plugin, and they are only called for a plugin that imports `outbound-http`
/// (or that answers `wants-on-complete` / `wants-retry-policy` so, which is known only once
/// configured). Likewise `pre-take` counts only beside an imported `counters` (whose take it
/// declares), and `verdict-memo` only beside an imported `identity` (an authentication's
/// verdict, which names the user, is what it declares; whether a middleware declares one is
/// known once configured).
pub fn world_of(imports: &[String], exports: &[String]) -> &'static str {
    let imported = |name: &str| imports.iter().any(|n| n == name);
    let uses = |name: &str| {
        imports.iter().chain(exports).any(|n| n == name)
            && (name != PRE_TAKE_EXPORT || imported(COUNTERS_IMPORT))
            && (name != VERDICT_MEMO_EXPORT || imported(IDENTITY_IMPORT))
    };
    // A connection-level (L4) middleware: its own world, beside the HTTP chain.
    if uses(CONNECTION_EXPORT) {
        return "connection-middleware";
    }
    WORLDS
        .iter()
        .rev()
        .find(|(_, first)| !first.is_empty() && uses(first))
        .map_or(WORLDS[0].0, |(world, _)| world)
}

/// Why a file could not be inspected or tested.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("cannot start the plugin engine: {0}")]
    Engine(String),
    #[error("{0}")]
    Load(#[from] crate::plugins::LoadError),
    #[error("{0}")]
    Usage(String),
}

/// The gateway's engine with its default settings and compile cache (`app::default_cache_dir`),
/// and a registry holding just `path`.
pub fn load(path: &Path) -> Result<(PluginRegistry, String), ToolError> {
    let settings = crate::plugins::EngineSettings {
        cache_dir: crate::plugins::engine::compiled_cache_dir(),
        artifact_dir: crate::plugins::engine::artifact_dir(),
        ..crate::plugins::EngineSettings::default()
    };
    let engine = PluginEngine::new(settings).map_err(|e| ToolError::Engine(format!("{e:#}")))?;
    let registry = PluginRegistry::load(Arc::new(engine), None)?;
    Ok(registry.with_file(path)?)
}

/// The identity a tool run's instances log under.
pub fn identity(name: &str, hash: &str) -> PluginIdentity {
    PluginIdentity {
        middleware: Arc::from("plugin-test"),
        plugin: Arc::from(name),
        hash: Arc::from(&hash[..12.min(hash.len())]),
        output_budget: Arc::default(),
    }
}

/// A component's import and export names.
pub fn component_names(plugin: &CompiledPlugin) -> (Vec<String>, Vec<String>) {
    let component = plugin.pre.component();
    let ty = component.component_type();
    let engine = component.engine();
    let imports = ty.imports(engine).map(|(n, _)| n.to_owned()).collect();
    let exports = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
    (imports, exports)
}

/// Linear memory a fresh instance of `plugin` starts with, and the cap the gateway would fit to
/// it (`MiddlewareBudget::fit_memory_to`, as `PluginMiddleware::configure` does). The probe
/// gets `deadline` (the gateway's default when `None`), as a middleware's probe gets its own.
pub fn initial_memory(
    engine: &PluginEngine,
    plugin: &CompiledPlugin,
    deadline: Option<std::time::Duration>,
) -> Result<(u64, MiddlewareBudget), ToolError> {
    let max = u64::try_from(engine.settings().max_memory_size).unwrap_or(u64::MAX);
    let defaults = MiddlewareBudget::default();
    let probe_budget = MiddlewareBudget {
        memory_limit: max,
        deadline: deadline.unwrap_or(defaults.deadline),
        ..defaults
    };
    let id = identity(&plugin.file.name, &plugin.file.hash);
    let probe = PluginInstance::bare(engine, plugin, id, &probe_budget)
        .map_err(|e| ToolError::Usage(format!("cannot instantiate: {e}")))?;
    let initial = probe.memory_peak();
    let mut budget = MiddlewareBudget::default();
    budget.fit_memory_to(initial, max);
    Ok((initial, budget))
}

/// Inspects the file at `path`.
pub fn inspect(path: &Path) -> Result<Inspection, ToolError> {
    let (registry, name) = load(path)?;
    let Some(file) = registry.file(&name).cloned() else {
        return Err(ToolError::Usage(format!("{} not loaded", path.display())));
    };
    let declared = declared_memories(&file.bytes);
    let (kind, imports, exports, initial, budget) =
        if let Some(module) = registry.http_wasm_module(&name)? {
            let m = module.pre.module();
            let imports = m
                .imports()
                .map(|i| format!("{}.{}", i.module(), i.name()))
                .collect();
            let exports = m.exports().map(|e| e.name().to_owned()).collect();
            let initial = declared.iter().map(|d| d.min_bytes).sum();
            let mut budget = MiddlewareBudget::default();
            budget.fit_memory_to(initial, u64::MAX);
            (Kind::HttpWasm, imports, exports, initial, budget)
        } else {
            let Some(plugin) = registry.compiled(&name)? else {
                return Err(ToolError::Usage(format!("{} not loaded", path.display())));
            };
            let (imports, exports) = component_names(&plugin);
            // Config-time work: at least the time a config-time call gets.
            let deadline = Some(crate::plugins::instance::CONFIG_TIME_DEADLINE);
            let (initial, budget) = initial_memory(registry.engine(), &plugin, deadline)?;
            let world = world_of(&imports, &exports);
            (Kind::Component { world }, imports, exports, initial, budget)
        };
    Ok(Inspection {
        name,
        kind,
        size: file.bytes.len(),
        sha256: file.hash,
        imports,
        exports,
        declared,
        initial_memory: initial,
        default_budget: budget,
    })
}

/// Bytes as KiB / MiB for the report.
pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

impl std::fmt::Display for Inspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        let _ = writeln!(out, "plugin:          {}", self.name);
        match self.kind {
            Kind::Component { world } => {
                let _ = writeln!(
                    out,
                    "kind:            component (wasmgate:plugin@0.1.0)\nworld:           {world}"
                );
            }
            Kind::HttpWasm => {
                let _ = writeln!(
                    out,
                    "kind:            http-wasm guest (core module importing http_handler; \
                     Traefik's Wasm plugin format)\nworld:           http-wasm"
                );
            }
        }
        let _ = writeln!(
            out,
            "size:            {} bytes ({})",
            self.size,
            human_bytes(self.size as u64)
        );
        let _ = writeln!(out, "sha256:          {}", self.sha256);
        let _ = writeln!(
            out,
            "initial memory:  {} bytes ({})",
            self.initial_memory,
            human_bytes(self.initial_memory)
        );
        for (i, d) in self.declared.iter().enumerate() {
            let max = d
                .max_bytes
                .map_or_else(|| "no maximum".to_owned(), human_bytes);
            let _ = writeln!(
                out,
                "declared memory {i}: minimum {}, {max}",
                human_bytes(d.min_bytes)
            );
        }
        let b = &self.default_budget;
        let _ = writeln!(
            out,
            "gateway limits:  memory cap {} (memoryLimit unset), deadline {:?}, {} headers, \
             reply body {}",
            human_bytes(b.memory_limit),
            b.deadline,
            b.max_headers,
            human_bytes(b.max_reply_body_size as u64)
        );
        let _ = writeln!(out, "imports:");
        for i in &self.imports {
            let _ = writeln!(out, "  {i}");
        }
        let _ = writeln!(out, "exports:");
        for e in &self.exports {
            let _ = writeln!(out, "  {e}");
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_world_is_the_smallest_one_covering_the_names() {
        let handler = names(&["wasmgate:plugin/handler@0.1.0"]);
        let log = names(&["wasmgate:plugin/log@0.1.0"]);
        assert_eq!(world_of(&log, &handler), "middleware");
        let caps = names(&["wasmgate:plugin/handler@0.1.0", CAPABILITIES_EXPORT]);
        assert_eq!(world_of(&log, &caps), "middleware-with-capabilities");
        let counters = names(&["wasmgate:plugin/log@0.1.0", COUNTERS_IMPORT]);
        assert_eq!(world_of(&counters, &caps), "middleware-with-counters");
        let sdk_exports = names(&[
            "wasmgate:plugin/handler@0.1.0",
            CAPABILITIES_EXPORT,
            "wasmgate:plugin/subresponses@0.1.0",
        ]);
        assert_eq!(world_of(&log, &sdk_exports), "middleware-with-capabilities");
        let outbound = names(&[OUTBOUND_HTTP_IMPORT]);
        assert_eq!(
            world_of(&outbound, &sdk_exports),
            "middleware-with-outbound-http"
        );
        let all = names(&[COUNTERS_IMPORT, COMPRESSION_IMPORT]);
        assert_eq!(world_of(&all, &handler), "middleware-with-compression");
        let conn = names(&[CONNECTION_IMPORT]);
        assert_eq!(
            world_of(&conn, &handler),
            "middleware-with-client-connection"
        );
        let identity = names(&[IDENTITY_IMPORT, CONNECTION_IMPORT]);
        assert_eq!(world_of(&identity, &handler), "middleware-with-identity");
        let kv = names(&[KV_IMPORT, IDENTITY_IMPORT, CONNECTION_IMPORT]);
        assert_eq!(world_of(&kv, &handler), "middleware-with-kv");
        let grpc_web = names(&[GRPC_WEB_IMPORT]);
        assert_eq!(world_of(&grpc_web, &handler), "middleware-with-grpc-web");
        let client_ip = names(&[CLIENT_IP_IMPORT, COUNTERS_IMPORT]);
        assert_eq!(world_of(&client_ip, &handler), "middleware-with-client-ip");
        // plugin-sdk exports `pre-take` from every plugin: it counts beside `counters` only.
        let with_pre_take = names(&["wasmgate:plugin/handler@0.1.0", PRE_TAKE_EXPORT]);
        assert_eq!(
            world_of(&client_ip, &with_pre_take),
            "middleware-with-pre-take"
        );
        assert_eq!(world_of(&log, &with_pre_take), "middleware");
        // Likewise `verdict-memo`, beside `identity` only.
        let with_memo = names(&["wasmgate:plugin/handler@0.1.0", VERDICT_MEMO_EXPORT]);
        let identity = names(&[IDENTITY_IMPORT]);
        assert_eq!(
            world_of(&identity, &with_memo),
            "middleware-with-verdict-memo"
        );
        assert_eq!(world_of(&identity, &handler), "middleware-with-identity");
        assert_eq!(world_of(&log, &with_memo), "middleware");
        let connection = names(&[CONNECTION_EXPORT]);
        assert_eq!(world_of(&counters, &connection), "connection-middleware");
    }
}
