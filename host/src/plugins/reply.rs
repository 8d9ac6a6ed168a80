//! Checking what a plugin answers with, before anything reaches a client.

use bytes::Bytes;
use http::HeaderMap;

use super::bindings::Reply;
use super::budget::MiddlewareBudget;
use super::error::PluginError;
use super::head_edits::{header_name, header_value, valid_status};
use super::heads::STATUS_RANGE;

/// A plugin's reply that passed validation.
#[derive(Debug)]
pub struct ValidReply {
    pub status: http::StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Validates a reply against HTTP rules and the middleware's output budget.
pub fn validate_reply(reply: Reply, budget: &MiddlewareBudget) -> Result<ValidReply, PluginError> {
    let invalid = |why: String| PluginError::InvalidOutput(why);
    let status = valid_status(reply.status).map_err(|_| {
        invalid(format!(
            "reply status {} is outside {}..={}",
            reply.status,
            STATUS_RANGE.start(),
            STATUS_RANGE.end()
        ))
    })?;
    if reply.headers.len() > budget.max_headers {
        return Err(invalid(format!(
            "reply has {} headers, the limit is {}",
            reply.headers.len(),
            budget.max_headers
        )));
    }
    if reply.body.len() > budget.max_reply_body_size {
        return Err(invalid(format!(
            "reply body of {} bytes exceeds the limit of {} bytes",
            reply.body.len(),
            budget.max_reply_body_size
        )));
    }
    // `HeaderMap` holds at most 32 768 entries whatever the budget says.
    let reply_len = reply.headers.len();
    let too_many = || {
        invalid(format!(
            "reply has {reply_len} headers, more than a header map holds"
        ))
    };
    let mut headers = HeaderMap::try_with_capacity(reply_len.min(1024)).map_err(|_| too_many())?;
    for (name, value) in reply.headers {
        let n = header_name(&name)
            .map_err(|_| invalid(format!("reply header name {name:?} is not a valid token")))?;
        let v = header_value(value)
            .map_err(|_| invalid(format!("reply header {name:?} has an invalid value")))?;
        headers.try_append(n, v).map_err(|_| too_many())?;
    }
    Ok(ValidReply {
        status,
        headers,
        body: Bytes::from(reply.body),
    })
}
