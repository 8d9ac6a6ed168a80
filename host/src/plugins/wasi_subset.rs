//! The slice of WASI a plugin may use, locked down.
//!
//! Language runtimes import WASI even for pure computation (Rust's `HashMap` asks for random
//! seeds, `SystemTime` for the wall clock). We link only the interfaces that are safe and
//! non-blocking on a proxy thread, and back them with nothing sensitive:
//! - `wasi:random/*`: real randomness (seeds for hash maps).
//! - `wasi:clocks/wall-clock`: a clock frozen at the Unix epoch (plugins get no wall clock;
//!   the `clock` import gives monotonic time).
//! - `wasi:cli/environment`: no variables, no arguments, no working directory.
//! - `wasi:cli/exit`: traps the call.
//!
//! Every other import (filesystem, sockets, stdio streams, polling) is linked as a trap by the
//! engine: a plugin that tries to print or open a file fails that request, nothing else.
//! (wasmtime-wasi's own blocking stream implementations would block the proxy thread.)

use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime_wasi::p2::bindings::{cli, clocks, random};
use wasmtime_wasi::{HostWallClock, WasiCtx};

use super::host_state::HostState;

/// A wall clock stopped at the Unix epoch.
struct FrozenWallClock;

impl HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// A WASI context with no preopens, no environment, no arguments, no network and a frozen
/// wall clock. Cost: a few small allocations, once per instance.
pub fn locked_down_ctx() -> WasiCtx {
    WasiCtx::builder().wall_clock(FrozenWallClock).build()
}

fn random_ctx(state: &mut HostState) -> &mut wasmtime_wasi::random::WasiRandomCtx {
    state.wasi.get_or_insert_with(locked_down_ctx).random()
}

/// Adds the safe WASI subset to the linker.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
    use wasmtime_wasi::random::WasiRandom;
    clocks::wall_clock::add_to_linker::<HostState, WasiClocks>(linker, HostState::clocks)?;
    random::random::add_to_linker::<HostState, WasiRandom>(linker, random_ctx)?;
    random::insecure::add_to_linker::<HostState, WasiRandom>(linker, random_ctx)?;
    random::insecure_seed::add_to_linker::<HostState, WasiRandom>(linker, random_ctx)?;
    cli::environment::add_to_linker::<HostState, WasiCli>(linker, HostState::cli)?;
    cli::exit::add_to_linker::<HostState, WasiCli>(linker, HostState::cli)?;
    Ok(())
}
