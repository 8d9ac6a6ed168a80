//! `cabi_realloc_adapter` for a Go core module, added to the module before it becomes a
//! component.
//!
//! The WASI preview-1 adapter allocates its stack and state (one 64 KiB page each) on its first
//! call, through the main module's `cabi_realloc_adapter` (else `cabi_realloc`). In a Go module
//! that first call comes from inside Go's runtime start-up (`nanotime`), where no Go function can
//! run (a `//go:wasmexport` called there aborts with `badsystemstack`), and `memory.grow` is no
//! way out either: Go's allocator assumes every page above its break is its own.
//!
//! So the Go binding reserves the memory itself, in its data: `ARENA_PAGES` pages right after
//! the 16-byte `MARKER` (examples/go-plugin/wasmgate/abi.go, `adapterArena`). Here the marker is
//! found in the module's data segments and a small bump allocator over that arena is appended
//! to the module (one type, one function, one global, one export; nothing else is renumbered).
//! Cost: one pass over the module's bytes at build time.

use anyhow::{Context, Result, bail};
use wasm_encoder::{ConstExpr, Encode, Function, GlobalType, Instruction, ValType};
use wasmparser::{BinaryReader, Parser, Payload, TypeRef};

/// The bytes that open the arena (`adapterArena` in abi.go).
pub const MARKER: &[u8; 16] = b"wasmgate-adapter";
/// Pages the arena holds after the marker: the adapter's stack and state, and one spare.
pub const ARENA_PAGES: u32 = 3;

/// The module with `cabi_realloc_adapter` added, or `None` when it has no arena (not a Go
/// module of this binding: it is then left as it is).
pub fn add_realloc(module: &[u8]) -> Result<Option<Vec<u8>>> {
    let mut arena = None;
    let (mut func_imports, mut funcs, mut globals, mut types) = (0u32, 0u32, 0u32, 0u32);
    for payload in Parser::new(0).parse_all(module) {
        match payload? {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    match import?.ty {
                        TypeRef::Func(_) => func_imports += 1,
                        TypeRef::Global(_) => globals += 1,
                        _ => {}
                    }
                }
            }
            Payload::TypeSection(s) => types = s.count(),
            Payload::FunctionSection(s) => funcs = s.count(),
            Payload::GlobalSection(s) => globals += s.count(),
            Payload::DataSection(data) => {
                for segment in data {
                    let segment = segment?;
                    let wasmparser::DataKind::Active { offset_expr, .. } = segment.kind else {
                        continue;
                    };
                    let Some(at) = segment.data.windows(16).position(|w| w == MARKER) else {
                        continue;
                    };
                    let mut ops = offset_expr.get_operators_reader();
                    let wasmparser::Operator::I32Const { value } = ops.read()? else {
                        bail!("the data segment holding the adapter arena has no constant offset");
                    };
                    if arena.is_some() {
                        bail!("two adapter arenas in the module");
                    }
                    arena = Some(value as u32 + at as u32 + 16);
                }
            }
            _ => {}
        }
    }
    let Some(start) = arena else { return Ok(None) };
    let end = start + ARENA_PAGES * 65536;

    // The new entries, each encoded as its section lists it.
    let mut new_type = vec![0x60, 4];
    new_type.extend([0x7f; 4]);
    new_type.extend([1, 0x7f]);
    let mut new_func = Vec::new();
    types.encode(&mut new_func);
    let mut new_global = Vec::new();
    GlobalType {
        val_type: ValType::I32,
        mutable: true,
        shared: false,
    }
    .encode(&mut new_global);
    ConstExpr::i32_const(start as i32).encode(&mut new_global);
    let mut new_export = Vec::new();
    "cabi_realloc_adapter".encode(&mut new_export);
    new_export.push(0x00); // a function
    (func_imports + funcs).encode(&mut new_export);
    let mut new_code = Vec::new();
    bump(globals, end).encode(&mut new_code);

    let mut out = module[..8].to_vec();
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload?;
        let Some((id, range)) = payload.as_section() else {
            continue;
        };
        let content = &module[range.start as usize..range.end as usize];
        let added = match id {
            1 => Some(&new_type),
            3 => Some(&new_func),
            6 => Some(&new_global),
            7 => Some(&new_export),
            10 => Some(&new_code),
            _ => None,
        };
        let content = match added {
            Some(entry) => with_entry(content, entry)?,
            None => content.to_vec(),
        };
        out.push(id);
        (content.len() as u32).encode(&mut out);
        out.extend(content);
    }
    if globals == 0 {
        bail!("the module has no global section to add the arena's pointer to");
    }
    Ok(Some(out))
}

/// A vector section's content with one more entry at its end.
fn with_entry(content: &[u8], entry: &[u8]) -> Result<Vec<u8>> {
    let mut reader = BinaryReader::new(content, 0);
    let count = reader.read_var_u32().context("reading a section's count")?;
    let mut out = Vec::with_capacity(content.len() + entry.len() + 5);
    (count + 1).encode(&mut out);
    out.extend(&content[reader.current_position()..]);
    out.extend(entry);
    Ok(out)
}

/// `cabi_realloc_adapter(old, old_len, align, len) -> ptr`: the next `align`-aligned `len`
/// bytes of the arena (global `next`); traps when the arena is used up. The adapter never
/// frees nor resizes.
fn bump(next: u32, end: u32) -> Function {
    let mut f = Function::new([(1, ValType::I32)]);
    let (align, len, at) = (2, 3, 4);
    for i in [
        // at = (next + align - 1) & -align
        Instruction::GlobalGet(next),
        Instruction::LocalGet(align),
        Instruction::I32Add,
        Instruction::I32Const(1),
        Instruction::I32Sub,
        Instruction::I32Const(0),
        Instruction::LocalGet(align),
        Instruction::I32Sub,
        Instruction::I32And,
        Instruction::LocalTee(at),
        // if at + len > end: trap
        Instruction::LocalGet(len),
        Instruction::I32Add,
        Instruction::I32Const(end as i32),
        Instruction::I32GtU,
        Instruction::If(wasm_encoder::BlockType::Empty),
        Instruction::Unreachable,
        Instruction::End,
        Instruction::LocalGet(at),
        Instruction::LocalGet(len),
        Instruction::I32Add,
        Instruction::GlobalSet(next),
        Instruction::LocalGet(at),
        Instruction::End,
    ] {
        f.instruction(&i);
    }
    f
}
