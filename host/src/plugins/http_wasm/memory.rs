//! Reading and writing a guest's linear memory for the host functions (`abi`, `wasi_p1`).
//!
//! Runs inside every host call that takes or returns bytes: a bounds check and a copy. A
//! pointer or length outside the guest's memory traps (the guest fails, the host never reads
//! or writes out of bounds). The memory export is looked up once per instance (`guest`).

use wasmtime::{Caller, Memory};

use super::state::GuestState;

type Result<T> = wasmtime::Result<T>;

pub fn trap(message: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::msg(message.into())
}

/// The guest's exported memory (looked up once per instance by `guest`, kept in the state).
fn memory(caller: &Caller<'_, GuestState>) -> Result<Memory> {
    caller
        .data()
        .memory_export
        .ok_or_else(|| trap("http-wasm guest has no exported memory"))
}

fn range(ptr: i32, len: i32, size: usize) -> Result<std::ops::Range<usize>> {
    let start = ptr as u32 as usize;
    let end = start
        .checked_add(len as u32 as usize)
        .filter(|end| *end <= size)
        .ok_or_else(|| trap("http-wasm guest passed a buffer outside its memory"))?;
    Ok(start..end)
}

/// Copies `len` bytes at `ptr` out of guest memory.
pub fn read_guest(caller: &Caller<'_, GuestState>, ptr: i32, len: i32) -> Result<Vec<u8>> {
    let data = memory(caller)?.data(caller);
    Ok(data[range(ptr, len, data.len())?].to_vec())
}

/// Writes `value` at `buf` when it fits in `limit`; returns its length either way.
pub fn write_if_fits(
    caller: &mut Caller<'_, GuestState>,
    buf: i32,
    limit: i32,
    value: &[u8],
) -> Result<i32> {
    let len = i32::try_from(value.len()).map_err(|_| trap("value too large for the ABI"))?;
    if value.len() <= limit as u32 as usize {
        let data = memory(caller)?.data_mut(&mut *caller);
        let r = range(buf, len, data.len())?;
        data[r].copy_from_slice(value);
    }
    Ok(len)
}

/// Writes NUL-terminated `items` when they fit; returns `count << 32 | len` either way.
pub fn write_list(
    caller: &mut Caller<'_, GuestState>,
    buf: i32,
    limit: i32,
    items: &[&[u8]],
) -> Result<i64> {
    if items.is_empty() {
        return Ok(0);
    }
    let mut joined = Vec::with_capacity(items.iter().map(|i| i.len() + 1).sum());
    for item in items {
        joined.extend_from_slice(item);
        joined.push(0);
    }
    let len = write_if_fits(caller, buf, limit, &joined)?;
    Ok(((items.len() as i64) << 32) | i64::from(len as u32))
}

/// Writes `bytes` at `ptr` (a WASI out-parameter).
pub fn write_at(caller: &mut Caller<'_, GuestState>, ptr: i32, bytes: &[u8]) -> Result<()> {
    let len = i32::try_from(bytes.len()).map_err(|_| trap("value too large for the ABI"))?;
    let data = memory(caller)?.data_mut(&mut *caller);
    let r = range(ptr, len, data.len())?;
    data[r].copy_from_slice(bytes);
    Ok(())
}
