//! Linear memories the host can see: a `wasmtime::MemoryCreator` whose memories report where
//! they live, so that a per-request snapshot (`snapshot`) can copy a component's memory out
//! after `init` and back after each request. Components hide their core memories from the host
//! API; an engine that allocates through this creator learns them as they are made.
//!
//! Each memory is one anonymous mapping: `reserved` bytes (wasmtime's `memory_reservation`)
//! plus the guard wasmtime's compiled code counts on (its bounds checks are elided up to the
//! reservation and guard), all `PROT_NONE` but the accessible prefix. Growing makes more of
//! the reservation read-write in place; the base never moves.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasmtime::{LinearMemory, MemoryCreator, MemoryType};

/// Where one memory lives and how large it is now (updated by its growth).
pub struct MemoryView {
    base: usize,
    size: AtomicUsize,
}

impl MemoryView {
    /// Bytes accessible now.
    pub fn size(&self) -> usize {
        self.size.load(Ordering::Acquire)
    }

    /// A copy of the memory's bytes.
    ///
    /// # Safety
    /// No guest code of the memory's store may run meanwhile, and the store (which owns the
    /// memory) must be alive: the caller holds the store.
    pub unsafe fn copy_out(&self) -> Box<[u8]> {
        // SAFETY: `base` starts a mapping whose first `size()` bytes are read-write (`grow_to`
        // publishes a size only after `mprotect` made it so); the caller rules out writers.
        Box::from(unsafe { std::slice::from_raw_parts(self.base as *const u8, self.size()) })
    }

    /// Writes `bytes` over the memory; `false` (nothing written) when the sizes differ.
    ///
    /// # Safety
    /// As [`Self::copy_out`], with the store held mutably.
    pub unsafe fn copy_in(&self, bytes: &[u8]) -> bool {
        if bytes.len() != self.size() {
            return false;
        }
        // SAFETY: as in `copy_out`; the caller rules out any other access.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base as *mut u8, bytes.len()) };
        true
    }
}

thread_local! {
    /// The memories made on this thread since `collecting` started (an instantiation).
    static MADE: RefCell<Option<Vec<Arc<MemoryView>>>> = const { RefCell::new(None) };
}

/// Runs `instantiate` and returns the memories it made on this thread, beside its result.
pub fn collecting<R>(instantiate: impl FnOnce() -> R) -> (R, Vec<Arc<MemoryView>>) {
    MADE.with(|m| *m.borrow_mut() = Some(Vec::new()));
    let out = instantiate();
    let made = MADE.with(|m| m.borrow_mut().take()).unwrap_or_default();
    (out, made)
}

pub struct ViewedMemoryCreator;

// SAFETY: every memory made is a fresh, zero-filled, page-aligned anonymous mapping of the
// reservation wasmtime asked for plus its guard, never moved, unmapped on drop.
unsafe impl MemoryCreator for ViewedMemoryCreator {
    fn new_memory(
        &self,
        _ty: MemoryType,
        minimum: usize,
        maximum: Option<usize>,
        reserved_size_in_bytes: Option<usize>,
        guard_size_in_bytes: usize,
    ) -> Result<Box<dyn LinearMemory>, String> {
        let page = page_size();
        let reserved = reserved_size_in_bytes
            .unwrap_or_else(|| maximum.unwrap_or(minimum).max(minimum))
            .div_ceil(page)
            .saturating_mul(page);
        if minimum > reserved {
            return Err(format!(
                "{minimum} bytes do not fit the {reserved}-byte reservation"
            ));
        }
        let len = reserved
            .checked_add(guard_size_in_bytes)
            .ok_or("reservation overflows")?;
        // SAFETY: a new private anonymous mapping; nothing else refers to its range.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len.max(page),
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(format!("mmap: {}", std::io::Error::last_os_error()));
        }
        let view = Arc::new(MemoryView {
            base: base as usize,
            size: AtomicUsize::new(0),
        });
        let mut memory = ViewedMemory {
            view: view.clone(),
            reserved,
            mapped: len.max(page),
        };
        memory.grow_to(minimum).map_err(|e| format!("{e:#}"))?;
        MADE.with(|m| {
            if let Some(made) = m.borrow_mut().as_mut() {
                made.push(view);
            }
        });
        Ok(Box::new(memory))
    }
}

struct ViewedMemory {
    view: Arc<MemoryView>,
    /// Bytes the memory may grow to in place.
    reserved: usize,
    /// Bytes mapped (reservation and guard).
    mapped: usize,
}

// SAFETY: the struct owns its mapping; wasmtime serialises access to a memory through its store.
unsafe impl LinearMemory for ViewedMemory {
    fn byte_size(&self) -> usize {
        self.view.size()
    }

    fn byte_capacity(&self) -> usize {
        self.reserved
    }

    fn grow_to(&mut self, new_size: usize) -> wasmtime::Result<()> {
        let old = self.view.size();
        if new_size > self.reserved {
            wasmtime::bail!(
                "{new_size} bytes exceed the {}-byte reservation",
                self.reserved
            );
        }
        if new_size > old {
            let page = page_size();
            let from = old.div_ceil(page) * page;
            let to = new_size.div_ceil(page) * page;
            if to > from {
                // SAFETY: [from, to) lies inside this memory's own mapping (`to <= reserved`).
                let rc = unsafe {
                    libc::mprotect(
                        (self.view.base + from) as *mut libc::c_void,
                        to - from,
                        libc::PROT_READ | libc::PROT_WRITE,
                    )
                };
                if rc != 0 {
                    wasmtime::bail!("mprotect: {}", std::io::Error::last_os_error());
                }
            }
        }
        self.view.size.store(new_size, Ordering::Release);
        Ok(())
    }

    fn as_ptr(&self) -> *mut u8 {
        self.view.base as *mut u8
    }
}

impl Drop for ViewedMemory {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new_memory`, unmapped once; the store that used it is
        // being dropped.
        unsafe {
            libc::munmap(self.view.base as *mut libc::c_void, self.mapped);
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096).max(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewed_memory_grows_in_place_and_refuses_to_pass_its_reservation() {
        let page = 64 << 10;
        let (memory, views) = collecting(|| {
            ViewedMemoryCreator.new_memory(
                MemoryType::new(1, None),
                page,
                None,
                Some(4 * page),
                page,
            )
        });
        let mut memory = memory.expect("a memory");
        assert_eq!(views.len(), 1, "the instantiation's memory is collected");
        let view = &views[0];
        let base = memory.as_ptr();
        assert_eq!((memory.byte_size(), view.size()), (page, page));
        // SAFETY: nothing else uses the memory.
        assert!(
            unsafe { view.copy_out() }.iter().all(|b| *b == 0),
            "zero-filled"
        );
        memory
            .grow_to(3 * page)
            .expect("grows within the reservation");
        assert_eq!((memory.byte_size(), view.size()), (3 * page, 3 * page));
        assert_eq!(memory.as_ptr(), base, "the base never moves");
        let mut bytes = vec![0u8; 3 * page];
        bytes[3 * page - 1] = 7;
        assert!(unsafe { view.copy_in(&bytes) }, "the last byte is writable");
        assert_eq!(unsafe { view.copy_out() }[3 * page - 1], 7);
        assert!(!unsafe { view.copy_in(&bytes[..page]) }, "sizes differ");
        assert!(memory.grow_to(5 * page).is_err(), "past the reservation");
        assert_eq!(view.size(), 3 * page);
        let (_, outside) = collecting(|| ());
        assert!(outside.is_empty());
    }
}
