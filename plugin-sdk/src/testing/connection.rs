//! Connection middlewares natively: a connection double and the hook called as the host does.

use std::cell::RefCell;

use crate::connection::{Connection, ConnectionMiddleware, Verdict};

thread_local! {
    /// Keys counted by `acquire_in_flight` during the current `on_connect` call.
    static COUNTED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// A connection for [`on_connect`](super::on_connect): its facts, and the in-flight counts the
/// hook took for it (held until [`close`](super::close)).
#[derive(Debug, Default)]
pub struct TestConnection {
    pub conn: Connection,
    counted: RefCell<Vec<String>>,
}

impl From<&str> for TestConnection {
    /// A plain connection from `client` (`ip:port`) to `127.0.0.1:8000`, router `test`.
    fn from(client: &str) -> Self {
        TestConnection {
            conn: Connection {
                client_addr: client.to_string(),
                local_addr: "127.0.0.1:8000".to_string(),
                router_name: "test".to_string(),
                ..Connection::default()
            },
            counted: RefCell::default(),
        }
    }
}

impl TestConnection {
    /// Makes it a TLS connection with this server name.
    pub fn tls(mut self, server_name: Option<&str>) -> Self {
        self.conn.is_tls = true;
        self.conn.server_name = server_name.map(str::to_string);
        self
    }

    /// Sets the first bytes the client sent.
    pub fn first_bytes(mut self, bytes: &[u8]) -> Self {
        self.conn.first_bytes = bytes.to_vec();
        self
    }
}

pub(crate) fn acquire(_conn: &Connection, key: &str, limit: u32) -> bool {
    let counted = crate::counters::acquire_native(key, limit);
    if counted {
        COUNTED.with_borrow_mut(|keys| keys.push(key.to_string()));
    }
    counted
}

/// What `init` does: parse the config into the instance's value.
pub fn connection_instance<T: ConnectionMiddleware>(config: &str) -> Result<T, String> {
    crate::config::parse(config, T::from_config)
}

/// Calls `on_connect` as the host does; counts taken stay with `conn` until [`close`].
pub fn on_connect<T: ConnectionMiddleware>(middleware: &T, conn: &TestConnection) -> Verdict {
    COUNTED.with_borrow_mut(Vec::clear);
    let verdict = middleware.on_connect(&conn.conn);
    let keys = COUNTED.with_borrow_mut(std::mem::take);
    conn.counted.borrow_mut().extend(keys);
    verdict
}

/// The connection closes: the host releases the counts it holds.
pub fn close(conn: &TestConnection) {
    crate::counters::release_native(conn.counted.take());
}
