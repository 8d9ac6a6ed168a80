//! Resolves the static key `tracing` (Traefik v3's shape and defaults) into
//! [`super::model_observability::TracingConfig`]. Its presence turns tracing on, as in Traefik
//! (`tracing: {}` exports to `https://localhost:4318`). `otlp.grpc` exports over OTLP/gRPC
//! instead, plaintext only (TLS there is refused as "not supported yet").

use super::client_tls::resolve_client_tls;
use super::model_observability::{
    DEFAULT_OTLP_GRPC_ENDPOINT, DEFAULT_OTLP_HTTP_ENDPOINT, DEFAULT_TRACING_SERVICE_NAME,
    OTLP_TRACES_PATH, OtlpGrpcConfig, OtlpHttpConfig, TracingConfig,
};
use super::raw_tracing::{RawOtlpGrpc, RawOtlpHttp, RawTracing};
use crate::yaml::report::Reporter;

/// `tracing` -> its settings; `None` after reporting a problem that leaves nothing to export to.
pub(crate) fn resolve_tracing(
    reporter: &mut Reporter<'_>,
    raw: Option<RawTracing>,
) -> Option<TracingConfig> {
    // `tracing:` with nothing after it turns tracing on with every default, as in Traefik.
    let raw = raw.unwrap_or_default();
    let sample_rate = match raw.sample_rate {
        None => 1.0,
        Some(rate) if (0.0..=1.0).contains(&rate) => rate,
        Some(rate) => {
            let reason = format!("{rate} is not a fraction between 0 and 1");
            reporter.at(0, &["tracing", "sampleRate"], reason);
            1.0
        }
    };
    let captured_request_headers = header_names(
        reporter,
        "capturedRequestHeaders",
        raw.captured_request_headers,
    );
    let captured_response_headers = header_names(
        reporter,
        "capturedResponseHeaders",
        raw.captured_response_headers,
    );
    let mut resource_attributes = raw.global_attributes.unwrap_or_default();
    resource_attributes.extend(raw.resource_attributes.unwrap_or_default());
    let otlp = raw.otlp.unwrap_or_default();
    let otlp_grpc = match otlp.grpc {
        None => None,
        Some(_) if otlp.http.is_some() => {
            let reason = "export over one of otlp.http and otlp.grpc, not both";
            reporter.at(0, &["tracing", "otlp", "grpc"], reason);
            None
        }
        Some(grpc) => Some(resolve_otlp_grpc(reporter, grpc)?),
    };
    let otlp_http = resolve_otlp_http(reporter, otlp.http.unwrap_or_default())?;
    Some(TracingConfig {
        service_name: raw
            .service_name
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_TRACING_SERVICE_NAME.to_string()),
        sample_rate,
        resource_attributes,
        captured_request_headers,
        captured_response_headers,
        safe_query_params: raw.safe_query_params,
        otlp_http,
        otlp_grpc,
        add_internals: raw.add_internals.unwrap_or(false),
    })
}

/// `otlp.grpc`: plaintext only (`insecure: true`); the endpoint `host:port` (or
/// `http://host:port`), headers as metadata.
fn resolve_otlp_grpc(reporter: &mut Reporter<'_>, raw: RawOtlpGrpc) -> Option<OtlpGrpcConfig> {
    let mut ok = true;
    if raw.tls.is_some() || raw.insecure != Some(true) {
        let at: &[&str] = if raw.tls.is_some() {
            &["tracing", "otlp", "grpc", "tls"]
        } else {
            &["tracing", "otlp", "grpc", "insecure"]
        };
        let reason = "not supported yet: TLS over otlp.grpc (set insecure: true for plaintext, \
                      or export over otlp.http, which has tls)";
        reporter.at(0, at, reason);
        ok = false;
    }
    let text = raw
        .endpoint
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_OTLP_GRPC_ENDPOINT.to_string());
    let text = text.trim();
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("http://{text}")
    };
    let endpoint = match with_scheme.parse::<http::Uri>() {
        Ok(uri) if uri.scheme_str() == Some("http") && uri.authority().is_some() => uri,
        _ => {
            let at = ["tracing", "otlp", "grpc", "endpoint"];
            reporter.at(
                0,
                &at,
                format!("\"{text}\": not host:port or http://host:port"),
            );
            return None;
        }
    };
    for (name, value) in &raw.headers {
        let valid = http::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && http::HeaderValue::from_str(value).is_ok();
        if !valid {
            let path = ["tracing", "otlp", "grpc", "headers", name.as_str()];
            reporter.at(0, &path, "not a valid header name and value");
            ok = false;
        }
    }
    ok.then_some(OtlpGrpcConfig {
        endpoint,
        headers: raw.headers,
    })
}

/// Header names, lower-cased; an invalid one is reported at its index.
fn header_names(reporter: &mut Reporter<'_>, key: &str, names: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        match http::HeaderName::from_bytes(name.trim().as_bytes()) {
            Ok(valid) => out.push(valid.as_str().to_string()),
            Err(_) => {
                let index = i.to_string();
                let reason = format!("\"{name}\" is not a header name");
                reporter.at(0, &["tracing", key, index.as_str()], reason);
            }
        }
    }
    out
}

/// `otlp.http`: the endpoint URL (`http` or `https`, path `/v1/traces` when none is given, as
/// the OTLP exporters Traefik uses), headers and client TLS.
fn resolve_otlp_http(reporter: &mut Reporter<'_>, raw: RawOtlpHttp) -> Option<OtlpHttpConfig> {
    let at = ["tracing", "otlp", "http", "endpoint"];
    let text = raw
        .endpoint
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_OTLP_HTTP_ENDPOINT.to_string());
    let endpoint = match endpoint_uri(text.trim()) {
        Ok(uri) => uri,
        Err(reason) => {
            reporter.at(0, &at, format!("\"{text}\": {reason}"));
            return None;
        }
    };
    let mut ok = true;
    for (name, value) in &raw.headers {
        let valid = http::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && http::HeaderValue::from_str(value).is_ok();
        if !valid {
            let path = ["tracing", "otlp", "http", "headers", name.as_str()];
            reporter.at(0, &path, "not a valid header name and value");
            ok = false;
        }
    }
    let tls = match &raw.tls {
        Some(value) => Some(resolve_client_tls(
            reporter,
            0,
            &["tracing", "otlp", "http", "tls"],
            value,
        )?),
        None => None,
    };
    ok.then_some(OtlpHttpConfig {
        endpoint,
        headers: raw.headers,
        tls,
    })
}

fn endpoint_uri(text: &str) -> Result<http::Uri, &'static str> {
    let uri: http::Uri = text.parse().map_err(|_| "not a URL")?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err("the scheme must be http or https");
    }
    let Some(authority) = uri.authority() else {
        return Err("the URL needs a host");
    };
    let path = match uri.path() {
        "" | "/" => OTLP_TRACES_PATH,
        given => given,
    };
    let scheme = uri.scheme_str().unwrap_or("https");
    format!("{scheme}://{authority}{path}")
        .parse()
        .map_err(|_| "not a URL")
}

#[cfg(test)]
mod tests {
    use crate::config::load_from_str;

    const HEAD: &str = "entryPoints:\n  web: { address: \":80\" }\n";

    fn errors_of(text: &str) -> String {
        match load_from_str("main.yml", text) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(errors) => errors
                .0
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    #[test]
    fn tracing_loads_with_traefik_defaults() {
        let text = format!("{HEAD}tracing: {{}}\n");
        let Ok(loaded) = load_from_str("main.yml", &text) else {
            panic!("refused")
        };
        let Some(t) = loaded.static_config.tracing else {
            panic!("tracing is on when the key is given")
        };
        assert_eq!(t.service_name, "traefik");
        assert_eq!(t.sample_rate, 1.0);
        assert_eq!(
            t.otlp_http.endpoint.to_string(),
            "https://localhost:4318/v1/traces"
        );
        let Ok(off) = load_from_str("main.yml", HEAD) else {
            panic!("refused")
        };
        assert!(off.static_config.tracing.is_none(), "off by default");
    }

    #[test]
    fn tracing_keys_are_read() {
        let text = format!(
            "{HEAD}tracing:\n  serviceName: edge\n  sampleRate: 0.25\n  globalAttributes: {{ env: prod, zone: a }}\n  resourceAttributes: {{ zone: b }}\n  capturedRequestHeaders: [X-Request-Id]\n  capturedResponseHeaders: [Content-Type]\n  safeQueryParams: [page]\n  otlp:\n    http:\n      endpoint: http://127.0.0.1:4318/custom\n      headers: {{ api-key: s3cret }}\n"
        );
        let Ok(loaded) = load_from_str("main.yml", &text) else {
            panic!("refused")
        };
        let Some(t) = loaded.static_config.tracing else {
            panic!("tracing")
        };
        assert_eq!(t.service_name, "edge");
        assert_eq!(t.sample_rate, 0.25);
        assert_eq!(
            t.resource_attributes.get("env").map(String::as_str),
            Some("prod")
        );
        assert_eq!(
            t.resource_attributes.get("zone").map(String::as_str),
            Some("b")
        );
        assert_eq!(t.captured_request_headers, ["x-request-id"]);
        assert_eq!(t.captured_response_headers, ["content-type"]);
        assert_eq!(t.safe_query_params, ["page"]);
        assert_eq!(
            t.otlp_http.endpoint.to_string(),
            "http://127.0.0.1:4318/custom"
        );
        assert_eq!(
            t.otlp_http.headers.get("api-key").map(String::as_str),
            Some("s3cret")
        );
    }

    #[test]
    fn tracing_errors_are_located() {
        let text = format!(
            "{HEAD}tracing:\n  sampleRate: 1.5\n  capturedRequestHeaders: [\"bad header\"]\n  otlp:\n    grpc: {{ endpoint: \"localhost:4317\" }}\n"
        );
        let all = errors_of(&text);
        for want in [
            "main.yml:4: tracing.sampleRate: 1.5 is not a fraction between 0 and 1",
            "main.yml:5: tracing.capturedRequestHeaders[0]: \"bad header\" is not a header name",
        ] {
            assert!(all.contains(want), "missing {want:?} in:\n{all}");
        }
        assert!(
            all.contains("tracing.otlp.grpc.insecure: not supported yet: TLS over otlp.grpc"),
            "{all}"
        );
        let text = format!(
            "{HEAD}tracing:\n  otlp:\n    grpc: {{ endpoint: \"127.0.0.1:4317\", insecure: true }}\n"
        );
        let Some(t) = load_from_str("main.yml", &text)
            .ok()
            .and_then(|l| l.static_config.tracing)
        else {
            panic!("plaintext gRPC is accepted");
        };
        assert_eq!(
            t.otlp_grpc.map(|g| g.endpoint.to_string()),
            Some("http://127.0.0.1:4317/".to_string())
        );
        let text = format!("{HEAD}tracing:\n  otlp:\n    http:\n      endpoint: ftp://collector\n");
        let all = errors_of(&text);
        let want = "main.yml:6: tracing.otlp.http.endpoint: \"ftp://collector\": the scheme must be http or https";
        assert!(all.contains(want), "missing {want:?} in:\n{all}");
        let text = format!("{HEAD}tracing:\n  sampleRatio: 1\n");
        let all = errors_of(&text);
        assert!(
            all.contains("main.yml:4: tracing.sampleRatio: unknown"),
            "{all}"
        );
    }
}
