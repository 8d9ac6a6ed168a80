//! Bundled plugin `tcp-in-flight-conn`: Traefik's TCP `inFlightConn` middleware
//! (`tcp.middlewares.<name>.inFlightConn`), a connection-level plugin.
//!
//! Option (Traefik v3): `amount` (required, at least 1), connections open at once per client
//! IP. A connection over it is rejected (closed before the service is dialled). The count is
//! kept by the host (`counters` capability, scoped to the middleware, so routers naming the
//! same middleware share it), taken in `on-connect` and released by the host when the
//! connection closes, however it ends: no instance is held while the connection is open.
//!
//! ```yaml
//! tcp:
//!   middlewares:
//!     two-per-client:
//!       inFlightConn:
//!         amount: 2
//! ```
//!
//! Cost per connection: one address parse, one `acquire-in-flight` host call.

use plugin_sdk::connection::{self, Connection, ConnectionMiddleware, Verdict};
use serde_json::Value;
use traefik_options::ip_net::parse_addr;
use traefik_options::ip_strategy::integer;

/// The TCP `inFlightConn` middleware.
pub struct TcpInFlightConn {
    amount: u32,
}

impl ConnectionMiddleware for TcpInFlightConn {
    fn from_config(config: &str) -> Result<Self, String> {
        let options = match serde_json::from_str(config) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err("config must be a map".to_string()),
            Err(e) => return Err(format!("config is not valid JSON: {e}")),
        };
        let mut amount = None;
        for (option, value) in options {
            match option.as_str() {
                "amount" => amount = Some(integer(&option, value)?),
                _ => return Err(format!("unknown option {option:?}")),
            }
        }
        match amount {
            Some(n) if n >= 1 => Ok(TcpInFlightConn {
                amount: u32::try_from(n).unwrap_or(u32::MAX),
            }),
            Some(n) => Err(format!("amount: must be at least 1, got {n}")),
            None => Err("amount: required (connections open at once per client IP)".into()),
        }
    }

    fn on_connect(&self, conn: &Connection) -> Verdict {
        // The IP without the port (and IPv4-mapped addresses as IPv4): one count per client.
        let key = match parse_addr(&conn.client_addr) {
            Some(ip) => ip.to_string(),
            None => conn.client_addr.clone(),
        };
        if connection::acquire_in_flight(conn, &key, self.amount) {
            Verdict::Accept
        } else {
            Verdict::Reject(format!("max connections reached: {}", self.amount))
        }
    }
}

plugin_sdk::export_connection_middleware!(TcpInFlightConn);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestConnection};

    #[test]
    fn each_client_ip_gets_amount_connections_until_one_closes() {
        let mw = testing::connection_instance::<TcpInFlightConn>(r#"{"amount": 2}"#).unwrap();
        let a: Vec<TestConnection> = ["10.0.0.1:1", "10.0.0.1:2", "10.0.0.1:3"]
            .into_iter()
            .map(TestConnection::from)
            .collect();
        assert_eq!(testing::on_connect(&mw, &a[0]), Verdict::Accept);
        assert_eq!(testing::on_connect(&mw, &a[1]), Verdict::Accept);
        assert!(matches!(
            testing::on_connect(&mw, &a[2]),
            Verdict::Reject(_)
        ));
        let other = TestConnection::from("10.0.0.2:1");
        assert_eq!(testing::on_connect(&mw, &other), Verdict::Accept);
        testing::close(&a[0]);
        assert_eq!(testing::on_connect(&mw, &a[2]), Verdict::Accept);
    }

    #[test]
    fn amount_must_be_a_positive_whole_number() {
        assert!(TcpInFlightConn::from_config(r#"{"amount": 0}"#).is_err());
        assert!(TcpInFlightConn::from_config(r#"{}"#).is_err());
        assert!(TcpInFlightConn::from_config(r#"{"amount": "3"}"#).is_ok());
    }
}
