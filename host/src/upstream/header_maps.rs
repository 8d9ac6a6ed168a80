//! Header maps recycled on each thread: the request map the own HTTP/1.1 server parses
//! (`proxy::h1_request_head`) and the response map the own client parses (`h1_head`) come from
//! here, and go back once their head is written (the request's by `pool` after encoding it
//! for the server, the response's by `proxy::h1_server` after encoding it for the client).
//!
//! Why: a `HeaderMap` is two allocations (its index table and its entries), and the plain
//! proxy path made two maps per request: four `malloc`/`free` pairs of the twelve per request
//! (bench/README, branch plainpath). A map given back is cleared (its values dropped, its
//! memory kept); a thread keeps at most [`KEPT`] of them, none larger than [`MAX_CAPACITY`].
//!
//! Runs on the request's task, on whatever worker thread polls it (a map may be taken on one
//! thread and given back on another). Cost: a thread-local access per take and give, and the
//! clear of a given map (its index table reset).

use std::cell::RefCell;

use http::HeaderMap;

/// Maps a thread keeps for reuse: on one worker a map is given back within the poll that
/// encodes its head, so a few cover any number of connections.
const KEPT: usize = 16;

/// Maps that grew larger than this (a head with many fields) are freed, not kept.
const MAX_CAPACITY: usize = 48;

thread_local! {
    static SPARE: RefCell<Vec<HeaderMap>> = const { RefCell::new(Vec::new()) };
}

/// An empty map with room for at least `capacity` fields: a recycled one if the thread has
/// one, else a new one.
pub fn take(capacity: usize) -> HeaderMap {
    let spare = SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten();
    match spare {
        Some(mut map) => {
            if map.capacity() < capacity {
                map.reserve(capacity);
            }
            map
        }
        None => HeaderMap::with_capacity(capacity),
    }
}

/// Gives `map` back for a later [`take`] on this thread (cleared; dropped instead if the
/// thread keeps enough or the map is large).
pub fn give(mut map: HeaderMap) {
    if map.capacity() > MAX_CAPACITY {
        return;
    }
    map.clear();
    let _ = SPARE.try_with(|s| {
        let mut spare = s.borrow_mut();
        if spare.len() < KEPT {
            spare.push(map);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_back_map_comes_back_empty_with_its_room() {
        let mut map = take(8);
        map.insert(http::header::HOST, http::HeaderValue::from_static("a"));
        let room = map.capacity();
        give(map);
        let again = take(4);
        assert!(again.is_empty());
        assert_eq!(again.capacity(), room);
    }

    #[test]
    fn a_taken_map_has_the_room_asked_for() {
        give(HeaderMap::with_capacity(2));
        assert!(take(20).capacity() >= 20);
    }

    #[test]
    fn a_large_map_is_not_kept() {
        let big = HeaderMap::with_capacity(MAX_CAPACITY * 2);
        give(big);
        while let Some(map) = SPARE.with(|s| s.borrow_mut().pop()) {
            assert!(map.capacity() <= MAX_CAPACITY);
        }
    }
}
