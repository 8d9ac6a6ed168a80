//! The `Date` header value the own HTTP/1.1 server (`h1_server`) adds to responses without one,
//! as hyper does: formatted once per second per thread.
//!
//! Cost per response: one coarse wall-clock read (`upstream::coarse_clock`: the kernel's last
//! tick, no counter read; the second turns over at most a tick late, as nginx's cached time does
//! per event loop pass) and a 29-byte copy; one format per second.

use std::cell::RefCell;
use std::time::{Duration, UNIX_EPOCH};

use crate::upstream::coarse_clock;

/// Length of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
const DATE_LEN: usize = 29;

/// The second a thread's cached value is for, and the value.
struct Cached {
    second: u64,
    value: [u8; DATE_LEN],
}

thread_local! {
    static CACHED: RefCell<Cached> = const {
        RefCell::new(Cached { second: u64::MAX, value: [b' '; DATE_LEN] })
    };
}

/// Appends the current date as an IMF-fixdate.
pub(super) fn extend(dst: &mut Vec<u8>) {
    let second = coarse_clock::unix_seconds();
    CACHED.with_borrow_mut(|cached| {
        if cached.second != second {
            let text = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(second));
            if text.len() == DATE_LEN {
                cached.value.copy_from_slice(text.as_bytes());
            }
            cached.second = second;
        }
        dst.extend_from_slice(&cached.value);
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_date_is_an_imf_fixdate() {
        let mut dst = Vec::new();
        super::extend(&mut dst);
        let text = std::str::from_utf8(&dst).unwrap();
        assert!(httpdate::parse_http_date(text).is_ok(), "{text}");
    }

    /// The coarse clock's second is the system clock's (give or take the turn of a second).
    #[test]
    fn the_date_is_the_current_second() {
        let mut dst = Vec::new();
        super::extend(&mut dst);
        let date = httpdate::parse_http_date(std::str::from_utf8(&dst).unwrap()).unwrap();
        let now = std::time::SystemTime::now();
        let apart = now.duration_since(date).unwrap_or_else(|e| e.duration());
        assert!(apart.as_secs() <= 2, "{apart:?}");
    }
}
