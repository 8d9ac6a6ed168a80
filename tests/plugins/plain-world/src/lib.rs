//! Test fixture `plain-world`: a component that targets ONLY the `wasmgate:plugin/middleware`
//! world, built with wit-bindgen directly (not with plugin-sdk, which builds for
//! `middleware-with-capabilities`), so it exports `handler` and no `capabilities`. The host
//! must keep loading such components and call both of their hooks.
//!
//! `on-request` sets the request header `x-plain-world: request` (seen upstream) and stores
//! `on-request ran` in the request's state; `on-response` sets the response header
//! `x-plain-world: <state>|on-response`. Config is ignored.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({
        path: "../../../wit",
        world: "middleware",
    });

    use exports::wasmgate::plugin::handler::Guest;
    use wasmgate::plugin::http::{Action, Request, Response};

    struct PlainWorld;

    impl Guest for PlainWorld {
        fn validate_config(_config: String) -> Result<(), String> {
            Ok(())
        }

        fn init(_config: String) -> Result<(), String> {
            Ok(())
        }

        fn on_request(req: &Request) -> Action {
            // Both values are valid; a refused edit would only make the test fail visibly.
            let _ = req.set_header("x-plain-world", b"request");
            let _ = req.set_state(b"on-request ran");
            Action::Continue
        }

        fn on_response(req: &Request, resp: &Response) -> Action {
            let mut value = req.get_state().unwrap_or_default();
            value.extend_from_slice(b"|on-response");
            let _ = resp.set_header("x-plain-world", &value);
            Action::Continue
        }
    }

    export!(PlainWorld);
}
