//! Where a connection redirected by iptables was going: `SO_ORIGINAL_DST` (IPv4) and
//! `IP6T_SO_ORIGINAL_DST` (IPv6) read the destination conntrack recorded before the `nat`
//! table's `REDIRECT` (or `DNAT`) rewrote it to the gateway's listener.
//!
//! Runs once per accepted connection, only on a `transparent` entrypoint: one `getsockopt`
//! system call (about a microsecond).

use std::io;
use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

/// The destination the client dialled, or `None` when the connection was not redirected (it
/// came to the listener's own address: there is no other destination to go to).
///
/// # Errors
/// The socket option cannot be read: no conntrack entry (the `nf_conntrack` module is not
/// loaded) or a socket that is not TCP.
pub fn original_dst<S: AsRawFd>(socket: &S, local: SocketAddr) -> io::Result<Option<SocketAddr>> {
    let dst = match local {
        SocketAddr::V4(_) => read_v4(socket.as_raw_fd())?,
        SocketAddr::V6(_) => read_v6(socket.as_raw_fd())?,
    };
    Ok((dst != local).then_some(dst))
}

fn read_v4(fd: RawFd) -> io::Result<SocketAddr> {
    let mut addr = libc::sockaddr_in {
        sin_family: 0,
        sin_port: 0,
        sin_addr: libc::in_addr { s_addr: 0 },
        sin_zero: [0; 8],
    };
    getsockopt(fd, libc::SOL_IP, libc::SO_ORIGINAL_DST, &mut addr)?;
    let ip = Ipv4Addr::from(u32::from_be(addr.sin_addr.s_addr));
    Ok(SocketAddr::V4(SocketAddrV4::new(
        ip,
        u16::from_be(addr.sin_port),
    )))
}

fn read_v6(fd: RawFd) -> io::Result<SocketAddr> {
    let mut addr = libc::sockaddr_in6 {
        sin6_family: 0,
        sin6_port: 0,
        sin6_flowinfo: 0,
        sin6_addr: libc::in6_addr { s6_addr: [0; 16] },
        sin6_scope_id: 0,
    };
    getsockopt(fd, libc::SOL_IPV6, libc::IP6T_SO_ORIGINAL_DST, &mut addr)?;
    let ip = Ipv6Addr::from(addr.sin6_addr.s6_addr);
    let v6 = SocketAddrV6::new(ip, u16::from_be(addr.sin6_port), 0, addr.sin6_scope_id);
    // A v4 client on a dual-stack listener: conntrack answers with a mapped address.
    Ok(match v6.ip().to_ipv4_mapped() {
        Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, v6.port())),
        None => SocketAddr::V6(v6),
    })
}

/// Fills `value` (a `sockaddr_in` or `sockaddr_in6`: integers only) from a socket option.
fn getsockopt<T>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &mut T,
) -> io::Result<()> {
    let mut len = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::other("socket option value too large"))?;
    let out: *mut T = value;
    // SAFETY: `out` points to an initialised, writable `T` of `len` bytes that outlives the
    // call; the kernel writes at most `len` bytes of integers into it (any bit pattern is a
    // valid `T`). `fd` is an open socket the caller borrows to us for the call.
    let rc = unsafe { libc::getsockopt(fd, level, name, out.cast(), &mut len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_that_was_not_redirected_has_no_other_destination() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let local = listener.local_addr().unwrap();
        let _client = std::net::TcpStream::connect(local).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        // Without conntrack loaded the option cannot be read; with it, the destination is the
        // listener itself.
        match original_dst(&accepted, local) {
            Ok(dst) => assert_eq!(dst, None),
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{e}"),
        }
    }
}
