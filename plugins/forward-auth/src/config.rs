//! `forwardAuth`'s options as Traefik v3 declares them (`dynamic.ForwardAuth`), read once per
//! instance.

use serde::Deserialize;
use serde_json::Value;
use traefik_options::go_regex::{self, Regex};
use traefik_options::json_text;
use traefik_options::options::{self, Flag, Text, TextList};

/// The options as written.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct Options {
    address: Text,
    tls: Option<Value>,
    trust_forward_header: Flag,
    auth_response_headers: TextList,
    auth_response_headers_regex: Text,
    auth_request_headers: TextList,
    add_auth_cookies_to_response: TextList,
    header_field: Text,
    forward_body: Flag,
    max_body_size: Option<Value>,
    preserve_location_header: Flag,
    preserve_request_method: Flag,
    max_response_body_size: Option<Value>,
}

/// The checked configuration of one `forwardAuth` middleware.
#[derive(Debug)]
pub struct ForwardAuthConfig {
    pub address: String,
    pub trust_forward_header: bool,
    pub auth_response_headers: Vec<String>,
    pub auth_response_headers_regex: Option<Regex>,
    pub auth_request_headers: Vec<String>,
    pub add_auth_cookies_to_response: Vec<String>,
    pub preserve_location_header: bool,
    pub preserve_request_method: bool,
    /// `maxResponseBodySize` when set and not negative.
    pub max_response_body_size: Option<u32>,
    /// `headerField` (lower-case): the answer header whose first value names the authenticated
    /// user in the access log.
    pub header_field: Option<String>,
    /// `forwardBody`: the most request-body bytes sent to the authentication server
    /// (`maxBodySize`, or [`FORWARD_BODY_CAP`] when unset or negative); `None`: no body sent.
    pub forward_body: Option<usize>,
}

/// The most request-body bytes `forwardBody` sends, whatever `maxBodySize` says: the largest
/// subrequest body of the contract (`outbound-http`), 64 KiB. Traefik's default (-1) sends any
/// body; here a longer one is refused like one over `maxBodySize` (401).
pub const FORWARD_BODY_CAP: usize = 64 * 1024;

/// The most answer-body bytes asked for when `maxResponseBodySize` is unset (the contract's cap).
const ANSWER_CAP: u32 = 1024 * 1024;

impl ForwardAuthConfig {
    pub fn parse(config: &str) -> Result<Self, String> {
        let o: Options = options::parse(config)?;
        let address = o.address.0.trim().to_string();
        if address.is_empty() {
            return Err("address: required (the URL of the authentication server)".into());
        }
        if !(address.starts_with("http://") || address.starts_with("https://")) {
            return Err(format!(
                "address: {address:?} must be an http:// or https:// URL"
            ));
        }
        // `tls` (ca, cert, key, insecureSkipVerify) is the host's: it builds the grant's
        // transport from it at config load. Only its shape is checked here.
        if let Some(tls) = o.tls.as_ref().filter(|v| !v.is_null()) {
            let Value::Object(map) = tls else {
                return Err("tls: must be a map (ca, cert, key, insecureSkipVerify)".into());
            };
            const KNOWN: [&str; 5] = ["ca", "cert", "key", "insecureSkipVerify", "caOptional"];
            if let Some(key) = map.keys().find(|k| !KNOWN.contains(&k.as_str())) {
                return Err(format!(
                    "tls: unknown option {key:?} (known: {})",
                    KNOWN.map(|k| format!("{k:?}")).join(", ")
                ));
            }
        }
        let header_field = match o.header_field.0.trim() {
            "" => None,
            name => Some(name.to_ascii_lowercase()),
        };
        let max_body_size = match &o.max_body_size {
            None | Some(Value::Null) => -1,
            Some(v) => whole_number("maxBodySize", v)?,
        };
        let forward_body = match (o.forward_body.0, max_body_size) {
            (false, _) => None,
            (true, n) if n < 0 => Some(FORWARD_BODY_CAP),
            (true, n) => match usize::try_from(n) {
                Ok(n) if n <= FORWARD_BODY_CAP => Some(n),
                _ => {
                    return Err(format!(
                        "maxBodySize: {n} is over {FORWARD_BODY_CAP}, the largest body the \
                         gateway sends to the authentication server"
                    ));
                }
            },
        };
        let max_response_body_size = match &o.max_response_body_size {
            None | Some(Value::Null) => None,
            Some(v) => match whole_number("maxResponseBodySize", v)? {
                n if n < 0 => None,
                n => Some(u32::try_from(n).unwrap_or(u32::MAX)),
            },
        };
        let regex = match o.auth_response_headers_regex.0.as_str() {
            "" => None,
            pattern => Some(
                go_regex::compile(pattern).map_err(|e| format!("authResponseHeadersRegex: {e}"))?,
            ),
        };
        Ok(ForwardAuthConfig {
            address,
            trust_forward_header: o.trust_forward_header.0,
            auth_response_headers: o.auth_response_headers.0,
            auth_response_headers_regex: regex,
            auth_request_headers: o.auth_request_headers.0,
            add_auth_cookies_to_response: o.add_auth_cookies_to_response.0,
            preserve_location_header: o.preserve_location_header.0,
            preserve_request_method: o.preserve_request_method.0,
            max_response_body_size,
            header_field,
            forward_body,
        })
    }

    /// The answer-body bytes to ask the host for: one more than `maxResponseBodySize`, so that
    /// a body over it is seen as cut.
    pub fn answer_cap(&self) -> u32 {
        match self.max_response_body_size {
            Some(n) => n.saturating_add(1).min(ANSWER_CAP),
            None => ANSWER_CAP,
        }
    }
}

/// An int64 option, given as a number or as text (Traefik's file provider reads both).
fn whole_number(option: &str, value: &Value) -> Result<i64, String> {
    match value {
        Value::Number(n) => n.as_i64().ok_or_else(|| {
            format!(
                "{option}: must be a whole number, got {}",
                json_text::number(n)
            )
        }),
        Value::String(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{option}: must be a whole number, got {text:?}")),
        _ => Err(format!("{option}: must be a number")),
    }
}
