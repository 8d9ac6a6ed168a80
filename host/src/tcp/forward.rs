//! Moving bytes both ways between a client and its TCP backend until both are done.
//!
//! Each direction copies until its reader reaches EOF, then shuts down its writer (a FIN: the
//! half-close reaches the other peer), as Traefik does. Once one direction has ended, the other
//! may go on for the load balancer's `terminationDelay` (none: until it ends). Both end when no
//! byte has moved either way for `idle` (the entrypoint's idle timeout; found between one and
//! 9/8 of it, as for HTTP connections: [`Activity`]). Runs on the connection's task; costs one
//! 16 KiB buffer per direction.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::activity::Activity;

const BUFFER: usize = 16 * 1024;

/// How a forwarded connection ended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Forwarded {
    /// Bytes from the client to the backend.
    pub client_to_backend: u64,
    /// Bytes from the backend to the client.
    pub backend_to_client: u64,
    /// The connection went idle (or the other half outlived the termination delay) and was
    /// closed.
    pub cut: bool,
}

/// Copies `client` <-> `backend` as described in the module docs.
pub async fn forward<C, B>(
    client: C,
    backend: B,
    idle: Option<Duration>,
    termination_delay: Option<Duration>,
) -> Forwarded
where
    C: AsyncRead + AsyncWrite + Unpin + Send,
    B: AsyncRead + AsyncWrite + Unpin + Send,
{
    let moved = Activity::default();
    let up = AtomicU64::new(0);
    let down = AtomicU64::new(0);
    let (client_read, client_write) = tokio::io::split(client);
    let (backend_read, backend_write) = tokio::io::split(backend);
    let to_backend = pump(client_read, backend_write, &moved, &up);
    let to_client = pump(backend_read, client_write, &moved, &down);
    let copying = both_with_delay(to_backend, to_client, termination_delay);
    let cut = tokio::select! {
        cut = copying => cut,
        () = moved.idle_for_at_most(idle) => true,
    };
    Forwarded {
        client_to_backend: up.load(Ordering::Relaxed),
        backend_to_client: down.load(Ordering::Relaxed),
        cut,
    }
}

/// Runs both directions; once one ends the other gets `delay` more. True when cut short.
async fn both_with_delay(
    a: impl Future<Output = ()> + Send,
    b: impl Future<Output = ()> + Send,
    delay: Option<Duration>,
) -> bool {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let rest: std::pin::Pin<&mut (dyn Future<Output = ()> + Send)> = tokio::select! {
        () = &mut a => b.as_mut(),
        () = &mut b => a.as_mut(),
    };
    match delay {
        Some(delay) => tokio::time::timeout(delay, rest).await.is_err(),
        None => {
            rest.await;
            false
        }
    }
}

/// Copies `from` to `to` until EOF or an error, then shuts `to` down (a write error ends it
/// too). Every chunk marks `moved` (the idle watch) and adds to `count`.
async fn pump<R, W>(mut from: R, mut to: W, moved: &Activity, count: &AtomicU64)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        moved.touch();
        count.fetch_add(n as u64, Ordering::Relaxed);
    }
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_half_close_reaches_the_backend_and_its_answer_still_comes_back() {
        let (client, mut client_peer) = tokio::io::duplex(1024);
        let (backend, mut backend_peer) = tokio::io::duplex(1024);
        let relay = tokio::spawn(forward(client, backend, None, None));
        client_peer.write_all(b"ping").await.unwrap();
        client_peer.shutdown().await.unwrap();
        let mut got = Vec::new();
        backend_peer.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"ping");
        backend_peer.write_all(b"pong!").await.unwrap();
        backend_peer.shutdown().await.unwrap();
        let mut back = Vec::new();
        client_peer.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"pong!");
        let done = relay.await.unwrap();
        assert_eq!((done.client_to_backend, done.backend_to_client), (4, 5));
        assert!(!done.cut);
    }

    #[tokio::test]
    async fn a_forward_with_no_bytes_moving_is_cut_at_its_idle_timeout() {
        let (client, mut client_peer) = tokio::io::duplex(1024);
        let (backend, mut backend_peer) = tokio::io::duplex(1024);
        let relay = tokio::spawn(forward(
            client,
            backend,
            Some(Duration::from_millis(40)),
            None,
        ));
        // Bytes move once, then nothing: the relay ends by itself, cut, both sides closed.
        client_peer.write_all(b"hi").await.unwrap();
        let mut got = [0u8; 2];
        backend_peer.read_exact(&mut got).await.unwrap();
        let done = tokio::time::timeout(Duration::from_secs(30), relay)
            .await
            .expect("an idle forward ends")
            .unwrap();
        assert!(done.cut);
        assert_eq!(done.client_to_backend, 2);
        let mut rest = Vec::new();
        client_peer.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "the client side is closed");
    }
}
