//! What may be sent to an upstream twice, and the body-less copy of a head that a second send
//! needs: used by the pool (a reused connection the server closed just as the request went
//! out) and by the load balancer's retries.

use http::{HeaderMap, Method, Request, Uri, Version};

use super::body::{ProxyBody, empty};

/// RFC 9110 §9.2.2: a method whose request may be repeated with the same effect.
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// A body-less request with this head, for one more send. Cost: the header map's clone (its
/// names and values are shared, not copied).
pub fn copy_head(
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
) -> Request<ProxyBody> {
    let mut req = Request::new(empty());
    *req.method_mut() = method.clone();
    *req.uri_mut() = uri.clone();
    *req.version_mut() = version;
    *req.headers_mut() = headers.clone();
    req
}
