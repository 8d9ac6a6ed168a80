//! Header maps and head buffers recycled on each thread, for the plain proxy path's heads:
//!
//! - maps: the request map the own HTTP/1.1 server parses (`proxy::h1_request_head`) and the
//!   response map the own client parses (`h1_head`) come from here, and go back once their
//!   head is written (the request's by `pool` after encoding it for the server, the response's
//!   by `proxy::h1_server` after encoding it for the client);
//! - buffers: the request head the own client writes (`pool`), given back when the exchange
//!   is over;
//! - response buffers: the bytes the own HTTP/1.1 server writes to a client (`proxy::h1_stream`),
//!   taken when a response head is encoded and given back once the response is written, so
//!   all of a thread's connections write from the same few warm buffers instead of one each
//!   (at 256 connections the per-connection ones were ≈ 0.5 MB the core's cache cycled
//!   through; bench/README, branch plainuser).
//!
//! Why: a `HeaderMap` is two allocations (its index table and its entries), and the plain
//! proxy path made two maps and a head buffer per request: five of the twelve `malloc`/`free`
//! pairs per request (bench/README, branch plainpath). A map given back is cleared (its values
//! dropped, its memory kept), a buffer emptied; a thread keeps at most [`KEPT_MAPS`] maps of
//! at most [`MAX_MAP_CAPACITY`] fields and [`KEPT_BUFS`] buffers of at most
//! [`MAX_BUF_CAPACITY`] bytes (≈ 0.3 MB at most).
//!
//! Runs on the request's task, on whatever worker thread polls it (a map may be taken on one
//! thread and given back on another). Cost: a thread-local access per take and give, and the
//! clear of a given map (its index table reset).

use std::cell::RefCell;
use std::thread::LocalKey;

use http::HeaderMap;

/// Maps a thread keeps for reuse: on one worker a map is given back within the poll that
/// encodes its head, so a few cover any number of connections.
const KEPT_MAPS: usize = 16;

/// Buffers a thread keeps: a request head's buffer is held until its response head arrives,
/// so one per request in flight on the worker (at 64 connections 16 were too few: a third of
/// the requests allocated one).
const KEPT_BUFS: usize = 256;

/// Maps that grew larger than this (a head with many fields) are freed, not kept.
const MAX_MAP_CAPACITY: usize = 48;

/// Buffers larger than this (a long head) are freed, not kept.
const MAX_BUF_CAPACITY: usize = 1024;

/// Response buffers a thread keeps: one is held per response being written, which for a body
/// that is ready at once is within one poll, so a few cover any number of connections.
const KEPT_OUT_BUFS: usize = 16;

/// A response buffer's room when new: a head and a small body (1 KiB) fit.
const OUT_BUF_CAPACITY: usize = 4096;

/// Response buffers that grew larger than this (a streamed body) are freed, not kept.
const MAX_OUT_BUF_CAPACITY: usize = 16 << 10;

thread_local! {
    static MAPS: RefCell<Vec<HeaderMap>> = const { RefCell::new(Vec::new()) };
    static BUFS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static OUT_BUFS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// The thread's spare on `shelf`, if it has one (none once the thread is being torn down).
fn take<T: 'static>(shelf: &'static LocalKey<RefCell<Vec<T>>>) -> Option<T> {
    shelf.try_with(|s| s.borrow_mut().pop()).ok().flatten()
}

/// Puts `item` on the thread's `shelf` unless it already holds `most` (then `item` is dropped).
fn keep<T: 'static>(shelf: &'static LocalKey<RefCell<Vec<T>>>, item: T, most: usize) {
    let _ = shelf.try_with(|s| {
        let mut spare = s.borrow_mut();
        if spare.len() < most {
            spare.push(item);
        }
    });
}

/// An empty map with room for at least `capacity` fields: a recycled one if the thread has
/// one, else a new one.
pub fn map(capacity: usize) -> HeaderMap {
    match take(&MAPS) {
        Some(mut map) => {
            if map.capacity() < capacity {
                map.reserve(capacity);
            }
            map
        }
        None => HeaderMap::with_capacity(capacity),
    }
}

/// Gives `map` back for a later [`map`] on this thread (cleared; dropped instead if the
/// thread keeps enough or the map is large).
pub fn give_map(mut map: HeaderMap) {
    if map.capacity() > MAX_MAP_CAPACITY {
        return;
    }
    map.clear();
    keep(&MAPS, map, KEPT_MAPS);
}

/// An empty buffer with room for at least `capacity` bytes: a recycled one if the thread has
/// one, else a new one.
pub fn buf(capacity: usize) -> Vec<u8> {
    match take(&BUFS) {
        Some(mut buf) => {
            buf.reserve(capacity);
            buf
        }
        None => Vec::with_capacity(capacity),
    }
}

/// Gives `buf` back for a later [`buf`] on this thread (emptied; dropped instead if the thread
/// keeps enough or the buffer is large).
pub fn give_buf(mut buf: Vec<u8>) {
    if buf.capacity() > MAX_BUF_CAPACITY || buf.capacity() == 0 {
        return;
    }
    buf.clear();
    keep(&BUFS, buf, KEPT_BUFS);
}

/// An empty response buffer: a recycled one if the thread has one, else a new one.
pub fn out_buf() -> Vec<u8> {
    take(&OUT_BUFS).unwrap_or_else(|| Vec::with_capacity(OUT_BUF_CAPACITY))
}

/// Gives a response buffer back for a later [`out_buf`] on this thread (emptied; dropped
/// instead if the thread keeps enough or the buffer grew large).
pub fn give_out_buf(mut buf: Vec<u8>) {
    if buf.capacity() > MAX_OUT_BUF_CAPACITY || buf.capacity() == 0 {
        return;
    }
    buf.clear();
    keep(&OUT_BUFS, buf, KEPT_OUT_BUFS);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_back_map_comes_back_empty_with_its_room() {
        let mut taken = map(8);
        taken.insert(http::header::HOST, http::HeaderValue::from_static("a"));
        let room = taken.capacity();
        give_map(taken);
        let again = map(4);
        assert!(again.is_empty());
        assert_eq!(again.capacity(), room);
    }

    #[test]
    fn a_taken_map_has_the_room_asked_for() {
        give_map(HeaderMap::with_capacity(2));
        assert!(map(20).capacity() >= 20);
    }

    #[test]
    fn a_large_map_is_not_kept() {
        give_map(HeaderMap::with_capacity(MAX_MAP_CAPACITY * 2));
        while let Some(map) = MAPS.with(|s| s.borrow_mut().pop()) {
            assert!(map.capacity() <= MAX_MAP_CAPACITY);
        }
    }

    #[test]
    fn a_given_back_buffer_comes_back_empty_with_its_room() {
        let mut taken = buf(100);
        taken.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        let room = taken.capacity();
        give_buf(taken);
        let again = buf(10);
        assert!(again.is_empty());
        assert_eq!(again.capacity(), room);
        give_buf(vec![0; MAX_BUF_CAPACITY + 1]);
        while let Some(buf) = BUFS.with(|s| s.borrow_mut().pop()) {
            assert!(buf.capacity() <= MAX_BUF_CAPACITY);
        }
    }

    #[test]
    fn a_given_back_response_buffer_comes_back_empty_and_a_grown_one_is_dropped() {
        let mut taken = out_buf();
        taken.extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\n");
        let at = taken.as_ptr();
        give_out_buf(taken);
        let again = out_buf();
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), at);
        give_out_buf(vec![0; MAX_OUT_BUF_CAPACITY + 1]);
        while let Some(buf) = OUT_BUFS.with(|s| s.borrow_mut().pop()) {
            assert!(buf.capacity() <= MAX_OUT_BUF_CAPACITY);
        }
    }
}
