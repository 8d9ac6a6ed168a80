//! `wasmgate plugin test` for a connection-level (L4) plugin: instead of the HTTP battery,
//! `on-connect` with a plain and a TLS connection, through the gateway's own
//! `PluginMiddleware::on_connect` (deadline, memory cap, failure handling as when serving),
//! then its cost over repeated calls on the warm pool.

use std::time::Instant;

use crate::plugins::{Connection, ConnectionVerdict, PluginMiddleware};

/// Calls timed for the cost line (after the two checked ones).
const COST_CALLS: usize = 2000;

/// The connections tried: a plain one and a TLS one with SNI and ALPN.
fn connections() -> [(&'static str, Connection); 2] {
    let plain = Connection {
        client_addr: "127.0.0.1:40000".into(),
        local_addr: "127.0.0.1:8000".into(),
        router_name: "plugin-test".into(),
        is_tls: false,
        server_name: None,
        alpn: Vec::new(),
        first_bytes: Vec::new(),
    };
    let tls = Connection {
        is_tls: true,
        server_name: Some("example.test".into()),
        alpn: vec!["h2".into(), "http/1.1".into()],
        first_bytes: vec![0x16, 0x03, 0x01],
        ..plain.clone()
    };
    [("plain", plain), ("tls", tls)]
}

/// Runs `on-connect` on `mw` (configured): one result per connection tried (`Ok`: what it
/// decided, `Err`: how it failed), then the cost line when every call succeeded.
pub fn drive(mw: &PluginMiddleware) -> (Vec<Result<String, String>>, Option<String>) {
    let mut results = Vec::new();
    for (what, conn) in connections() {
        let mut leases = Vec::new();
        match mw.on_connect(&conn, &mut leases) {
            Ok(ConnectionVerdict::Accept) => results.push(Ok(format!("{what}: accept"))),
            Ok(ConnectionVerdict::Reject(why)) => {
                results.push(Ok(format!("{what}: reject ({why})")))
            }
            Err(e) => {
                results.push(Err(format!("{what}: {e}")));
                return (results, None);
            }
        }
    }
    let [(_, conn), _] = connections();
    let mut samples = Vec::with_capacity(COST_CALLS);
    for _ in 0..COST_CALLS {
        // Released at once: the cost of a connection that opens and closes.
        let mut leases = Vec::new();
        let started = Instant::now();
        let result = mw.on_connect(&conn, &mut leases);
        samples.push(started.elapsed());
        if let Err(e) = result {
            results.push(Err(e.to_string()));
            return (results, None);
        }
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let cost = format!(
        "cost: on-connect median {:.1} µs, p99 {:.1} µs over {} calls (informative)",
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        samples.len()
    );
    (results, Some(cost))
}
