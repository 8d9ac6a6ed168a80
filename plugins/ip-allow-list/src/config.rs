//! The `ipAllowList` config: Traefik's option names, checked once at `validate-config` / `init`.

use serde_json::{Map, Value};

use crate::net::IpRange;
use crate::strategy::Strategy;
use traefik_options::json_text::{self, kind};

/// The parsed config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpAllowListConfig {
    /// `sourceRange`: addresses and CIDR ranges allowed in; at least one.
    pub source_range: Vec<IpRange>,
    /// `ipStrategy`; the TCP peer by default.
    pub strategy: Strategy,
    /// `rejectStatusCode`, default 403.
    pub reject_status: u16,
}

impl IpAllowListConfig {
    /// Parses the JSON config. Any other option is refused by name.
    pub fn parse(config: &str) -> Result<Self, String> {
        let options = object(
            "config",
            serde_json::from_str(config).map_err(|e| format!("config is not valid JSON: {e}"))?,
        )?;
        let mut source_range = Vec::new();
        let mut strategy = Strategy::RemoteAddr { ipv6_subnet: None };
        let mut reject_status = 403;
        for (option, value) in options {
            match option.as_str() {
                "sourceRange" => {
                    source_range = traefik_options::ip_strategy::ranges(&option, value)?;
                }
                "ipStrategy" => strategy = traefik_options::ip_strategy::parse(value)?,
                "rejectStatusCode" => {
                    let code = integer(&option, value)?;
                    if code != 0 {
                        reject_status = u16::try_from(code)
                            .ok()
                            .filter(|c| traefik_options::status_text::text(*c).is_some())
                            .ok_or_else(|| {
                                format!("rejectStatusCode: invalid HTTP status code {code}")
                            })?;
                        if reject_status < 200 {
                            return Err(format!(
                                "rejectStatusCode: {code} is an interim status; use 200..=599"
                            ));
                        }
                    }
                }
                _ => return Err(format!("unknown option {option:?}")),
            }
        }
        if source_range.is_empty() {
            return Err("sourceRange: must list at least one address or CIDR range".into());
        }
        Ok(IpAllowListConfig {
            source_range,
            strategy,
            reject_status,
        })
    }
}

fn object(option: &str, value: Value) -> Result<Map<String, Value>, String> {
    match value {
        Value::Null => Ok(Map::new()),
        Value::Object(map) => Ok(map),
        other => Err(format!("{option} must be a map, got {}", kind(&other))),
    }
}

fn integer(option: &str, value: Value) -> Result<i64, String> {
    match value {
        Value::Null => Ok(0),
        Value::Number(n) => n.as_i64().ok_or_else(|| {
            format!(
                "{option}: must be a whole number, got {}",
                json_text::number(&n)
            )
        }),
        other => Err(format!("{option}: must be a number, got {}", kind(&other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_parses_and_depth_wins_over_excluded_ips() {
        let c = IpAllowListConfig::parse(
            r#"{"sourceRange": ["10.0.0.0/8", "::1"], "rejectStatusCode": 404,
                "ipStrategy": {"depth": 2, "excludedIPs": ["1.1.1.1"], "ipv6Subnet": 64}}"#,
        )
        .unwrap();
        assert_eq!(c.source_range.len(), 2);
        assert_eq!(c.reject_status, 404);
        assert_eq!(
            c.strategy,
            Strategy::Depth {
                depth: 2,
                ipv6_subnet: Some(64)
            }
        );
        let excluded = IpAllowListConfig::parse(
            r#"{"sourceRange": ["10.0.0.1"], "ipStrategy": {"excludedIPs": ["1.1.1.1"]}}"#,
        )
        .unwrap();
        assert!(matches!(excluded.strategy, Strategy::Excluded(ref r) if r.len() == 1));
    }

    #[test]
    fn defaults_are_traefiks() {
        let c =
            IpAllowListConfig::parse(r#"{"sourceRange": ["10.0.0.1"], "ipStrategy": {}}"#).unwrap();
        assert_eq!(c.reject_status, 403);
        assert_eq!(c.strategy, Strategy::RemoteAddr { ipv6_subnet: None });
        let zero =
            IpAllowListConfig::parse(r#"{"sourceRange": ["10.0.0.1"], "rejectStatusCode": 0}"#)
                .unwrap();
        assert_eq!(zero.reject_status, 403);
    }

    #[test]
    fn errors_name_the_option() {
        let cases = [
            (
                "{}",
                "sourceRange: must list at least one address or CIDR range",
            ),
            (
                r#"{"sourceRange": ["10.0.0.0/40"]}"#,
                r#"sourceRange[0]: "10.0.0.0/40" is neither an IP address nor a CIDR range"#,
            ),
            (
                r#"{"sourceRange": ["1.1.1.1"], "rejectStatusCode": 299}"#,
                "rejectStatusCode: invalid HTTP status code 299",
            ),
            (
                r#"{"sourceRange": ["1.1.1.1"], "rejectStatusCode": 103}"#,
                "rejectStatusCode: 103 is an interim status; use 200..=599",
            ),
            (
                r#"{"sourceRange": ["1.1.1.1"], "ipStrategy": {"deep": 1}}"#,
                r#"ipStrategy: unknown option "deep""#,
            ),
            (
                r#"{"sourceRange": ["1.1.1.1"], "ipStrategy": {"ipv6Subnet": 0}}"#,
                "ipStrategy.ipv6Subnet: invalid IPv6 subnet 0, must be 1..=128",
            ),
            (
                r#"{"sourceRange": ["1.1.1.1"], "ipStrategy": {"excludedIPs": ["x"]}}"#,
                r#"ipStrategy.excludedIPs[0]: "x" is neither an IP address nor a CIDR range"#,
            ),
            (
                r#"{"sourceRange": ["1.1.1.1"], "whitelist": true}"#,
                r#"unknown option "whitelist""#,
            ),
        ];
        for (config, expected) in cases {
            assert_eq!(
                IpAllowListConfig::parse(config),
                Err(expected.to_string()),
                "{config}"
            );
        }
    }
}
