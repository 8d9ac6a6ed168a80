//! The global allocator of a plugin built for `wasm32-unknown-unknown` (the bundled plugins):
//! dlmalloc, as std's own for that target, but starting in the free tail of the initial memory
//! (from `__heap_base` to the end of the last initial page, ~20 KiB with the 64 KiB stack)
//! instead of growing the memory on the first allocation.
//!
//! Why: std's allocator for that target calls `memory.grow` for its first chunk, so every fresh
//! instance grew its memory at least once, and wasmtime makes each growth of a pooled memory
//! accessible with an `mprotect` (and a TLB flush) that it undoes when the slot is reused:
//! measured with `plugin_call`, `floor/per-request` went from 7.3 to 13 µs. wasi-libc's malloc
//! (the `wasm32-wasip2` builds) uses that tail too. Runs on every allocation; the tail is
//! claimed once per instance, at its first allocation.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::{Cell, UnsafeCell};
use core::ptr;

use dlmalloc::{Allocator, Dlmalloc};

/// A Wasm page.
const PAGE: usize = 64 * 1024;

unsafe extern "C" {
    /// First byte after the data segments and the stack (set by the linker).
    static __heap_base: u8;
}

/// Where dlmalloc gets its memory: the initial memory's tail once (grown by the pages the first
/// request lacks), then whole pages from `memory.grow`, which dlmalloc merges with its top
/// chunk when they follow it.
struct Memory {
    tail_claimed: Cell<bool>,
}

// SAFETY: regions handed out are this instance's own linear memory, never given twice: the tail
// once (`tail_claimed`), grown pages once each (`memory.grow` returns fresh pages).
unsafe impl Allocator for Memory {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        if !self.tail_claimed.replace(true) {
            let base = ptr::addr_of!(__heap_base) as usize;
            let end = wasm32::memory_size(0) * PAGE;
            if base < end {
                // The tail and, when it is too small, pages grown right after it: one region.
                let tail = end - base;
                let pages = size.saturating_sub(tail).div_ceil(PAGE);
                if pages > 0 && wasm32::memory_grow(0, pages) == usize::MAX {
                    return (ptr::null_mut(), 0, 0);
                }
                return (base as *mut u8, tail + pages * PAGE, 0);
            }
        }
        let pages = size.div_ceil(PAGE);
        let previous = wasm32::memory_grow(0, pages);
        if previous == usize::MAX {
            return (ptr::null_mut(), 0, 0);
        }
        ((previous * PAGE) as *mut u8, pages * PAGE, 0)
    }

    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        ptr::null_mut()
    }

    fn free_part(&self, _ptr: *mut u8, _old: usize, _new: usize) -> bool {
        false
    }

    fn free(&self, _ptr: *mut u8, _size: usize) -> bool {
        false
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        false
    }

    /// A fresh instance's memory is zero past the data segments, and so are grown pages.
    fn allocates_zeros(&self) -> bool {
        true
    }

    fn page_size(&self) -> usize {
        PAGE
    }
}

struct Global(UnsafeCell<Dlmalloc<Memory>>);

// SAFETY: `wasm32-unknown-unknown` without the atomics feature has one thread, and an allocator
// call never re-enters another.
unsafe impl Sync for Global {}

/// dlmalloc asks [`Memory`] for what it needs rounded up to this: small, so its first request
/// is what the first allocation needs and fits the tail (with its default 64 KiB granularity it
/// asks for 64 KiB and the tail never suffices); [`Memory`] rounds growth up to whole pages.
const GRANULARITY: usize = 64;

#[global_allocator]
static ALLOCATOR: Global = Global(UnsafeCell::new({
    let mut dlmalloc = Dlmalloc::new_with_allocator(Memory {
        tail_claimed: Cell::new(false),
    });
    assert!(dlmalloc.set_granularity(GRANULARITY));
    dlmalloc
}));

// SAFETY: forwards to dlmalloc, whose functions have `GlobalAlloc`'s contract; the one thread
// makes the `&mut` unique for each call.
unsafe impl GlobalAlloc for Global {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { (*self.0.get()).malloc(layout.size(), layout.align()) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { (*self.0.get()).calloc(layout.size(), layout.align()) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { (*self.0.get()).free(ptr, layout.size(), layout.align()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { (*self.0.get()).realloc(ptr, layout.size(), layout.align(), new_size) }
    }
}
