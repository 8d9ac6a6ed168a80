//! One interface over the heads the plugin writes response headers into: the upstream's
//! response (host calls) and a reply the plugin builds itself (plain memory).

use plugin_sdk::fixed_edits::HeaderEdit;
use plugin_sdk::{Reply, Response};

/// A response head being edited. Edits of values checked at config load cannot be refused for
/// their content, only for the host's output budget; a refusal is logged and the head kept.
pub trait HeaderSink {
    /// First value of a header.
    fn get(&self, name: &str) -> Option<Vec<u8>>;
    /// Replace every value of a header with one value.
    fn set(&mut self, name: &str, value: &[u8]);
    /// Remove every value of a header.
    fn remove(&mut self, name: &str);
}

impl HeaderSink for Response<'_> {
    fn get(&self, name: &str) -> Option<Vec<u8>> {
        self.header(name)
    }

    fn set(&mut self, name: &str, value: &[u8]) {
        if let Err(e) = self.set_header(name, value) {
            plugin_sdk::warn!("headers: response header {name:?} refused: {e}");
        }
    }

    fn remove(&mut self, name: &str) {
        self.remove_header(name);
    }
}

impl HeaderSink for Reply {
    fn get(&self, name: &str) -> Option<Vec<u8>> {
        self.get_header(name).map(<[u8]>::to_vec)
    }

    fn set(&mut self, name: &str, value: &[u8]) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_vec()));
    }

    fn remove(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
}

/// Response edits recorded for the gateway to apply (`Middleware::fixed_edits`).
impl HeaderSink for Vec<HeaderEdit> {
    fn get(&self, _name: &str) -> Option<Vec<u8>> {
        None
    }

    fn set(&mut self, name: &str, value: &[u8]) {
        self.push(HeaderEdit::Set(name.to_owned(), value.to_vec()));
    }

    fn remove(&mut self, name: &str) {
        self.push(HeaderEdit::Remove(name.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_set_replaces_every_value_case_insensitively() {
        let mut reply = Reply::new(200).header("Vary", "a").header("vary", "b");
        reply.set("vary", b"c");
        assert_eq!(reply.headers, vec![("vary".to_string(), b"c".to_vec())]);
        reply.remove("VARY");
        assert!(reply.headers.is_empty());
        assert_eq!(reply.get("vary"), None);
    }
}
