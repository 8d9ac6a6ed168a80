//! The linear memories a Wasm file declares, read from its binary: for `wasmgate plugin inspect`.
//!
//! A component nests core modules (section 1) and components (section 4); each core module's
//! memory section (5) lists its memories' limits in 64 KiB pages. Imported memories are not
//! counted (a component's shim modules import the main module's memory). Runs once per
//! inspected file, a linear walk of its section headers: no allocation beyond the result.

/// One defined linear memory: its declared minimum and (optional) maximum, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeclaredMemory {
    pub min_bytes: u64,
    pub max_bytes: Option<u64>,
}

const PAGE: u64 = 64 << 10;

/// Every memory defined by the file's core modules, in file order. A truncated or malformed
/// file gives what was read before the fault (the engine reports the real error on compile).
pub fn declared_memories(bytes: &[u8]) -> Vec<DeclaredMemory> {
    let mut out = Vec::new();
    walk(bytes, &mut out);
    out
}

fn walk(bytes: &[u8], out: &mut Vec<DeclaredMemory>) {
    if bytes.len() < 8 || bytes[..4] != *b"\0asm" {
        return;
    }
    let component = bytes[6..8] == [1, 0];
    let mut r = Reader { bytes, at: 8 };
    while r.at < bytes.len() {
        let Some(id) = r.byte() else { return };
        let Some(size) = r.leb() else { return };
        let Some(end) = usize::try_from(size).ok().and_then(|s| r.at.checked_add(s)) else {
            return;
        };
        let Some(payload) = bytes.get(r.at..end) else {
            return;
        };
        match (component, id) {
            // A nested core module or component: its own preamble and sections.
            (true, 1) | (true, 4) => walk(payload, out),
            (false, 5) => memory_section(payload, out),
            _ => {}
        }
        r.at = end;
    }
}

fn memory_section(payload: &[u8], out: &mut Vec<DeclaredMemory>) {
    let mut r = Reader {
        bytes: payload,
        at: 0,
    };
    let Some(count) = r.leb() else { return };
    for _ in 0..count {
        let Some(flags) = r.byte() else { return };
        let Some(min) = r.leb() else { return };
        let max = if flags & 1 != 0 {
            match r.leb() {
                Some(max) => Some(max),
                None => return,
            }
        } else {
            None
        };
        // Flag 0x08: a custom page size (log2 follows the limits).
        let page = if flags & 0x08 != 0 {
            match r.leb() {
                Some(log2) if log2 < 32 => 1u64 << log2,
                _ => return,
            }
        } else {
            PAGE
        };
        out.push(DeclaredMemory {
            min_bytes: min.saturating_mul(page),
            max_bytes: max.map(|m| m.saturating_mul(page)),
        });
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    /// An unsigned LEB128 of up to 64 bits.
    fn leb(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_modules_memories_are_read_with_their_limits() {
        let wasm = wat::parse_str("(module (memory 2 10) (memory 1))").expect("wat");
        assert_eq!(
            declared_memories(&wasm),
            vec![
                DeclaredMemory {
                    min_bytes: 2 * PAGE,
                    max_bytes: Some(10 * PAGE)
                },
                DeclaredMemory {
                    min_bytes: PAGE,
                    max_bytes: None
                }
            ]
        );
    }

    #[test]
    fn imported_memories_and_garbage_give_nothing() {
        let wasm = wat::parse_str("(module (import \"a\" \"m\" (memory 3)))").expect("wat");
        assert!(declared_memories(&wasm).is_empty());
        assert!(declared_memories(b"\0asm\x01\0\0\0\x05\xff").is_empty());
        assert!(declared_memories(b"not wasm").is_empty());
    }
}
