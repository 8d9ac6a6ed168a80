//! Recognising and compiling an http-wasm guest (a core module), at config time.
//!
//! A plugin file is an http-wasm guest when it is a core module (Wasm binary version 1, where a
//! component says version 0x0d) that imports from `http_handler`. Compiling it uses the
//! process's one engine; the registry caches the result by content hash next to compiled
//! components, so an unchanged file is never compiled twice (and wasmtime's on-disk cache makes
//! a restart cheap). Never on the request path.

use wasmtime::{ExternType, InstancePre, Linker, Module, ValType};

use super::abi::HTTP_HANDLER;
use super::state::GuestState;
use crate::plugins::engine::PluginEngine;
use crate::plugins::error::LoadError;

/// Whether `bytes` is a core Wasm module (not a component): the preamble's version field.
pub fn is_core_module(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[4..8] == [1, 0, 0, 0]
}

/// A compiled, linked http-wasm guest, ready to instantiate cheaply.
pub struct HttpWasmModule {
    pub(crate) pre: InstancePre<GuestState>,
    /// The module's start export, run once per instance before any hook: `_initialize`
    /// (a reactor: Go's `-buildmode=c-shared`) or `_start` (a command: Rust's `main` registers
    /// its handler there).
    pub(crate) init_export: Option<&'static str>,
}

impl std::fmt::Debug for HttpWasmModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpWasmModule")
            .field("init_export", &self.init_export)
            .finish()
    }
}

impl HttpWasmModule {
    /// Compiles and links a core module against the `http_handler` ABI and the WASI subset.
    /// Refused: a module that does not import `http_handler`, or lacks one of the exports the
    /// ABI requires (`memory`, `handle_request`, `handle_response`) with their types.
    pub fn compile(engine: &PluginEngine, bytes: &[u8]) -> Result<Self, LoadError> {
        let module = Module::new(engine.engine(), bytes)
            .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        let not_http_wasm =
            |why: String| LoadError::World(format!("not an http-wasm guest: {why}"));
        if !module.imports().any(|i| i.module() == HTTP_HANDLER) {
            return Err(not_http_wasm(format!(
                "a core module must import from \"{HTTP_HANDLER}\""
            )));
        }
        check_export(&module, "handle_request", &[], &[ValType::I64]).map_err(not_http_wasm)?;
        check_export(
            &module,
            "handle_response",
            &[ValType::I32, ValType::I32],
            &[],
        )
        .map_err(not_http_wasm)?;
        if !matches!(module.get_export("memory"), Some(ExternType::Memory(_))) {
            return Err(not_http_wasm(
                "it must export its memory as \"memory\"".into(),
            ));
        }
        let mut linker: Linker<GuestState> = Linker::new(engine.engine());
        super::abi::add_to_linker(&mut linker).map_err(|e| LoadError::World(format!("{e:#}")))?;
        super::wasi_p1::add_to_linker(&mut linker, &module)
            .map_err(|e| LoadError::World(format!("{e:#}")))?;
        // Anything else (another host's ABI, sockets...) traps if called.
        linker
            .define_unknown_imports_as_traps(&module)
            .map_err(|e| LoadError::World(format!("{e:#}")))?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| LoadError::World(format!("{e:#}")))?;
        let init_export = ["_initialize", "_start"]
            .into_iter()
            .find(|name| matches!(module.get_export(name), Some(ExternType::Func(_))));
        Ok(HttpWasmModule { pre, init_export })
    }
}

fn check_export(
    module: &Module,
    name: &str,
    params: &[ValType],
    results: &[ValType],
) -> Result<(), String> {
    let Some(ExternType::Func(ty)) = module.get_export(name) else {
        return Err(format!("it must export the function \"{name}\""));
    };
    let same = |a: &mut dyn ExactSizeIterator<Item = ValType>, b: &[ValType]| {
        a.len() == b.len() && a.zip(b).all(|(x, y)| ValType::eq(&x, y))
    };
    if !same(&mut ty.params(), params) || !same(&mut ty.results(), results) {
        return Err(format!(
            "its export \"{name}\" has type {ty}, the ABI says ({params:?}) -> ({results:?})"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(wat: &str) -> Result<HttpWasmModule, LoadError> {
        let engine = PluginEngine::new(crate::plugins::EngineSettings::default()).expect("engine");
        HttpWasmModule::compile(&engine, &wat::parse_str(wat).expect("valid WAT"))
    }

    const HOOKS: &str = r#"(func (export "handle_request") (result i64) (i64.const 1))
        (func (export "handle_response") (param i32 i32))"#;

    #[test]
    fn a_guest_missing_what_the_abi_requires_is_refused_with_the_reason() {
        let import = r#"(import "http_handler" "log" (func (param i32 i32 i32)))"#;
        let no_import = format!(r#"(module (memory (export "memory") 1) {HOOKS})"#);
        let no_memory = format!("(module {import} {HOOKS})");
        let bad_hook = format!(
            r#"(module {import} (memory (export "memory") 1)
                (func (export "handle_request") (result i32) (i32.const 1))
                (func (export "handle_response") (param i32 i32)))"#
        );
        for (wat, reason) in [
            (no_import, "must import from \"http_handler\""),
            (no_memory, "must export its memory"),
            (bad_hook, "export \"handle_request\" has type"),
        ] {
            let err = compile(&wat).expect_err("refused").to_string();
            assert!(err.contains(reason), "{err}");
        }
    }

    #[test]
    fn a_guest_may_import_wasi_functions_the_subset_does_not_implement() {
        let wat = format!(
            r#"(module
                (import "http_handler" "log" (func (param i32 i32 i32)))
                (import "wasi_snapshot_preview1" "path_open"
                    (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
                (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                (memory (export "memory") 1)
                (func (export "_start"))
                {HOOKS})"#
        );
        let module = compile(&wat).expect("links: path_open answers ENOSYS");
        assert_eq!(module.init_export, Some("_start"));
    }

    #[test]
    fn a_core_module_is_told_from_a_component_by_its_preamble() {
        assert!(is_core_module(b"\0asm\x01\0\0\0"));
        assert!(!is_core_module(b"\0asm\x0d\0\x01\0"));
        assert!(!is_core_module(b"\0asm"));
    }
}
