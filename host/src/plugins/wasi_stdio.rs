//! The stdio, polling and preopen pieces of the WASI subset (see `wasi_subset`): what language
//! runtimes (Go, JavaScript and Python engines, Rust's std) touch at start-up or when they print.
//!
//! - `wasi:cli/stdout`, `wasi:cli/stderr`: output streams whose bytes go to the gateway log,
//!   line by line, with the middleware and plugin names, under a per-middleware byte budget
//!   (`plugin_output`). Writes never block and never fail.
//! - `wasi:cli/stdin`: an input stream that is always at its end (`closed`).
//! - `wasi:cli/terminal-{stdin,stdout,stderr}`: no terminal.
//! - `wasi:io/streams`, `wasi:io/poll`, `wasi:io/error`: what those streams need. Every pollable
//!   is ready at once (a stream never waits); the other stream functions (splice, zeroes) trap.
//! - `wasi:filesystem/preopens`: no directories. The filesystem's functions themselves trap.
//!
//! Config-time cost only: the functions are defined per component under the names it imports.
//! Per call: a host call, and for a write one pass over the bytes (`plugin_output`).

use wasmtime::component::{ComponentType, Lift, LinkerInstance, Lower, Resource, Val};

use super::host_state::HostState;
use super::plugin_output::Stream;

// Every WASI resource is the one host type `()`, as the registry's trap stubs define the ones we
// do not implement: an interface that `use`s a resource re-exports it (sometimes renamed:
// `wasi:http/types` has `error as io-error`), and a re-export must be the same host type as the
// original or the linker refuses the component. The rep tells our streams apart; a guest that
// passes one handle for another only reaches another of its own harmless streams.
/// `wasi:io/streams.output-stream`; the rep says which stream.
type OutputStream = ();
/// `wasi:io/streams.input-stream` (only stdin, always at its end).
type InputStream = ();
/// `wasi:io/poll.pollable`: always ready.
type ReadyPollable = ();
/// `wasi:io/error.error` (never created: our streams do not fail).
type IoError = ();

const STDIN_REP: u32 = 0;
const STDOUT_REP: u32 = 1;
const STDERR_REP: u32 = 2;
/// What `check-write` allows per write: the size preview-2 guests (and the preview-1 adapter)
/// chunk their output by.
const WRITE_PERMIT: u64 = 4096;

/// `wasi:io/streams.stream-error`.
#[derive(ComponentType, Lift, Lower)]
#[component(variant)]
enum StreamError {
    #[component(name = "last-operation-failed")]
    LastOperationFailed(Resource<IoError>),
    #[component(name = "closed")]
    Closed,
}

type StreamResult<T> = wasmtime::Result<(Result<T, StreamError>,)>;

/// Defines `interface` (imported as `name`) if it is one of ours; false otherwise.
pub fn define(
    linker: &mut wasmtime::component::Linker<HostState>,
    name: &str,
    interface: &str,
) -> wasmtime::Result<bool> {
    match interface {
        "wasi:io/poll" => define_poll(&mut linker.instance(name)?)?,
        "wasi:io/error" => {
            let mut i = linker.instance(name)?;
            i.func_wrap(
                "[method]error.to-debug-string",
                |_, (_e,): (Resource<IoError>,)| Ok((String::new(),)),
            )?;
        }
        "wasi:io/streams" => {
            let mut i = linker.instance(name)?;
            define_streams(&mut i)?;
        }
        "wasi:cli/stdout" => {
            let mut i = linker.instance(name)?;
            i.func_wrap("get-stdout", |_, ()| {
                Ok((Resource::<OutputStream>::new_own(STDOUT_REP),))
            })?;
        }
        "wasi:cli/stderr" => {
            let mut i = linker.instance(name)?;
            i.func_wrap("get-stderr", |_, ()| {
                Ok((Resource::<OutputStream>::new_own(STDERR_REP),))
            })?;
        }
        "wasi:cli/stdin" => {
            let mut i = linker.instance(name)?;
            i.func_wrap("get-stdin", |_, ()| {
                Ok((Resource::<InputStream>::new_own(STDIN_REP),))
            })?;
        }
        "wasi:cli/terminal-stdin" => none(&mut linker.instance(name)?, "get-terminal-stdin")?,
        "wasi:cli/terminal-stdout" => none(&mut linker.instance(name)?, "get-terminal-stdout")?,
        "wasi:cli/terminal-stderr" => none(&mut linker.instance(name)?, "get-terminal-stderr")?,
        "wasi:filesystem/preopens" => {
            linker
                .instance(name)?
                .func_new("get-directories", |_, _, _, results| {
                    if let Some(slot) = results.first_mut() {
                        *slot = Val::List(Vec::new());
                    }
                    Ok(())
                })?;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// A function returning `option<…>::none`.
fn none(i: &mut LinkerInstance<'_, HostState>, func: &str) -> wasmtime::Result<()> {
    i.func_new(func, |_, _, _, results| {
        if let Some(slot) = results.first_mut() {
            *slot = Val::Option(None);
        }
        Ok(())
    })
}

fn define_poll(i: &mut LinkerInstance<'_, HostState>) -> wasmtime::Result<()> {
    i.func_wrap(
        "[method]pollable.ready",
        |_, (_p,): (Resource<ReadyPollable>,)| Ok((true,)),
    )?;
    i.func_wrap(
        "[method]pollable.block",
        |_, (_p,): (Resource<ReadyPollable>,)| Ok(()),
    )?;
    // Every pollable is ready: all their indices.
    i.func_wrap("poll", |_, (list,): (Vec<Resource<ReadyPollable>>,)| {
        let ready: Vec<u32> = (0..u32::try_from(list.len()).unwrap_or(u32::MAX)).collect();
        Ok((ready,))
    })
}

fn stream_of(rep: u32) -> Stream {
    if rep == STDERR_REP {
        Stream::Stderr
    } else {
        Stream::Stdout
    }
}

fn define_streams(i: &mut LinkerInstance<'_, HostState>) -> wasmtime::Result<()> {
    i.func_wrap(
        "[method]output-stream.check-write",
        |_, (_s,): (Resource<OutputStream>,)| -> StreamResult<u64> { Ok((Ok(WRITE_PERMIT),)) },
    )?;
    for func in [
        "[method]output-stream.write",
        "[method]output-stream.blocking-write-and-flush",
    ] {
        i.func_wrap(
            func,
            |mut store, (s, bytes): (Resource<OutputStream>, Vec<u8>)| -> StreamResult<()> {
                store.data_mut().write_output(stream_of(s.rep()), &bytes);
                Ok((Ok(()),))
            },
        )?;
    }
    for func in [
        "[method]output-stream.flush",
        "[method]output-stream.blocking-flush",
    ] {
        i.func_wrap(
            func,
            // Nothing is held back but an unfinished line (see `plugin_output`).
            |_, (_s,): (Resource<OutputStream>,)| -> StreamResult<()> { Ok((Ok(()),)) },
        )?;
    }
    i.func_wrap(
        "[method]output-stream.subscribe",
        |_, (_s,): (Resource<OutputStream>,)| Ok((Resource::<ReadyPollable>::new_own(0),)),
    )?;

    for func in [
        "[method]input-stream.read",
        "[method]input-stream.blocking-read",
    ] {
        i.func_wrap(
            func,
            |_, (_s, _len): (Resource<InputStream>, u64)| -> StreamResult<Vec<u8>> {
                Ok((Err(StreamError::Closed),))
            },
        )?;
    }
    for func in [
        "[method]input-stream.skip",
        "[method]input-stream.blocking-skip",
    ] {
        i.func_wrap(
            func,
            |_, (_s, _len): (Resource<InputStream>, u64)| -> StreamResult<u64> {
                Ok((Err(StreamError::Closed),))
            },
        )?;
    }
    i.func_wrap(
        "[method]input-stream.subscribe",
        |_, (_s,): (Resource<InputStream>,)| Ok((Resource::<ReadyPollable>::new_own(0),)),
    )?;
    Ok(())
}
