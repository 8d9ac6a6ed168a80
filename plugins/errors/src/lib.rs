//! Bundled plugin `errors`: Traefik's `errors` middleware. A response whose status is in
//! `status` is replaced by a page fetched from `service` (through the host's `outbound-http`
//! capability, granted for that service only), keeping the status.
//!
//! Options (Traefik v3): `status` (codes and ranges, `"500-599"`, `"404"`), `service`
//! (required), `query` (the page's path; `{status}` is the status served, `{originalStatus}`
//! the upstream's, `{url}` the request URL, query-escaped), `statusRewrites` (a range to the
//! status to serve instead, e.g. `"500-503": 500`).
//!
//! The page request is a `GET` of `query` on the service with the client request's headers;
//! the page's headers and body go to the client with the (rewritten) status. If the service
//! cannot answer, the client gets the status with its reason phrase as the body.
//!
//! Cost: one response-hook call per request (a status check); for a caught status, the page
//! fetch (no thread or instance waits for it) and one more hook call.

mod config;

use config::{ErrorsConfig, Range};
use plugin_sdk::outbound::{self, Answer, Destination, Subrequest};
use plugin_sdk::{Action, Middleware, Reply, Request, Response};

/// The `errors` middleware.
pub struct Errors {
    config: ErrorsConfig,
}

impl Middleware for Errors {
    fn from_config(config: &str) -> Result<Self, String> {
        Ok(Errors {
            config: ErrorsConfig::parse(config)?,
        })
    }

    fn on_response(&self, req: &mut Request<'_>, resp: &mut Response<'_>) -> Action {
        let original = resp.status();
        if !Range::any_contains(&self.config.status, original) {
            return Action::Continue;
        }
        let status = self.config.served_status(original);
        let path = self.config.page_path(status, original, &request_uri(req));
        let mut ask = Subrequest::new(
            "GET",
            Destination::Service {
                name: self.config.service.clone(),
                path_and_query: path,
            },
        )
        .max_response_body(1024 * 1024);
        ask.headers = req.headers();
        match outbound::send(req, ask) {
            Ok(()) => Action::Continue,
            Err(e) => {
                plugin_sdk::log(
                    plugin_sdk::Level::Error,
                    &format!("errors: cannot ask {}: {e:?}", self.config.service),
                );
                Action::Respond(reason_reply(status))
            }
        }
    }

    fn on_response_subresponse(
        &self,
        _req: &mut Request<'_>,
        resp: &mut Response<'_>,
        answer: Answer,
    ) -> Action {
        let status = self.config.served_status(resp.status());
        match answer {
            Ok(page) => {
                let mut reply = Reply::new(status).body(page.body);
                reply.headers = page
                    .headers
                    .into_iter()
                    .filter(|(name, _)| name != "content-length")
                    .collect();
                Action::Respond(reply)
            }
            Err(e) => {
                plugin_sdk::log(
                    plugin_sdk::Level::Debug,
                    &format!(
                        "errors: service {} gave no page: {e:?}",
                        self.config.service
                    ),
                );
                Action::Respond(reason_reply(status))
            }
        }
    }
}

/// The path and query the client asked for (Go's `req.URL.String()` on a server request).
fn request_uri(req: &Request<'_>) -> String {
    match req.query() {
        Some(q) => format!("{}?{q}", req.path()),
        None => req.path(),
    }
}

/// `status` with its reason phrase as a plain-text body (Go's `http.Error`).
fn reason_reply(status: u16) -> Reply {
    Reply::new(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(format!("{}\n", config::reason(status)))
}

plugin_sdk::export_middleware!(Errors);

#[cfg(test)]
mod tests;
