//! Bundled plugin `tcp-ip-allow-list`: Traefik's TCP `ipAllowList` middleware
//! (`tcp.middlewares.<name>.ipAllowList`, also `ipWhiteList`), a connection-level plugin.
//!
//! Options (Traefik v3): `sourceRange` (required, addresses and CIDR ranges). `ipStrategy` does
//! not apply to TCP (there are no headers): the client is the TCP peer, or the client a trusted
//! PROXY protocol header named. A client outside every range is rejected: the gateway closes
//! the connection before dialling the service, so no byte reaches a server.
//!
//! ```yaml
//! tcp:
//!   middlewares:
//!     office-only:
//!       ipAllowList:
//!         sourceRange: ["127.0.0.1/32", "10.0.0.0/8"]
//! ```
//!
//! Cost per connection: one address parse and a scan of the ranges.

use plugin_sdk::connection::{Connection, ConnectionMiddleware, Verdict};
use serde_json::Value;
use traefik_options::ip_net::{IpRange, parse_addr};

/// The TCP `ipAllowList` middleware.
pub struct TcpIpAllowList {
    source_range: Vec<IpRange>,
}

impl ConnectionMiddleware for TcpIpAllowList {
    fn from_config(config: &str) -> Result<Self, String> {
        let options = match serde_json::from_str(config) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err("config must be a map".to_string()),
            Err(e) => return Err(format!("config is not valid JSON: {e}")),
        };
        let mut source_range = Vec::new();
        for (option, value) in options {
            match option.as_str() {
                "sourceRange" => {
                    source_range = traefik_options::ip_strategy::ranges(&option, value)?;
                }
                _ => return Err(format!("unknown option {option:?}")),
            }
        }
        if source_range.is_empty() {
            return Err("sourceRange: must list at least one address or CIDR range".into());
        }
        Ok(TcpIpAllowList { source_range })
    }

    fn on_connect(&self, conn: &Connection) -> Verdict {
        match parse_addr(&conn.client_addr) {
            Some(ip) if self.source_range.iter().any(|r| r.contains(ip)) => Verdict::Accept,
            _ => Verdict::Reject(format!(
                "client {} not in the ipAllowList sourceRange",
                conn.client_addr
            )),
        }
    }
}

plugin_sdk::export_connection_middleware!(TcpIpAllowList);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestConnection};

    fn verdict(config: &str, client: &str) -> Verdict {
        let mw = testing::connection_instance::<TcpIpAllowList>(config).unwrap();
        testing::on_connect(&mw, &TestConnection::from(client))
    }

    #[test]
    fn clients_inside_a_range_are_accepted_and_others_rejected() {
        let config = r#"{"sourceRange": ["127.0.0.0/8", "10.1.2.3"]}"#;
        assert_eq!(verdict(config, "127.0.0.9:5000"), Verdict::Accept);
        assert_eq!(verdict(config, "10.1.2.3:5000"), Verdict::Accept);
        assert!(matches!(
            verdict(config, "10.1.2.4:5000"),
            Verdict::Reject(_)
        ));
    }

    #[test]
    fn ipv4_mapped_clients_read_as_ipv4() {
        let config = r#"{"sourceRange": ["127.0.0.0/8"]}"#;
        assert_eq!(verdict(config, "[::ffff:127.0.0.1]:5000"), Verdict::Accept);
        assert!(matches!(verdict(config, "[::1]:5000"), Verdict::Reject(_)));
    }

    #[test]
    fn the_config_needs_a_valid_source_range_and_nothing_else() {
        let parse = TcpIpAllowList::from_config;
        assert!(parse(r#"{"sourceRange": []}"#).is_err());
        assert!(parse(r#"{"sourceRange": ["nope"]}"#).is_err());
        let err = parse(r#"{"sourceRange": ["10.0.0.0/8"], "ipStrategy": {}}"#).err();
        assert_eq!(err.as_deref(), Some("unknown option \"ipStrategy\""));
    }
}
