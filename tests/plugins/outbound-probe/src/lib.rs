//! Test fixture: a user plugin built with the SDK on `outbound-http`. Each request makes it ask
//! the URL in its `x-probe-url` header (or the config's JSON string) with `GET`; the answer's
//! status and body go upstream in `x-probe-status` / `x-probe-body`. A refused `send` answers
//! 403 with the reason, a failed subrequest 502.

use plugin_sdk::outbound::{self, Answer, Subrequest};
use plugin_sdk::{Action, Middleware, Reply, Request};

pub struct OutboundProbe {
    url: String,
}

impl Middleware for OutboundProbe {
    fn from_config(config: &str) -> Result<Self, String> {
        let url = config.trim().trim_matches('"').to_string();
        Ok(OutboundProbe { url })
    }

    fn wants_response_hook(&self) -> bool {
        false
    }

    fn on_request(&self, req: &mut Request<'_>) -> Action {
        let url = req
            .header_str("x-probe-url")
            .unwrap_or_else(|| self.url.clone());
        let ask = Subrequest::get(url).timeout_ms(5_000);
        match outbound::send(req, ask) {
            Ok(()) => Action::Continue,
            Err(e) => Action::Respond(Reply::new(403).body(format!("send refused: {e:?}"))),
        }
    }

    fn on_request_subresponse(&self, req: &mut Request<'_>, answer: Answer) -> Action {
        match answer {
            Ok(a) => {
                let _ = req.set_header("x-probe-status", a.status.to_string());
                let _ = req.set_header("x-probe-body", &a.body);
                Action::Continue
            }
            Err(e) => Action::Respond(Reply::new(502).body(format!("{e:?}"))),
        }
    }
}

plugin_sdk::export_middleware!(OutboundProbe);
