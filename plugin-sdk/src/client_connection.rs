//! The `client-connection` interface: what the gateway knows about the client connection of the
//! request: the client certificate chain of a TLS connection, the address the client dialled
//! (the original destination on a `transparent` entrypoint) and the gateway's own address.
//!
//! Read-only and needs no grant. Each call is one host call and copies only its answer; the
//! gateway gathers these facts once per connection, so a plugin that never calls them pays
//! nothing.

use crate::Request;

/// The certificates the client presented in the TLS handshake, each as DER, leaf first, in
/// the order the client sent them. Empty when the connection is not TLS or the client
/// presented none (what was verified depends on the TLS options' `clientAuth`).
pub fn client_certificates(req: &Request<'_>) -> Vec<Vec<u8>> {
    imp::client_certificates(req.backend_ref())
}

/// The address (`ip:port`) the client dialled: the original destination on a `transparent`
/// entrypoint (before iptables redirected the connection), otherwise [`local_addr`].
pub fn original_destination(req: &Request<'_>) -> String {
    imp::original_destination(req.backend_ref())
}

/// The gateway's address (`ip:port`) the connection arrived on.
pub fn local_addr(req: &Request<'_>) -> String {
    imp::local_addr(req.backend_ref())
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use crate::guest::wit::client_connection as wit;
    use crate::request::RequestRef;

    // The host answers for the request of the current hook call, which is `req`'s.
    pub(super) fn client_certificates(_req: &RequestRef<'_>) -> Vec<Vec<u8>> {
        wit::client_certificates()
    }

    pub(super) fn original_destination(_req: &RequestRef<'_>) -> String {
        wit::original_destination()
    }

    pub(super) fn local_addr(_req: &RequestRef<'_>) -> String {
        wit::local_addr()
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use crate::request::RequestRef;

    pub(super) fn client_certificates(req: &RequestRef<'_>) -> Vec<Vec<u8>> {
        req.client_certificates.clone()
    }

    pub(super) fn original_destination(req: &RequestRef<'_>) -> String {
        req.original_dst
            .clone()
            .unwrap_or_else(|| req.local_addr.clone())
    }

    pub(super) fn local_addr(req: &RequestRef<'_>) -> String {
        req.local_addr.clone()
    }
}
