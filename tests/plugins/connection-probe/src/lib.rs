//! Test fixture `connection-probe`: a connection-level plugin whose `on-connect` does what its
//! config's `mode` says:
//! - `accept` (default; other keys are ignored, so it can replace any plugin file): accepts;
//! - `loop`: spins forever, so only the host's epoch deadline stops it;
//! - `trap`: panics (a trap for the host);
//! - `sni`: accepts only a TLS connection whose server name is `sni` and whose ALPN offer
//!   includes `alpn`, and whose first bytes hold the ClientHello; rejects anything else.

use plugin_sdk::connection::{Connection, ConnectionMiddleware, Verdict};
use serde_json::Value;

/// What `on-connect` does.
pub enum Probe {
    Accept,
    Loop,
    Trap,
    Sni { name: String, alpn: String },
}

impl ConnectionMiddleware for Probe {
    fn from_config(config: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(config).map_err(|e| e.to_string())?;
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        match text("mode").as_deref() {
            None | Some("accept") => Ok(Probe::Accept),
            Some("loop") => Ok(Probe::Loop),
            Some("trap") => Ok(Probe::Trap),
            Some("sni") => Ok(Probe::Sni {
                name: text("sni").ok_or("sni: required in mode sni")?,
                alpn: text("alpn").ok_or("alpn: required in mode sni")?,
            }),
            Some(other) => Err(format!("mode: unknown mode {other:?}")),
        }
    }

    fn on_connect(&self, conn: &Connection) -> Verdict {
        match self {
            Probe::Accept => Verdict::Accept,
            Probe::Loop => {
                let mut turns: u64 = 0;
                loop {
                    turns = std::hint::black_box(turns.wrapping_add(1));
                }
            }
            Probe::Trap => panic!("connection-probe: trap mode"),
            Probe::Sni { name, alpn } => {
                let hello = conn.first_bytes.first() == Some(&0x16);
                if conn.is_tls
                    && hello
                    && conn.server_name.as_deref() == Some(name)
                    && conn.alpn.iter().any(|p| p == alpn)
                {
                    Verdict::Accept
                } else {
                    Verdict::Reject(format!(
                        "want {name} / {alpn}, got {:?} / {:?}",
                        conn.server_name, conn.alpn
                    ))
                }
            }
        }
    }
}

plugin_sdk::export_connection_middleware!(Probe);

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_sdk::testing::{self, TestConnection};

    #[test]
    fn sni_mode_checks_the_name_and_the_alpn_offer() {
        let mw = testing::connection_instance::<Probe>(
            r#"{"mode": "sni", "sni": "db.test", "alpn": "x-db"}"#,
        )
        .unwrap();
        let mut conn = TestConnection::from("127.0.0.1:1")
            .tls(Some("db.test"))
            .first_bytes(&[0x16, 3, 1]);
        conn.conn.alpn = vec!["x-db".into()];
        assert_eq!(testing::on_connect(&mw, &conn), Verdict::Accept);
        let plain = TestConnection::from("127.0.0.1:1");
        assert!(matches!(
            testing::on_connect(&mw, &plain),
            Verdict::Reject(_)
        ));
        let accept = testing::connection_instance::<Probe>(r#"{"sourceRange": []}"#).unwrap();
        assert_eq!(testing::on_connect(&accept, &plain), Verdict::Accept);
    }
}
