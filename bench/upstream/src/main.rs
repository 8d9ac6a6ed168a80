//! `bench-upstream`: the fixed upstream every contender in `bench/` proxies to.
//!
//! One thread (tokio current-thread runtime), HTTP/1.1 with keep-alive, a canned response per
//! request: `GET /16k` gets a 16 KiB body, any other path 1 KiB; `/echo` answers with the
//! request's own body (the TCP passthrough scenario's 16 KiB echo: one copy per request). It parses only what it must
//! (where a request head ends, its path, `Content-Length`, `Connection: close`), so that nearly
//! all of its CPU goes to the kernel's socket work and it leaves the load-generator core to wrk.
//!
//! Usage: `bench-upstream [--listen 127.0.0.1:9100]`; prints `listening on ADDR` once bound.

mod head;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use head::{Parsed, parse_head};

/// Bytes of the small body (`GET /` and any path but `/16k`).
const SMALL_BODY: usize = 1024;
/// Bytes of the large body (`GET /16k`).
const LARGE_BODY: usize = 16 * 1024;
/// A request head larger than this closes the connection.
const MAX_HEAD: usize = 64 * 1024;

/// The two canned responses, head and body in one buffer so each is one write.
struct Canned {
    small: Vec<u8>,
    large: Vec<u8>,
}

impl Canned {
    fn new() -> Self {
        Canned {
            small: response(SMALL_BODY),
            large: response(LARGE_BODY),
        }
    }
}

fn response(body_len: usize) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body_len}\r\n\r\n"
    )
    .into_bytes();
    out.extend(std::iter::repeat_n(b'x', body_len));
    out
}

/// Appends a `200` whose body is `body` (the request's own) to `out`.
fn echo(out: &mut Vec<u8>, body: &[u8]) {
    out.extend_from_slice(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
}

fn main() -> ExitCode {
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 9100));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(v)) => match v.parse() {
                Ok(a) => listen = a,
                Err(e) => {
                    eprintln!("bench-upstream: --listen {v}: {e}");
                    return ExitCode::FAILURE;
                }
            },
            _ => {
                eprintln!("usage: bench-upstream [--listen ADDR]");
                return ExitCode::FAILURE;
            }
        }
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench-upstream: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    match local.block_on(&rt, serve(listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-upstream: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let canned = Rc::new(Canned::new());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(x) => x,
            // Out of descriptors and the like: the benchmark will show the errors; keep serving.
            Err(_) => continue,
        };
        let _ = stream.set_nodelay(true);
        tokio::task::spawn_local(connection(stream, canned.clone()));
    }
}

/// Serves one connection until the peer closes it, asks to (`Connection: close`), or sends
/// something that is not a request head.
async fn connection(mut stream: TcpStream, canned: Rc<Canned>) {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut out: Vec<u8> = Vec::with_capacity(LARGE_BODY + 256);
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        // Answer every complete request in the buffer (pipelining) with one write.
        let mut close = false;
        loop {
            match parse_head(&buf) {
                Parsed::Incomplete if buf.len() > MAX_HEAD => return,
                Parsed::Incomplete => break,
                Parsed::Invalid => return,
                Parsed::Complete(req) => {
                    if buf.len() < req.total_len() {
                        break; // the body has not all arrived yet
                    }
                    if req.echo {
                        echo(&mut out, &buf[req.head_len..req.total_len()]);
                    } else {
                        out.extend_from_slice(if req.large {
                            &canned.large
                        } else {
                            &canned.small
                        });
                    }
                    buf.drain(..req.total_len());
                    if req.close {
                        close = true;
                        break;
                    }
                }
            }
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        if close {
            let _ = stream.shutdown().await;
            return;
        }
    }
}
