//! Applies `plugins.defaults` and per-middleware `plugin:` overrides onto a
//! [`PluginRuntimeConfig`], checking each value where it is written.

use std::time::Duration;

use super::model_static::{
    BodyConfig, BodyLimitConfig, DEFAULT_BODY_GRANT_BYTES, MAX_BODY_GRANT_BYTES, MIN_MEMORY_LIMIT,
    OutboundHttpConfig, PluginRuntimeConfig,
};
use super::raw::{Capability, RawBodyLimit, RawRuntime};
use crate::yaml::report::Reporter;

/// What middlewares start from: `plugins.defaults` and the epoch tick deadlines must not undercut.
pub(crate) struct RuntimeBase<'a> {
    pub(crate) defaults: &'a PluginRuntimeConfig,
    pub(crate) epoch_tick: Duration,
}

/// `base` with every key set in `raw` applied. `path` is where `raw` sits in `file` (e.g.
/// `["plugins", "defaults"]`); a bad value is reported at its own key and the base value kept.
pub(crate) fn apply_runtime(
    reporter: &mut Reporter<'_>,
    file: usize,
    path: &[&str],
    base: &PluginRuntimeConfig,
    raw: &RawRuntime,
    epoch_tick: Duration,
) -> PluginRuntimeConfig {
    let mut out = base.clone();
    let mut report = |key: &str, reason: String| {
        let mut key_path = path.to_vec();
        key_path.push(key);
        reporter.at(file, &key_path, reason);
    };
    if let Some(isolation) = raw.isolation {
        out.isolation = isolation;
    }
    if let Some(deadline) = raw.deadline {
        if deadline.0.is_zero() {
            report("deadline", "must be greater than 0".to_string());
        } else if deadline.0 < epoch_tick {
            report(
                "deadline",
                format!(
                    "{:?} is shorter than plugins.epochTick ({epoch_tick:?})",
                    deadline.0
                ),
            );
        } else {
            out.deadline = deadline.0;
        }
    }
    if let Some(limit) = raw.memory_limit {
        if limit.0 < MIN_MEMORY_LIMIT {
            report(
                "memoryLimit",
                format!(
                    "{} bytes is below the minimum of 64KiB (one WebAssembly page)",
                    limit.0
                ),
            );
        } else {
            out.memory_limit = limit.0;
        }
    }
    if let Some(n) = raw.max_requests_per_instance {
        match n {
            0 => report("maxRequestsPerInstance", "must be at least 1".to_string()),
            n => out.max_requests_per_instance = n,
        }
    }
    if let Some(n) = raw.pool_size {
        match n {
            0 => report("poolSize", "must be at least 1".to_string()),
            n => out.pool_size = n,
        }
    }
    if let Some(fail_open) = raw.fail_open {
        out.fail_open = fail_open;
    }
    if let Some(size) = raw.max_reply_body_size {
        match usize::try_from(size.0) {
            Ok(size) => out.max_reply_body_size = size,
            Err(_) => report(
                "maxReplyBodySize",
                "too large for this platform".to_string(),
            ),
        }
    }
    if let Some(n) = raw.max_headers {
        match n {
            0 => report("maxHeaders", "must be at least 1".to_string()),
            n => out.max_headers = n,
        }
    }
    if let Some(granted) = &raw.capabilities {
        out.counters = granted.contains(&Capability::Counters);
        out.compression = granted.contains(&Capability::Compression);
        out.kv = granted.contains(&Capability::Kv);
    }
    let outbound_granted = raw
        .capabilities
        .as_ref()
        .is_some_and(|c| c.contains(&Capability::OutboundHttp));
    match (&raw.outbound_http, outbound_granted) {
        (Some(o), true) if o.allow.is_empty() && o.services.is_empty() => report(
            "outboundHttp",
            "allows nothing: list origins under allow or services under services".to_string(),
        ),
        (Some(o), true) => {
            out.outbound = Some(OutboundHttpConfig {
                allow: o.allow.clone(),
                services: o.services.clone(),
                timeout: o.timeout.map(|t| t.0),
                max_response_body_size: o.max_response_body_size.map(|s| s.0),
                tls: o.tls.clone(),
            })
        }
        (None, true) => report(
            "capabilities",
            "outbound-http needs an allow-list: outboundHttp: {allow: [...], services: [...]}"
                .to_string(),
        ),
        (Some(_), false) => report(
            "outboundHttp",
            "has no effect without capabilities: [outbound-http]".to_string(),
        ),
        (None, false) => {}
    }
    let body_granted = raw
        .capabilities
        .as_ref()
        .is_some_and(|c| c.contains(&Capability::Body));
    match (&raw.body, body_granted) {
        (Some(b), true) if b.request.is_none() && b.response.is_none() => report(
            "body",
            "grants no body: give request: {maxBytes: ...} and/or response: {maxBytes: ...}"
                .to_string(),
        ),
        (Some(b), true) => {
            let mut limit = |which: &str, raw: &Option<RawBodyLimit>| {
                let raw = raw.as_ref()?;
                let max_bytes = raw.max_bytes.map_or(DEFAULT_BODY_GRANT_BYTES, |s| s.0);
                if max_bytes == 0 || max_bytes > MAX_BODY_GRANT_BYTES {
                    report(
                        "body",
                        format!("{which}.maxBytes must be between 1 and 64MiB, got {max_bytes}"),
                    );
                    return None;
                }
                Some(BodyLimitConfig {
                    max_bytes,
                    over_limit: raw.over_limit.unwrap_or_default(),
                })
            };
            let request = limit("request", &b.request);
            let response = limit("response", &b.response);
            out.body = Some(BodyConfig { request, response });
        }
        (None, true) => report(
            "capabilities",
            "body needs to say which bodies: body: {request: {maxBytes: ...}, response: {...}}"
                .to_string(),
        ),
        (Some(_), false) => report(
            "body",
            "has no effect without capabilities: [body]".to_string(),
        ),
        (None, false) => {}
    }
    out
}
