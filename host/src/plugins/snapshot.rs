//! Per-request isolation without a new instance per request: an instance's linear memory right
//! after `init`, put back when a request is done with it.
//!
//! A fresh instance per request costs wasmtime's instantiation and the store's teardown
//! (≈ 9 µs for the smallest bundled plugin here, bench/README). Putting the memory back costs a
//! `memcpy` of the guest's memory (≈ 1.2 µs per 64 KiB on this machine, when it is in the
//! caches). What a later request sees is exactly what a fresh, configured instance would hold,
//! with two differences a plugin cannot tell from its own state:
//! - its `init` ran once, when the instance was made, not once per request. An instance whose
//!   `init` drew randomness (`wasi:random` bytes or numbers, not the hash seed) is never
//!   snapshotted: every request would replay the same draws (`HostState::drew_random`);
//! - the store's host-side handles (component resources) are the ones `init` left, and a trap or
//!   failure drops the instance as before.
//!
//! Which components qualify is decided once per component ([`Resettable::of`]): the state a
//! snapshot cannot see must not change, so a component whose code can change a table, drop a
//! data or element segment, share a memory or keep state in globals is never snapshotted. A
//! memory that grew during a request cannot shrink back: [`InstanceSnapshot::restore`] then
//! refuses and the instance is dropped, as any instance that failed.
//!
//! Components hide their core instances' memories from the host API, and globals cannot be read
//! either. So:
//! - the memories: instances that may be snapshotted are made by a sibling engine whose memories
//!   the host allocates and sees (`snapshot_memory`, `PluginEngine::viewed`);
//! - the globals: a component qualifies only if each core module has at most one mutable
//!   global, an `i32` (LLVM's stack pointer, which every call that returns leaves where it found
//!   it). A module with more (a Go runtime, the WASI preview-1 adapter) gets a fresh instance
//!   per request.

use std::sync::Arc;

use wasmtime::Store;

use super::host_state::HostState;
use super::snapshot_memory::MemoryView;

/// Most bytes of linear memory one snapshot keeps; a larger instance gets no snapshot (a fresh
/// instance per request, as before). Each idle instance holds its snapshot besides its memory,
/// and every request copies it back: 8 MiB is ≈ 150 µs of copying here, still far below what a
/// language runtime's start costs per fresh instance (milliseconds, README).
pub const SNAPSHOT_MAX_BYTES: usize = 8 << 20;

/// Whether a component's instances may be snapshotted: what its core modules' code can change
/// besides linear memory and globals. Decided once per component, at config time (a walk of
/// its code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resettable {
    Yes,
    /// Why not, for the log line that says a middleware makes a fresh instance per request.
    No(String),
}

impl Resettable {
    pub fn of(component: &[u8]) -> Resettable {
        match unrestorable_state(component) {
            Ok(None) => Resettable::Yes,
            Ok(Some(reason)) => Resettable::No(reason),
            Err(e) => Resettable::No(format!("cannot read the component: {e}")),
        }
    }
}

/// The first kind of state a snapshot could not put back, if the component's code has one.
fn unrestorable_state(component: &[u8]) -> Result<Option<String>, wasmparser::BinaryReaderError> {
    use wasmparser::{Operator, Payload};
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        match payload? {
            Payload::MemorySection(memories) => {
                for memory in memories {
                    if memory?.shared {
                        return Ok(Some("it defines a shared memory".into()));
                    }
                }
            }
            Payload::GlobalSection(globals) => {
                // A call that returns leaves the stack pointer (the one mutable global LLVM's
                // linker gives a module) where it found it; any other mutable global could
                // carry a request's data to the next, and a snapshot cannot put globals back.
                let mut mutable = Vec::new();
                for global in globals {
                    let ty = global?.ty;
                    if ty.mutable {
                        mutable.push(ty.content_type);
                    }
                }
                match mutable.as_slice() {
                    [] | [wasmparser::ValType::I32] => {}
                    [_] => return Ok(Some("its one mutable global is not a stack pointer".into())),
                    more => {
                        return Ok(Some(format!(
                            "a core module keeps state in {} mutable globals",
                            more.len()
                        )));
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut ops = body.get_operators_reader()?;
                while !ops.eof() {
                    let what = match ops.read()? {
                        Operator::TableSet { .. }
                        | Operator::TableGrow { .. }
                        | Operator::TableFill { .. }
                        | Operator::TableCopy { .. }
                        | Operator::TableInit { .. } => "changes a table",
                        Operator::ElemDrop { .. } => "drops an element segment",
                        Operator::DataDrop { .. } => "drops a data segment",
                        _ => continue,
                    };
                    return Ok(Some(format!("its code {what}")));
                }
            }
            _ => {}
        }
    }
    Ok(None)
}

/// Why an instance got no snapshot (it is then used for one request only, as before).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotRefused {
    #[error("its init drew randomness, which every request would replay")]
    DrewRandom,
    #[error("its memory ({0} bytes) is over the {SNAPSHOT_MAX_BYTES}-byte snapshot cap")]
    TooLarge(usize),
    #[error("the engine does not show its memories")]
    NoMemories,
}

/// One instance's memories as `init` left them.
pub struct InstanceSnapshot {
    memories: Vec<(Arc<MemoryView>, Box<[u8]>)>,
}

impl InstanceSnapshot {
    /// Takes the snapshot of a configured instance (`memories`: those its instantiation made).
    /// Runs once per instance, right after `init`: a copy of its memory.
    pub fn take(
        store: &mut Store<HostState>,
        memories: &[Arc<MemoryView>],
    ) -> Result<InstanceSnapshot, SnapshotRefused> {
        if store.data().drew_random {
            return Err(SnapshotRefused::DrewRandom);
        }
        if memories.is_empty() {
            return Err(SnapshotRefused::NoMemories);
        }
        let total = memories.iter().map(|m| m.size()).sum::<usize>();
        if total > SNAPSHOT_MAX_BYTES {
            return Err(SnapshotRefused::TooLarge(total));
        }
        let memories = memories
            .iter()
            .map(|view| {
                // SAFETY: `store` (the memory's owner) is held mutably: no guest code runs.
                (view.clone(), unsafe { view.copy_out() })
            })
            .collect();
        Ok(InstanceSnapshot { memories })
    }

    /// Puts the memories back as `init` left them. `false` when a memory grew since (it cannot
    /// shrink): the instance must then be dropped. Cost: a `memcpy` of the snapshot.
    pub fn restore(&self, store: &mut Store<HostState>) -> bool {
        let _owner = store;
        if self
            .memories
            .iter()
            .any(|(view, bytes)| view.size() != bytes.len())
        {
            return false;
        }
        // SAFETY: the store (the memory's owner) is held mutably: no guest code runs.
        self.memories
            .iter()
            .all(|(view, bytes)| unsafe { view.copy_in(bytes) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(core_module_body: &str) -> Vec<u8> {
        wat::parse_str(format!("(component (core module {core_module_body}))"))
            .expect("a valid component")
    }

    #[test]
    fn a_component_whose_modules_keep_only_a_stack_pointer_may_be_snapshotted() {
        let plain = component(
            r#"(memory 1)
               (global $sp (mut i32) (i32.const 65536))
               (global $end i32 (i32.const 1024))
               (func (export "f") (result i32) global.get $sp)"#,
        );
        assert_eq!(Resettable::of(&plain), Resettable::Yes);
        assert_eq!(Resettable::of(&component("(memory 1)")), Resettable::Yes);
    }

    #[test]
    fn state_a_snapshot_cannot_put_back_rules_it_out() {
        let cases = [
            (
                "(global (mut i32) (i32.const 0)) (global (mut i32) (i32.const 0))",
                "a core module keeps state in 2 mutable globals",
            ),
            (
                "(global (mut i64) (i64.const 0))",
                "its one mutable global is not a stack pointer",
            ),
            (
                "(table 1 funcref) (func $f) (func (export \"g\") (table.set 0 (i32.const 0) (ref.func $f))) (elem declare func $f)",
                "its code changes a table",
            ),
            (
                "(memory 1) (data $d \"x\") (func (export \"g\") (data.drop $d))",
                "its code drops a data segment",
            ),
            ("(memory 1 1 shared)", "it defines a shared memory"),
        ];
        for (body, reason) in cases {
            assert_eq!(
                Resettable::of(&component(body)),
                Resettable::No(reason.into()),
                "{body}"
            );
        }
        assert!(matches!(Resettable::of(b"not wasm"), Resettable::No(_)));
    }
}
