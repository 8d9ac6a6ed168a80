//! iptables `TPROXY` for `transparent` entrypoints with `tproxy: true`: the listener is opened
//! with `IP_TRANSPARENT` (IPv4) / `IPV6_TRANSPARENT` (IPv6), so the kernel hands it connections
//! addressed anywhere that the TPROXY rule diverts; nothing is rewritten, so a connection's own
//! local address is where the client was going.
//!
//! `set_ip_transparent` runs once per entrypoint at start-up (one `setsockopt`, before bind;
//! needs `CAP_NET_ADMIN`); `tproxy_destination` once per connection (after one `getsockname`).

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

/// Sets `IP_TRANSPARENT` (or `IPV6_TRANSPARENT` for an IPv6 socket) on `socket`.
///
/// # Errors
/// The kernel refuses: without `CAP_NET_ADMIN` this is `EPERM`.
pub fn set_ip_transparent<S: AsRawFd>(socket: &S, ipv6: bool) -> io::Result<()> {
    let (level, name) = if ipv6 {
        (libc::SOL_IPV6, libc::IPV6_TRANSPARENT)
    } else {
        (libc::SOL_IP, libc::IP_TRANSPARENT)
    };
    let on: libc::c_int = 1;
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>())
        .map_err(|_| io::Error::other("socket option value too large"))?;
    // SAFETY: `on` is a live `c_int` of `len` bytes for the duration of the call and the kernel
    // only reads it; the descriptor is an open socket borrowed for the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(&on).cast(),
            len,
        )
    };
    if rc != 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("transparent.tproxy: cannot set IP_TRANSPARENT (needs CAP_NET_ADMIN): {e}"),
        ));
    }
    Ok(())
}

/// Where a connection accepted by a TPROXY listener was going: its own local address `local`,
/// or `None` when that is the listener's address `listener` (dialled directly, not diverted).
pub fn tproxy_destination(local: SocketAddr, listener: SocketAddr) -> Option<SocketAddr> {
    (local != listener).then_some(local)
}
