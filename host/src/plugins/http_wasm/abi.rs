//! The `http_handler` host functions of the http-wasm handler ABI.
//!
//! Called by the guest during a hook; each is a few field reads or one checked edit. Strings
//! and buffers are `(offset, length)` pairs in the guest's `memory`. Reads follow the ABI's
//! short-buffer rule: the value is written only when it fits in `buf_limit`, and its length is
//! returned either way, so a guest can ask with a limit of 0 and retry. Every edit goes through
//! the same checks as a component's (`plugins::head_edits`); a refused edit, an out-of-bounds
//! pointer, a request function called outside a request or a write to trailers (unsupported)
//! traps, which fails this request only (the instance is then discarded).

use http::header::HeaderMap;
use wasmtime::{Caller, Linker};

use super::body::MAX_BUFFERED_BODY;
use super::memory::{read_guest, trap, write_if_fits, write_list};
use super::state::{GuestState, Phase, SUPPORTED_FEATURES};
use crate::plugins::head_edits::{HeaderEdits, valid_status};

type Result<T> = wasmtime::Result<T>;

/// The import module of the http-wasm handler ABI.
pub const HTTP_HANDLER: &str = "http_handler";

const HEADER_REQUEST: i32 = 0;
const HEADER_RESPONSE: i32 = 1;
const HEADER_REQUEST_TRAILERS: i32 = 2;
const HEADER_RESPONSE_TRAILERS: i32 = 3;
const BODY_REQUEST: i32 = 0;
const BODY_RESPONSE: i32 = 1;

fn utf8(bytes: Vec<u8>, what: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| trap(format!("http-wasm guest passed a non-UTF-8 {what}")))
}

fn in_request<'a>(
    state: &'a mut GuestState,
    what: &str,
) -> Result<&'a mut crate::plugins::heads::RequestHeadFields> {
    match state.request.as_mut() {
        Some(head) => Ok(&mut **head),
        None => Err(trap(format!("{what} called outside a request"))),
    }
}

/// The headers of `kind` for reading; `None` for trailers (never any: unsupported).
fn headers_of(state: &mut GuestState, kind: i32) -> Result<Option<(&mut HeaderMap, usize)>> {
    match kind {
        HEADER_REQUEST => {
            let head = in_request(state, "a request header function")?;
            let max = head.max_headers;
            Ok(Some((&mut head.parts.headers, max)))
        }
        HEADER_RESPONSE => {
            let max = state
                .request
                .as_ref()
                .map(|h| h.max_headers)
                .unwrap_or(usize::MAX);
            match (state.phase, state.response.as_mut()) {
                (Phase::Response, Some(resp)) => {
                    let max = resp.max_headers;
                    Ok(Some((&mut resp.parts.headers, max)))
                }
                (Phase::Request, _) => Ok(Some((&mut state.pending.headers, max))),
                _ => Err(trap("a response header function called outside a request")),
            }
        }
        HEADER_REQUEST_TRAILERS | HEADER_RESPONSE_TRAILERS => Ok(None),
        other => Err(trap(format!("unknown header kind {other}"))),
    }
}

/// The headers of `kind` for an edit; trailers trap (this host does not support them).
fn headers_to_edit(state: &mut GuestState, kind: i32) -> Result<(&mut HeaderMap, usize)> {
    headers_of(state, kind)?
        .ok_or_else(|| trap("trailers are not supported by this host (feature 4 is off)"))
}

/// Defines every `http_handler` function in `linker`. Config time, once per module.
pub fn add_to_linker(linker: &mut Linker<GuestState>) -> Result<()> {
    let m = HTTP_HANDLER;
    linker.func_wrap(
        m,
        "log",
        |mut caller: Caller<'_, GuestState>, level: i32, ptr: i32, len: i32| {
            let message = read_guest(&caller, ptr, len)?;
            super::wasi_p1::log_line(caller.data_mut(), level, &message);
            Ok(())
        },
    )?;
    linker.func_wrap(m, "log_enabled", |level: i32| -> i32 {
        let enabled = match level {
            i32::MIN..=-1 => tracing::enabled!(tracing::Level::DEBUG),
            0 => tracing::enabled!(tracing::Level::INFO),
            1 => tracing::enabled!(tracing::Level::WARN),
            2 => tracing::enabled!(tracing::Level::ERROR),
            _ => false,
        };
        i32::from(enabled)
    })?;
    linker.func_wrap(
        m,
        "get_config",
        |mut caller: Caller<'_, GuestState>, buf: i32, limit: i32| {
            let config = caller.data().config.clone();
            write_if_fits(&mut caller, buf, limit, &config)
        },
    )?;
    linker.func_wrap(
        m,
        "enable_features",
        |mut caller: Caller<'_, GuestState>, wanted: i32| {
            let state = caller.data_mut();
            // Buffering is decided when the route's chain is built, from what guests enable at
            // start: a request cannot turn it on for itself (the body may already be streaming).
            let grantable = if state.phase == Phase::Init {
                SUPPORTED_FEATURES
            } else {
                state.init_features
            };
            let granted = (wanted as u32) & grantable;
            state.features |= granted;
            if state.phase == Phase::Init {
                state.init_features |= granted;
            }
            Ok(state.features as i32)
        },
    )?;
    linker.func_wrap(
        m,
        "get_method",
        |mut caller: Caller<'_, GuestState>, buf: i32, limit: i32| {
            let method = in_request(caller.data_mut(), "get_method")?
                .parts
                .method
                .clone();
            write_if_fits(&mut caller, buf, limit, method.as_str().as_bytes())
        },
    )?;
    linker.func_wrap(
        m,
        "set_method",
        |mut caller: Caller<'_, GuestState>, ptr: i32, len: i32| {
            let bytes = read_guest(&caller, ptr, len)?;
            let method = http::Method::from_bytes(&bytes)
                .map_err(|_| trap("set_method: not a valid method token"))?;
            in_request(caller.data_mut(), "set_method")?.parts.method = method;
            Ok(())
        },
    )?;
    linker.func_wrap(
        m,
        "get_uri",
        |mut caller: Caller<'_, GuestState>, buf: i32, limit: i32| {
            let head = in_request(caller.data_mut(), "get_uri")?;
            let uri = head
                .parts
                .uri
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or_else(|| "/".to_owned());
            write_if_fits(&mut caller, buf, limit, uri.as_bytes())
        },
    )?;
    linker.func_wrap(
        m,
        "set_uri",
        |mut caller: Caller<'_, GuestState>, ptr: i32, len: i32| {
            let uri = utf8(read_guest(&caller, ptr, len)?, "URI")?;
            let head = in_request(caller.data_mut(), "set_uri")?;
            let (path, query) = match uri.split_once('?') {
                Some((path, query)) => (path, Some(query)),
                None => (uri.as_str(), None),
            };
            head.set_path(path)
                .and_then(|()| head.set_query(query))
                .map_err(|e| trap(format!("set_uri refused: {e:?}")))
        },
    )?;
    linker.func_wrap(
        m,
        "get_protocol_version",
        |mut caller: Caller<'_, GuestState>, buf: i32, limit: i32| {
            let version = match in_request(caller.data_mut(), "get_protocol_version")?
                .parts
                .version
            {
                http::Version::HTTP_09 => "HTTP/0.9",
                http::Version::HTTP_10 => "HTTP/1.0",
                http::Version::HTTP_2 => "HTTP/2.0",
                http::Version::HTTP_3 => "HTTP/3.0",
                _ => "HTTP/1.1",
            };
            write_if_fits(&mut caller, buf, limit, version.as_bytes())
        },
    )?;
    linker.func_wrap(
        m,
        "get_source_addr",
        |mut caller: Caller<'_, GuestState>, buf: i32, limit: i32| {
            let addr = in_request(caller.data_mut(), "get_source_addr")?
                .client_addr
                .to_string();
            write_if_fits(&mut caller, buf, limit, addr.as_bytes())
        },
    )?;
    linker.func_wrap(
        m,
        "get_header_names",
        |mut caller: Caller<'_, GuestState>, kind: i32, buf: i32, limit: i32| {
            let names: Vec<Vec<u8>> = match headers_of(caller.data_mut(), kind)? {
                Some((headers, _)) => headers
                    .keys()
                    .map(|n| n.as_str().as_bytes().to_vec())
                    .collect(),
                None => Vec::new(),
            };
            let items: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
            write_list(&mut caller, buf, limit, &items)
        },
    )?;
    linker.func_wrap(
        m,
        "get_header_values",
        |mut caller: Caller<'_, GuestState>,
         kind: i32,
         name: i32,
         name_len: i32,
         buf: i32,
         limit: i32| {
            let name = utf8(read_guest(&caller, name, name_len)?, "header name")?;
            let values = match headers_of(caller.data_mut(), kind)? {
                Some((headers, _)) => HeaderEdits::get_all(headers, &name),
                None => Vec::new(),
            };
            let items: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
            write_list(&mut caller, buf, limit, &items)
        },
    )?;
    linker.func_wrap(
        m,
        "set_header_value",
        |mut caller: Caller<'_, GuestState>,
         kind: i32,
         name: i32,
         name_len: i32,
         value: i32,
         value_len: i32| {
            let name = utf8(read_guest(&caller, name, name_len)?, "header name")?;
            let value = read_guest(&caller, value, value_len)?;
            let (headers, max) = headers_to_edit(caller.data_mut(), kind)?;
            HeaderEdits::set(headers, max, &name, value)
                .map_err(|e| trap(format!("set_header_value({name:?}) refused: {e:?}")))
        },
    )?;
    linker.func_wrap(
        m,
        "add_header_value",
        |mut caller: Caller<'_, GuestState>,
         kind: i32,
         name: i32,
         name_len: i32,
         value: i32,
         value_len: i32| {
            let name = utf8(read_guest(&caller, name, name_len)?, "header name")?;
            let value = read_guest(&caller, value, value_len)?;
            let (headers, max) = headers_to_edit(caller.data_mut(), kind)?;
            HeaderEdits::append(headers, max, &name, value)
                .map_err(|e| trap(format!("add_header_value({name:?}) refused: {e:?}")))
        },
    )?;
    linker.func_wrap(
        m,
        "remove_header",
        |mut caller: Caller<'_, GuestState>, kind: i32, name: i32, name_len: i32| {
            let name = utf8(read_guest(&caller, name, name_len)?, "header name")?;
            let (headers, _) = headers_to_edit(caller.data_mut(), kind)?;
            HeaderEdits::remove(headers, &name);
            Ok(())
        },
    )?;
    linker.func_wrap(
        m,
        "read_body",
        |mut caller: Caller<'_, GuestState>, kind: i32, buf: i32, limit: i32| -> Result<i64> {
            if limit == 0 {
                return Err(trap("read_body with a zero buf_limit"));
            }
            let state = caller.data_mut();
            let reader = match (kind, state.phase) {
                (BODY_REQUEST, Phase::Request | Phase::Response) => &mut state.request_body,
                (BODY_RESPONSE, Phase::Response) => &mut state.response_body,
                (BODY_RESPONSE, Phase::Request) => return Ok(1 << 32),
                (BODY_REQUEST | BODY_RESPONSE, Phase::Init) => {
                    return Err(trap("read_body called outside a request"));
                }
                (other, _) => return Err(trap(format!("unknown body kind {other}"))),
            };
            let rest = reader.bytes.slice(reader.read.min(reader.bytes.len())..);
            let n = rest.len().min(limit as u32 as usize);
            reader.read += n;
            let eof = n == rest.len();
            let chunk = rest.slice(..n);
            write_if_fits(&mut caller, buf, limit, &chunk)?;
            Ok((i64::from(eof) << 32) | n as i64)
        },
    )?;
    linker.func_wrap(
        m,
        "write_body",
        |mut caller: Caller<'_, GuestState>, kind: i32, ptr: i32, len: i32| {
            let bytes = read_guest(&caller, ptr, len)?;
            let state = caller.data_mut();
            let target = match (kind, state.phase) {
                (BODY_REQUEST, Phase::Request) => &mut state.request_body_written,
                (BODY_RESPONSE, Phase::Request) => &mut state.pending.body,
                (BODY_RESPONSE, Phase::Response) => &mut state.response_body_written,
                (BODY_REQUEST | BODY_RESPONSE, _) => {
                    return Err(trap("write_body: that body cannot be written now"));
                }
                (other, _) => return Err(trap(format!("unknown body kind {other}"))),
            };
            let body = target.get_or_insert_with(Vec::new);
            if body.len() + bytes.len() > MAX_BUFFERED_BODY {
                return Err(trap(format!(
                    "write_body: body over the host's cap of {MAX_BUFFERED_BODY} bytes"
                )));
            }
            body.extend_from_slice(&bytes);
            Ok(())
        },
    )?;
    linker.func_wrap(
        m,
        "get_status_code",
        |caller: Caller<'_, GuestState>| -> Result<i32> {
            let state = caller.data();
            match (state.phase, &state.response) {
                (Phase::Response, Some(resp)) => Ok(i32::from(resp.parts.status.as_u16())),
                (Phase::Request, _) => {
                    Ok(i32::from(state.pending.status.map_or(200, |s| s.as_u16())))
                }
                _ => Err(trap("get_status_code called outside a request")),
            }
        },
    )?;
    linker.func_wrap(
        m,
        "set_status_code",
        |mut caller: Caller<'_, GuestState>, code: i32| {
            let status = u16::try_from(code)
                .ok()
                .and_then(|c| valid_status(c).ok())
                .ok_or_else(|| {
                    trap(format!(
                        "set_status_code({code}) refused: outside 200..=599"
                    ))
                })?;
            let state = caller.data_mut();
            match (state.phase, state.response.as_mut()) {
                (Phase::Response, Some(resp)) => resp.parts.status = status,
                (Phase::Request, _) => state.pending.status = Some(status),
                _ => return Err(trap("set_status_code called outside a request")),
            }
            Ok(())
        },
    )?;
    Ok(())
}
