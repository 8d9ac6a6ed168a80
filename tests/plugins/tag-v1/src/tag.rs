// Shared body of the `tag-v1` / `tag-v2` fixtures: two versions of one plugin, differing only in
// the `VERSION` constant (so their component bytes and content hashes differ).

use plugin_sdk::{Action, Middleware, Request, Response};

/// Stamps every response with the plugin version that served it.
pub struct Tag;

impl Middleware for Tag {
    fn from_config(_config: &str) -> Result<Self, String> {
        Ok(Tag)
    }

    fn on_response(&self, _req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        let _ = resp.set_header("x-plugin-version", VERSION);
        Action::Continue
    }
}

plugin_sdk::export_middleware!(Tag);
