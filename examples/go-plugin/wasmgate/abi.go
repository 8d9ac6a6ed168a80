// Package wasmgate is a hand-written Go binding of the wasmgate plugin contract (the `middleware`
// world of wit/plugin.wit, version 0.1.0) for Go's own toolchain (`GOOS=wasip1 GOARCH=wasm`,
// `-buildmode=c-shared`): `//go:wasmimport` for the contract's imports, `//go:wasmexport` for its
// exports, lifted and lowered by hand following the component model's canonical ABI. The core
// module this builds is made into a component by embedding the world and adding the WASI
// preview-1 adapter (`wit-c component CORE OUT WIT_DIR middleware`).
//
// This file: memory the host writes into (`cabi_realloc`) and the values an export's result
// points into, both kept alive until the host has read the result (the export's post-return).
package wasmgate

import "unsafe"

// adapterArena is the memory of the WASI preview-1 adapter (its stack and state): the 16-byte
// marker, then 3 pages. The adapter first runs inside Go's runtime start-up, where no Go
// function can be called and Go owns every page above its heap, so the component step
// (tools/wit-c, adapter_arena.rs) finds this marker in the module's data and adds a
// `cabi_realloc_adapter` that hands out this memory. Its zeros cost nothing in the file (the Go
// linker leaves zero runs out of data segments).
var adapterArena = [16 + 3<<16]byte{'w', 'a', 's', 'm', 'g', 'a', 't', 'e', '-', 'a', 'd', 'a', 'p', 't', 'e', 'r'}

// adapterArenaAt is the arena's address. cabiRealloc reads it (the arena is never a block the
// host hands back), which keeps the arena in the linked module.
var adapterArenaAt = unsafe.Pointer(&adapterArena)

// allocs holds every block the host asked for with cabi_realloc during the current export
// call: the export's own arguments and the lists and strings imports return. Slices handed to
// the plugin point into them, so the garbage collector keeps what the plugin still uses.
var allocs [][]uint64

// keep holds the Go values an export's result points into (a reply's headers and body, an
// error string) until the host has copied them out.
var keep []any

// cabiRealloc is the canonical ABI's allocator: the host calls it to place strings and lists in
// guest memory. Blocks are 8-byte aligned (the contract needs at most 4) and never moved (Go's
// collector does not move objects). Cost: one Go allocation per call. The host only ever asks
// for new blocks (`old` 0); a resize copies.
//
//go:wasmexport cabi_realloc
func cabiRealloc(old, oldSize, align, newSize uint32) uint32 {
	if newSize == 0 || old == uint32(uintptr(adapterArenaAt)) {
		return align
	}
	block := make([]uint64, (newSize+7)/8)
	p := unsafe.Pointer(&block[0])
	if old != 0 && oldSize != 0 {
		copy(unsafe.Slice((*byte)(p), newSize), bytesAt(old, min(oldSize, newSize)))
	}
	allocs = append(allocs, block)
	return uint32(uintptr(p))
}

// release forgets what the last export call allocated or returned; called by every
// post-return, when the host has read the result.
func release() {
	clear(allocs)
	allocs = allocs[:0]
	clear(keep)
	keep = keep[:0]
}

// addr turns a guest address the host wrote into a pointer. Every such address lies in a
// cabi_realloc block (kept in allocs) or in the memory the plugin passed, so the pointer is to
// a live Go object. (unsafe.Add from nil is unsafe.Pointer(uintptr(p)) in a form `go vet`
// accepts.)
func addr(p uint32) unsafe.Pointer {
	return unsafe.Add(nil, p)
}

// bytesAt is the list<u8> at p of n bytes, without copying (nil when empty).
func bytesAt(p, n uint32) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(addr(p)), n)
}

// stringAt is the UTF-8 string at p of n bytes, without copying.
func stringAt(p, n uint32) string {
	if n == 0 {
		return ""
	}
	return unsafe.String((*byte)(addr(p)), n)
}

// bytesPtr is the address and length of b for an import argument or an export result.
func bytesPtr(b []byte) (unsafe.Pointer, uint32) {
	if len(b) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(&b[0]), uint32(len(b))
}

// stringPtr is the address and length of s for an export result (keep s in keep).
func stringPtr(s string) (uint32, uint32) {
	if len(s) == 0 {
		return 0, 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s)))), uint32(len(s))
}

// retArea is where an import with more than one flat result writes them (at most 16 bytes in
// this world); read it right after the call.
type retArea [4]uint32

// byte0 is the discriminant of a variant, option or result stored at the start of the area.
func (r *retArea) byte0() uint32 { return r[0] & 0xff }

func (r *retArea) ptr() unsafe.Pointer { return unsafe.Pointer(r) }
