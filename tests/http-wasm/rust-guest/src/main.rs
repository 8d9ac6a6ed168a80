//! An API-key guard as a Traefik Wasm plugin, written with the `http-wasm-guest` crate.
//!
//! Config (JSON, from Traefik's `plugin: {<name>: {...}}`): `header` (default `x-api-key`),
//! `key` (required), `tag` (default `rust`).
//! - A request without the right key is answered 401 with `www-authenticate: ApiKey` and a body
//!   (`next = 0`). With it, the request goes on with `x-guest: <tag>`, and, for a body, with
//!   `x-body-len: <its length>` (the body is buffered, so the upstream still receives it).
//! - Every response it lets through gets `x-guest-response: <tag>`; when the request had
//!   `x-rewrite`, the response body becomes `rewritten: <upstream body>` (buffered response).

use http_wasm_guest::host::{Request, Response, admin, feature};
use http_wasm_guest::{Guest, register};

struct Guard {
    header: Vec<u8>,
    key: Vec<u8>,
    tag: Vec<u8>,
}

impl Guest for Guard {
    fn handle_request(&self, request: &Request, response: &Response) -> (bool, i32) {
        if request.header.get(&self.header).as_deref() != Some(self.key.as_slice()) {
            response.set_status(401);
            response.header.set(b"www-authenticate", b"ApiKey");
            response.body.write(b"missing or wrong api key");
            return (false, 0);
        }
        request.header.set(b"x-guest", &self.tag);
        let body = request.body.read();
        if !body.is_empty() {
            request
                .header
                .set(b"x-body-len", body.len().to_string().as_bytes());
        }
        (true, 0)
    }

    fn handle_response(&self, _ctx: i32, request: &Request, response: &Response, _error: bool) {
        response.header.set(b"x-guest-response", &self.tag);
        if request.header.get(b"x-rewrite").is_some() {
            let original = response.body.read();
            let mut body = b"rewritten: ".to_vec();
            body.extend_from_slice(&original);
            response.body.write(&body);
        }
    }
}

fn text(config: &serde_json::Value, key: &str, default: Option<&str>) -> Vec<u8> {
    match config.get(key).and_then(|v| v.as_str()).or(default) {
        Some(value) => value.as_bytes().to_vec(),
        None => panic!("config: {key} is required"),
    }
}

fn main() {
    let config: serde_json::Value =
        serde_json::from_slice(&admin::config()).unwrap_or(serde_json::Value::Null);
    admin::enable(feature::BufferRequest | feature::BufferResponse);
    register(Guard {
        header: text(&config, "header", Some("x-api-key")),
        key: text(&config, "key", None),
        tag: text(&config, "tag", Some("rust")),
    });
}
