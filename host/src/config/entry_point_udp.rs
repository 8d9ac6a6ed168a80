//! UDP entry points: an `entryPoints.<name>` whose address ends in `/udp` (Traefik's form,
//! `":53/udp"`), with `udp.timeout`. Only `address` and `udp` apply to one; the TCP keys are
//! refused on it, and `udp` is refused on a TCP entry point. Runs once per load.

use std::net::SocketAddr;

use super::model_udp::{DEFAULT_UDP_TIMEOUT, UdpEntryPointConfig};
use super::raw::RawEntryPoint;
use crate::yaml::report::Reporter;

/// The address part of `text` when it names UDP (`host:port/udp`, any case), else `None`.
pub(crate) fn udp_address(text: &str) -> Option<&str> {
    let (address, protocol) = text.rsplit_once('/')?;
    protocol.eq_ignore_ascii_case("udp").then_some(address)
}

/// Resolves the UDP entry point `name` (address already known to end in `/udp`); `seen`
/// holds the UDP addresses taken so far, in source order (a clash is reported on the second).
pub(crate) fn resolve_udp_entry_point(
    reporter: &mut Reporter<'_>,
    name: &str,
    raw: RawEntryPoint,
    seen: &mut Vec<(SocketAddr, String)>,
) -> Option<UdpEntryPointConfig> {
    let tcp_keys = [
        ("forwardedHeaders", raw.forwarded_headers.is_some()),
        ("proxyProtocol", raw.proxy_protocol.is_some()),
        ("transport", raw.transport.is_some()),
        ("http2", raw.http2.is_some()),
        ("http", raw.http.is_some()),
        ("asDefault", raw.as_default.is_some()),
        ("reusePort", raw.reuse_port.is_some()),
        ("transparent", raw.transparent.is_some()),
    ];
    let mut ok = true;
    for (key, _) in tcp_keys.iter().filter(|(_, given)| *given) {
        let reason = "only address and udp apply to a UDP entry point (address ending in /udp)";
        reporter.at(0, &["entryPoints", name, key], reason);
        ok = false;
    }
    let address_path = ["entryPoints", name, "address"];
    let text = udp_address(&raw.address).unwrap_or(&raw.address);
    let address = match super::listen_address::parse_listen_address(text) {
        Ok(address) => address,
        Err(reason) => {
            let reason = format!("invalid address \"{}\": {reason}", raw.address);
            reporter.at(0, &address_path, reason);
            return None;
        }
    };
    if let Some((_, other)) = seen
        .iter()
        .find(|(used, _)| super::listen_address::addresses_clash(*used, address))
    {
        let reason = format!("UDP address {address} is already used by entry point \"{other}\"");
        reporter.at(0, &address_path, reason);
        return None;
    }
    seen.push((address, name.to_string()));
    let timeout = match raw.udp.and_then(|udp| udp.timeout) {
        Some(d) if d.0.is_zero() => {
            reporter.at(
                0,
                &["entryPoints", name, "udp", "timeout"],
                "must be above 0",
            );
            ok = false;
            DEFAULT_UDP_TIMEOUT
        }
        Some(d) => d.0,
        None => DEFAULT_UDP_TIMEOUT,
    };
    ok.then_some(UdpEntryPointConfig { address, timeout })
}

/// Reports `udp` on the TCP entry point `name` (it would be silently ignored otherwise).
pub(crate) fn refuse_udp_on_tcp(reporter: &mut Reporter<'_>, name: &str, raw: &RawEntryPoint) {
    if raw.udp.is_some() {
        let reason = "udp applies only to a UDP entry point (address ending in /udp)";
        reporter.at(0, &["entryPoints", name, "udp"], reason);
    }
}

/// Why an HTTP or TCP router cannot use the entry point `name`: it is a UDP one (`udp`), or
/// it is not defined.
pub(crate) fn undefined_entry_point(name: &str, udp: bool) -> String {
    if udp {
        format!("entry point \"{name}\" is a UDP entry point: only udp routers may use it")
    } else {
        format!("entry point \"{name}\" is not defined")
    }
}
