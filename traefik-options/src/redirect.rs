//! The answer Traefik's redirect middlewares give (its `moveHandler`), used by `redirect-scheme`
//! and `redirect-regex`. Runs per redirected request: one reply built.

use plugin_sdk::Reply;

/// The status Traefik redirects with: 302 (301 when `permanent`) for `GET`, and for every other
/// method, `HEAD` included, 307 (308 when `permanent`) so the client repeats the method and body.
pub fn status(method: &str, permanent: bool) -> u16 {
    match (permanent, method == "GET") {
        (false, true) => 302,
        (false, false) => 307,
        (true, true) => 301,
        (true, false) => 308,
    }
}

/// The redirect reply: `Location` as given, a `text/plain` body with the status text (what Go's
/// server writes). A location Go's `url.Parse` refuses (control characters) cannot be sent:
/// like Traefik, the client then gets 500.
pub fn reply(method: &str, permanent: bool, location: &str) -> Reply {
    if location.bytes().any(|b| b < 0x20 || b == 0x7f) {
        plugin_sdk::warn!("redirect target {location:?} is not a valid URL (control characters)");
        return text_reply(500, "Internal Server Error");
    }
    let status = status(method, permanent);
    let text = match status {
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        _ => "Permanent Redirect",
    };
    text_reply(status, text).header("location", location)
}

fn text_reply(status: u16, text: &str) -> Reply {
    Reply::new(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_method_and_permanence() {
        assert_eq!(status("GET", false), 302);
        assert_eq!(status("GET", true), 301);
        assert_eq!(status("POST", false), 307);
        assert_eq!(status("HEAD", true), 308);
    }

    #[test]
    fn reply_carries_location_and_status_text() {
        let r = reply("GET", true, "https://a.test/x?y=1");
        assert_eq!(r.status, 301);
        assert_eq!(r.get_header("location"), Some(&b"https://a.test/x?y=1"[..]));
        assert_eq!(r.body, b"Moved Permanently");
        let r = reply("GET", false, "https://a.test/\r\nx");
        assert_eq!(r.status, 500);
        assert_eq!(r.get_header("location"), None);
    }
}
