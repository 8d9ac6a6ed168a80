//! The WASI preview-1 subset an http-wasm guest gets: enough for the runtimes of Rust (wasip1)
//! and Go (wasip1) to start and print, and nothing that reaches outside the gateway.
//!
//! - `fd_write` to stdout (1) or stderr (2) goes to the gateway log with the middleware's name,
//!   one line per write, under the instance's log rate limit; any other descriptor is `EBADF`.
//! - `fd_read` from stdin reads nothing (end of file); `fd_fdstat_get` describes 0..=2 as
//!   character devices; `fd_prestat_get` says there are no preopened directories (`EBADF`).
//! - `args_*` and `environ_*`: empty. `clock_time_get` / `clock_res_get`: real time and
//!   monotonic time since the process started. `random_get`: the OS's random bytes.
//!   `sched_yield`: nothing to do.
//! - `proc_exit` traps (exit code 0 during the module's start counts as a clean start).
//! - Every other preview-1 function returns `ENOSYS`; an import of any other module traps if
//!   called (`module::compile` defines those).
//!
//! Deterministic apart from clocks and random: no filesystem, no sockets, no environment.
//! Costs a host call per use; nothing here is on a path the gateway needs per request.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wasmtime::{Caller, ExternType, Linker, Module, Val, ValType};

use super::memory::{read_guest, write_at};
use super::state::GuestState;

type Result<T> = wasmtime::Result<T>;

pub const WASI_P1: &str = "wasi_snapshot_preview1";

const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EINVAL: i32 = 28;
const ENOSYS: i32 = 52;

/// A `proc_exit` call: the guest asked to stop. Traps; [`exit_code`] finds it again.
#[derive(Debug, thiserror::Error)]
#[error("guest called proc_exit({0})")]
pub struct GuestExit(pub i32);

/// The exit code, when `err` is a `proc_exit` trap.
pub fn exit_code(err: &wasmtime::Error) -> Option<i32> {
    err.downcast_ref::<GuestExit>().map(|e| e.0)
}

fn monotonic_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Logs one guest line at an http-wasm level (-1 debug, 0 info, 1 warn, 2 error), under the
/// instance's rate limit.
pub fn log_line(state: &mut GuestState, level: i32, message: &[u8]) {
    let (allowed, dropped) = state.log.take();
    let id = &state.identity;
    let (mw, plugin, hash) = (&*id.middleware, &*id.plugin, &*id.hash);
    if dropped > 0 {
        tracing::warn!(
            middleware = mw,
            plugin,
            hash,
            dropped,
            "guest log lines dropped (rate limit)"
        );
    }
    if !allowed {
        return;
    }
    let text = String::from_utf8_lossy(message);
    let text = text.trim_end_matches('\n');
    match level {
        i32::MIN..=-1 => tracing::debug!(middleware = mw, plugin, hash, "{text}"),
        0 => tracing::info!(middleware = mw, plugin, hash, "{text}"),
        1 => tracing::warn!(middleware = mw, plugin, hash, "{text}"),
        _ => tracing::error!(middleware = mw, plugin, hash, "{text}"),
    }
}

/// The preview-1 functions this module implements.
const DEFINED: &[&str] = &[
    "fd_write",
    "fd_read",
    "fd_fdstat_get",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_close",
    "args_sizes_get",
    "args_get",
    "environ_sizes_get",
    "environ_get",
    "clock_time_get",
    "clock_res_get",
    "random_get",
    "sched_yield",
    "proc_exit",
];

/// Defines the subset, and `ENOSYS` for every other preview-1 function `module` imports.
pub fn add_to_linker(linker: &mut Linker<GuestState>, module: &Module) -> Result<()> {
    let w = WASI_P1;
    linker.func_wrap(
        w,
        "fd_write",
        |mut caller: Caller<'_, GuestState>, fd: i32, iovs: i32, iovs_len: i32, written: i32| {
            if fd != 1 && fd != 2 {
                return Ok(EBADF);
            }
            let table = read_guest(&caller, iovs, iovs_len.saturating_mul(8))?;
            let mut text = Vec::new();
            for iov in table.chunks_exact(8) {
                let ptr = u32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
                let len = u32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
                text.extend(read_guest(&caller, ptr as i32, len as i32)?);
            }
            let n = u32::try_from(text.len()).unwrap_or(u32::MAX);
            if fd == 2 {
                caller.data_mut().remember_stderr(&text);
            }
            if !text.iter().all(u8::is_ascii_whitespace) {
                log_line(caller.data_mut(), if fd == 2 { 1 } else { 0 }, &text);
            }
            write_at(&mut caller, written, &n.to_le_bytes())?;
            Ok(ESUCCESS)
        },
    )?;
    linker.func_wrap(
        w,
        "fd_read",
        |mut caller: Caller<'_, GuestState>, fd: i32, _iovs: i32, _len: i32, read: i32| {
            if fd != 0 {
                return Ok(EBADF);
            }
            write_at(&mut caller, read, &0u32.to_le_bytes())?;
            Ok(ESUCCESS)
        },
    )?;
    linker.func_wrap(
        w,
        "fd_fdstat_get",
        |mut caller: Caller<'_, GuestState>, fd: i32, out: i32| {
            if !(0..=2).contains(&fd) {
                return Ok(EBADF);
            }
            // fdstat: filetype u8 (2: character device), flags u16, rights u64 x2 (24 bytes).
            let mut stat = [0u8; 24];
            stat[0] = 2;
            stat[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
            write_at(&mut caller, out, &stat)?;
            Ok(ESUCCESS)
        },
    )?;
    linker.func_wrap(w, "fd_prestat_get", |_fd: i32, _out: i32| EBADF)?;
    linker.func_wrap(w, "fd_prestat_dir_name", |_fd: i32, _p: i32, _l: i32| EBADF)?;
    linker.func_wrap(w, "fd_close", |_fd: i32| EBADF)?;
    for (sizes, get) in [
        ("args_sizes_get", "args_get"),
        ("environ_sizes_get", "environ_get"),
    ] {
        linker.func_wrap(
            w,
            sizes,
            |mut caller: Caller<'_, GuestState>, count: i32, size: i32| {
                write_at(&mut caller, count, &0u32.to_le_bytes())?;
                write_at(&mut caller, size, &0u32.to_le_bytes())?;
                Ok(ESUCCESS)
            },
        )?;
        linker.func_wrap(w, get, |_list: i32, _buf: i32| ESUCCESS)?;
    }
    linker.func_wrap(
        w,
        "clock_time_get",
        |mut caller: Caller<'_, GuestState>, id: i32, _precision: i64, out: i32| {
            let nanos = match id {
                0 => SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
                1 => monotonic_origin().elapsed().as_nanos(),
                _ => return Ok(EINVAL),
            };
            let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
            write_at(&mut caller, out, &nanos.to_le_bytes())?;
            Ok(ESUCCESS)
        },
    )?;
    linker.func_wrap(
        w,
        "clock_res_get",
        |mut caller: Caller<'_, GuestState>, id: i32, out: i32| {
            if !(0..=1).contains(&id) {
                return Ok(EINVAL);
            }
            write_at(&mut caller, out, &1_000u64.to_le_bytes())?;
            Ok(ESUCCESS)
        },
    )?;
    linker.func_wrap(
        w,
        "random_get",
        |mut caller: Caller<'_, GuestState>, buf: i32, len: i32| {
            let len = usize::try_from(len as u32).unwrap_or(0);
            if len > 1 << 20 {
                return Ok(EINVAL);
            }
            let mut bytes = vec![0u8; len];
            if getrandom::fill(&mut bytes).is_err() {
                return Ok(ENOSYS);
            }
            write_at(&mut caller, buf, &bytes)?;
            Ok(ESUCCESS)
        },
    )?;
    linker.func_wrap(w, "sched_yield", || ESUCCESS)?;
    linker.func_wrap(w, "proc_exit", |code: i32| -> Result<()> {
        Err(wasmtime::Error::new(GuestExit(code)))
    })?;
    // The rest of preview 1 (files, sockets, polling...): "not implemented".
    for import in module.imports().filter(|i| i.module() == w) {
        let ExternType::Func(ty) = import.ty() else {
            continue;
        };
        if DEFINED.contains(&import.name()) {
            continue;
        }
        let returns_errno =
            ty.results().len() == 1 && matches!(ty.results().next(), Some(ValType::I32));
        if returns_errno {
            linker.func_new(w, import.name(), ty, |_caller, _params, results| {
                results[0] = Val::I32(ENOSYS);
                Ok(())
            })?;
        }
    }
    Ok(())
}
