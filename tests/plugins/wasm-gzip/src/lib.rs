//! Measurement fixture: compresses the whole response body with gzip (level 6) inside the
//! instance, on the `body` capability — the alternative to the host's native, streamed
//! `compression` capability, kept to measure one against the other
//! (`tests/e2e/compress.rs`, `gzip_natively_and_in_a_plugin_both_decode_and_their_cost_is_printed`).

use std::io::Write;

use plugin_sdk::body;
use plugin_sdk::{Action, Middleware, Request, Response};

pub struct WasmGzip;

impl Middleware for WasmGzip {
    fn from_config(_config: &str) -> Result<Self, String> {
        Ok(WasmGzip)
    }

    fn on_response(&self, _req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        let Ok(bytes) = body::response_body(resp) else {
            return Action::Continue;
        };
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let compressed = encoder.write_all(&bytes).and_then(|()| encoder.finish());
        if let Ok(compressed) = compressed
            && body::set_response_body(resp, compressed).is_ok()
        {
            let _ = resp.set_header("content-encoding", "gzip");
        }
        Action::Continue
    }
}

plugin_sdk::export_middleware!(WasmGzip);
