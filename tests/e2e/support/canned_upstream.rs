//! A keep-alive upstream on a plain socket that answers each request head with canned bytes
//! for its method and path, whatever they are (malformed framing included), counting the
//! connections it accepted: for tests of how the gateway reads answers no real server would
//! send. Request bodies are not expected. One thread per connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Starts the upstream; `answer(method, path)` gives the bytes written for each request head.
pub fn keep_alive_upstream<A: AsRef<[u8]> + 'static>(
    answer: fn(&str, &str) -> A,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || serve(stream, answer));
        }
    });
    (addr, accepted)
}

fn serve<A: AsRef<[u8]>>(mut stream: TcpStream, answer: fn(&str, &str) -> A) {
    let mut pending = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
            pending.drain(..end + 4);
            let mut words = head.split_whitespace();
            let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            if stream.write_all(answer(method, path).as_ref()).is_err() {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
        }
    }
}
