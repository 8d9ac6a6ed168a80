//! HTTP/1.1 protocol upgrades (WebSocket) through the proxy.
//!
//! Header hygiene removes `Connection` and `Upgrade` from every request and response (they are
//! hop-by-hop), so the forwarder puts them back for an upgrade: a request hyper marked as an
//! upgrade (it holds the client connection's pending `OnUpgrade`) goes upstream with
//! `Connection: upgrade` and its `Upgrade` protocol; when the upstream answers 101, the
//! response goes back with the upstream's `Upgrade`, and once both connections have switched,
//! their bytes are copied both ways on a task of their own until either side closes (the
//! close then reaches the other side).
//!
//! The protocol is the request's `Upgrade` header when it is still there, else `websocket`
//! when the request carries `Sec-WebSocket-Key` (the header-hygiene step runs before the
//! forwarder and removes `Upgrade`). HTTP/2 and `h2c://` upstreams do not upgrade.

use http::header::{CONNECTION, HeaderMap, HeaderValue, UPGRADE};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

static SEC_WEBSOCKET_KEY: http::HeaderName = http::HeaderName::from_static("sec-websocket-key");

/// A client's pending upgrade, taken from its request.
pub struct ClientUpgrade {
    on_upgrade: OnUpgrade,
    protocol: HeaderValue,
}

/// Takes the client's pending upgrade out of the request, if it asked for one this proxy
/// passes on, and sets the upgrade headers for the upstream. Called once per request before
/// forwarding; costs one extension lookup for ordinary requests.
pub fn take_client_upgrade(parts: &mut Parts) -> Option<ClientUpgrade> {
    let on_upgrade = parts.extensions.remove::<OnUpgrade>()?;
    if parts.method == Method::CONNECT {
        return None;
    }
    let protocol = match parts.headers.get(UPGRADE) {
        Some(p) => p.clone(),
        None if parts.headers.contains_key(&SEC_WEBSOCKET_KEY) => {
            HeaderValue::from_static("websocket")
        }
        None => return None,
    };
    set_upgrade_headers(&mut parts.headers, protocol.clone());
    Some(ClientUpgrade {
        on_upgrade,
        protocol,
    })
}

fn set_upgrade_headers(headers: &mut HeaderMap, protocol: HeaderValue) {
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, protocol);
}

/// What to put back on a 101 response after header hygiene.
pub struct Switched(HeaderValue);

impl Switched {
    pub fn restore_headers(self, headers: &mut HeaderMap) {
        set_upgrade_headers(headers, self.0);
    }
}

impl ClientUpgrade {
    /// Called with the upstream's response head. On 101, starts the task that splices the two
    /// connections once both have switched, and returns the headers to restore; on any other
    /// status the client's upgrade is dropped and the response is an ordinary one.
    pub fn on_response<B>(self, resp: &mut Response<B>) -> Option<Switched> {
        if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
            return None;
        }
        let protocol = resp
            .headers()
            .get(UPGRADE)
            .cloned()
            .unwrap_or(self.protocol);
        let upstream = hyper::upgrade::on(&mut *resp);
        let client = self.on_upgrade;
        tokio::spawn(async move {
            let (client, upstream) = tokio::join!(client, upstream);
            match (client, upstream) {
                (Ok(client), Ok(upstream)) => {
                    let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
                    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await
                    {
                        tracing::debug!("upgraded connection ended with error: {e}");
                    }
                }
                (Err(e), _) => tracing::debug!("client connection did not upgrade: {e}"),
                (_, Err(e)) => tracing::debug!("upstream connection did not upgrade: {e}"),
            }
        });
        Some(Switched(protocol))
    }
}
