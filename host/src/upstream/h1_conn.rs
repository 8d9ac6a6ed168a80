//! The gateway's own HTTP/1.1 client connection to an `http://` server, for body-less
//! requests without an upgrade (the plain proxy path; requests with a body, upgrades, `h2c://`
//! and `https://` servers go through hyper's client, `connect`).
//!
//! The request's own task does the whole exchange on a connection it holds while in use: one
//! write of the request head, reads into the connection's buffer until the response head is
//! in (`h1_head`), and the body read from the same buffer by the response body (`h1_body`),
//! which puts the connection back on its worker's idle list when the body ended cleanly. No
//! connection task, channel or wake-up of another task per request; the syscalls are one
//! write and (for a small response) one read.
//!
//! An idle connection is owned by nobody: its server closing it shows as read readiness the
//! reactor recorded, looked at (no syscall) when it is taken from the list ([`Pooled`]).

use std::io;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use http::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use super::h1_head::{self, ResponseHead, Span};
use super::idle::{IdleList, Pooled};
use super::requeue::requeue;

/// Reads ask for at least this much room (a 1 KiB response with its head fits in one read).
const READ_CHUNK: usize = 8 * 1024;

/// Room for a read in a connection's buffer. An empty buffer nothing else holds any more (the
/// last response's head and body slices dropped) starts at its allocation's front again: reads
/// that walked on through it until the room ran short touched all 8 KiB of every connection's
/// buffer, a footprint that at 256 connections no longer stayed in the core's cache
/// (bench/README, branch plainuser).
fn read_room(buf: &mut BytesMut) {
    if buf.is_empty() && buf.try_reclaim(READ_CHUNK) {
        return;
    }
    if buf.capacity() - buf.len() < READ_CHUNK / 4 {
        buf.reserve(READ_CHUNK);
    }
}

/// One connection of the own client, with its read buffer.
pub(super) struct H1Conn {
    io: TcpStream,
    /// Bytes read and not consumed yet (after a response head: the start of its body).
    pub(super) buf: BytesMut,
    list: Weak<IdleList<H1Conn>>,
    /// Scratch space for parsing response heads (kept, so a parse allocates nothing for it).
    spans: Vec<Span>,
    /// The server's `maxConnsPerHost` permit, released when the connection is dropped.
    _permit: Option<OwnedSemaphorePermit>,
}

impl Pooled for H1Conn {
    /// Nothing may arrive on an idle connection: read readiness means the server closed it (or
    /// sent something unasked). The readiness can be stale from the last read, so a readable
    /// connection is probed with one non-blocking read; a live one answers "would block".
    fn usable(&self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        match self.io.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Ok(())) => matches!(
                self.io.try_read(&mut [0u8; 1]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock
            ),
            Poll::Ready(Err(_)) => false,
        }
    }
}

/// Why an exchange failed before a response head.
#[derive(Debug)]
pub(super) struct Failed {
    pub reason: String,
    /// The request head was not written whole: the server cannot have acted on it.
    pub unsent: bool,
    /// Nothing of a response arrived.
    pub unanswered: bool,
}

impl H1Conn {
    /// A new connection that returns to `list` after each clean exchange.
    pub fn new(
        io: TcpStream,
        list: &Arc<IdleList<H1Conn>>,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Self {
        H1Conn {
            io,
            buf: BytesMut::with_capacity(READ_CHUNK),
            list: Arc::downgrade(list),
            spans: Vec::new(),
            _permit: permit,
        }
    }

    /// Writes the request head and reads until the final response head (1xx interim
    /// responses are read and dropped). The connection comes back with the head, its buffer
    /// holding what was read of the body. The write waits behind the tasks already ready
    /// ([`requeue`]), so a batch of requests reaches the server in a run.
    pub async fn exchange(
        mut self,
        head: &[u8],
        method: &Method,
    ) -> Result<(ResponseHead, H1Conn), Failed> {
        requeue().await;
        if let Err(e) = self.io.write_all(head).await {
            return Err(Failed {
                reason: format!("writing the request: {e}"),
                unsent: true,
                unanswered: true,
            });
        }
        let mut answered = false;
        loop {
            if !self.buf.is_empty() {
                answered = true;
                match h1_head::parse_response(&mut self.buf, method, &mut self.spans) {
                    Ok(Some(head)) if head.status.is_informational() => continue,
                    Ok(Some(head)) => return Ok((head, self)),
                    Ok(None) => {}
                    Err(e) => {
                        return Err(Failed {
                            reason: e.to_string(),
                            unsent: false,
                            unanswered: false,
                        });
                    }
                }
            }
            self.reserve();
            match self.io.read_buf(&mut self.buf).await {
                Ok(0) => {
                    return Err(Failed {
                        reason: "the server closed the connection before a response head".into(),
                        unsent: false,
                        unanswered: !answered,
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(Failed {
                        reason: format!("reading the response: {e}"),
                        unsent: false,
                        unanswered: !answered,
                    });
                }
            }
        }
    }

    fn reserve(&mut self) {
        read_room(&mut self.buf);
    }

    /// Reads more into the buffer (`Ok(0)`: the server closed the connection). Used by the
    /// response body's poll.
    pub fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.reserve();
        let read = std::pin::pin!(self.io.read_buf(&mut self.buf));
        std::future::Future::poll(read, cx)
    }

    /// Back to the idle list after a clean exchange (closed instead if bytes nobody asked for
    /// are waiting, or the pool is gone).
    pub fn release(self) {
        if !self.buf.is_empty() {
            return;
        }
        if let Some(list) = self.list.upgrade() {
            list.push(self);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_read_buffer_reads_from_its_front_again_once_its_slices_are_dropped() {
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        let front = buf.as_ptr();
        buf.extend_from_slice(&[b'x'; 1200]);
        let response = buf.split_to(1200).freeze();
        // A slice still held: the buffer cannot go back (the bytes would be overwritten).
        read_room(&mut buf);
        assert_ne!(buf.as_ptr(), front);
        drop(response);
        read_room(&mut buf);
        assert_eq!(buf.as_ptr(), front);
        assert!(buf.capacity() >= READ_CHUNK);
    }

    #[test]
    fn a_read_buffer_holding_bytes_keeps_them() {
        let mut buf = BytesMut::with_capacity(READ_CHUNK);
        buf.extend_from_slice(&[b'x'; 1200]);
        drop(buf.split_to(1000));
        read_room(&mut buf);
        assert_eq!(&buf[..], &[b'x'; 200][..]);
    }
}
