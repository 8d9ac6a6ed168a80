//! A router's native middlewares (`grpcWeb`, `retry`, and `buffering`'s `retryExpression`),
//! built at config time from the middlewares its chain names.

use std::sync::Arc;

use crate::config::{HttpConfig, NativeMiddleware};
use crate::lb::retry::RetryPolicy;
use crate::proxy::NativeMiddlewares;
use crate::proxy::grpc_web::GrpcWeb;

/// The native middlewares among `expanded` (a router's middlewares, chains expanded).
pub(super) fn native_middlewares(expanded: &[String], http: &HttpConfig) -> NativeMiddlewares {
    let mut native = NativeMiddlewares::default();
    for name in expanded {
        // A `buffering` with `retryExpression` (the last one where a chain names several).
        if let Some(expression) = http
            .middlewares
            .get(name)
            .and_then(|m| m.retry_expression.as_ref())
        {
            native.buffer_retry = Some(Arc::new(expression.clone()));
        }
        match http.middlewares.get(name).and_then(|m| m.native.as_ref()) {
            None => {}
            Some(NativeMiddleware::GrpcWeb(config)) => {
                native.grpc_web = Some(Arc::new(GrpcWeb::new(config)));
            }
            Some(NativeMiddleware::Retry(config)) => {
                native.retry = Some(RetryPolicy::new(config));
            }
        }
    }
    native
}
