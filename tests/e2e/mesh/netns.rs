//! A throwaway network namespace for the transparent-mode suites: loopback up, a veth pair
//! giving it a non-loopback address ([`POD_IP`]) and a route for the service range
//! ([`SERVICE_NET`], which exists nowhere), and the iptables `nat` rules a mesh sidecar
//! installs. Everything the suite adds lives inside the namespace, so dropping it (`ip netns
//! del`, also when a test panics) removes the links and the rules with it.
//!
//! Needs root, `ip` (iproute2) and `iptables` (scripts/setup.sh installs them).

use std::future::Future;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The namespace's own address (the "pod IP").
pub const POD_IP: &str = "10.200.0.1";
/// Service addresses: routed out of the namespace but assigned to nothing.
pub const SERVICE_NET: &str = "10.96.0.0/16";
/// The namespace's own IPv6 address, and IPv6 service addresses (assigned to nothing).
pub const POD_IP6: &str = "fd00:200::1";
pub const SERVICE_NET6: &str = "fd00:96::/64";
/// The group the gateway runs as; the REDIRECT rules exempt it (Istio uses 1337 as well).
pub const GATEWAY_GID: u32 = 1337;

pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates the namespace. Panics with the command's output when the kernel or tools
    /// refuse (not root, no veth support).
    pub fn create() -> Netns {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "wg-mesh-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        run("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.exec("ip", &["link", "set", "lo", "up"]);
        ns.exec(
            "ip",
            &["link", "add", "v0", "type", "veth", "peer", "name", "v1"],
        );
        ns.exec("ip", &["addr", "add", &format!("{POD_IP}/24"), "dev", "v0"]);
        ns.exec("ip", &["link", "set", "v0", "up"]);
        ns.exec("ip", &["link", "set", "v1", "up"]);
        ns.exec("ip", &["route", "add", SERVICE_NET, "via", "10.200.0.2"]);
        ns
    }

    /// Runs `program args` inside the namespace; panics on failure.
    pub fn exec(&self, program: &str, args: &[&str]) {
        let mut all = vec!["netns", "exec", &self.name, program];
        all.extend_from_slice(args);
        run("ip", &all);
    }

    /// A sidecar's outbound capture: TCP from this namespace is redirected to `port`, except
    /// to loopback and, with `exempt_gateway`, except what the gateway's group sends (the
    /// owner-match rule that keeps the gateway's own upstream connections from looping back).
    pub fn redirect_outbound(&self, port: u16, exempt_gateway: bool) {
        if exempt_gateway {
            let gid = GATEWAY_GID.to_string();
            self.nat_output(&["-m", "owner", "--gid-owner", &gid, "-j", "RETURN"]);
        }
        self.nat_output(&["-d", "127.0.0.0/8", "-j", "RETURN"]);
        self.nat_output(&["-j", "REDIRECT", "--to-ports", &port.to_string()]);
    }

    /// The IPv6 side: the address [`POD_IP6`], a route for [`SERVICE_NET6`], and the same
    /// outbound capture with `ip6tables` (no exemption: these tests do not dial out over IPv6).
    pub fn redirect_outbound_v6(&self, port: u16) {
        let pod = format!("{POD_IP6}/64");
        self.exec("ip", &["-6", "addr", "add", &pod, "dev", "v0", "nodad"]);
        self.exec(
            "ip",
            &["-6", "route", "add", SERVICE_NET6, "via", "fd00:200::2"],
        );
        let port = port.to_string();
        for rule in [
            &["-d", "::1", "-j", "RETURN"][..],
            &["-j", "REDIRECT", "--to-ports", &port],
        ] {
            let mut args = vec!["-t", "nat", "-A", "OUTPUT", "-p", "tcp"];
            args.extend_from_slice(rule);
            self.exec("ip6tables", &args);
        }
    }

    /// The capture by `TPROXY` instead of `REDIRECT` (nothing rewritten): TCP this namespace
    /// sends to [`SERVICE_NET`] is marked in `mangle OUTPUT` (except the gateway's group),
    /// routed by the mark to loopback (`ip rule` + a `local` route), and diverted in `mangle
    /// PREROUTING` to the listener on `127.0.0.1:port` (which needs `IP_TRANSPARENT`).
    pub fn tproxy_outbound(&self, port: u16) {
        let gid = GATEWAY_GID.to_string();
        self.exec("ip", &["rule", "add", "fwmark", "1", "lookup", "100"]);
        self.exec(
            "ip",
            &[
                "route",
                "add",
                "local",
                "0.0.0.0/0",
                "dev",
                "lo",
                "table",
                "100",
            ],
        );
        let mark = [
            "-t",
            "mangle",
            "-A",
            "OUTPUT",
            "-p",
            "tcp",
            "-d",
            SERVICE_NET,
            "-m",
            "owner",
            "!",
            "--gid-owner",
            &gid,
            "-j",
            "MARK",
            "--set-mark",
            "1",
        ];
        self.exec("iptables", &mark);
        let port = port.to_string();
        let divert = [
            "-t",
            "mangle",
            "-A",
            "PREROUTING",
            "-p",
            "tcp",
            "-d",
            SERVICE_NET,
            "-j",
            "TPROXY",
            "--on-port",
            &port,
            "--on-ip",
            "127.0.0.1",
            "--tproxy-mark",
            "1",
        ];
        self.exec("iptables", &divert);
    }

    /// Appends a TCP rule to the `nat` table's `OUTPUT` chain.
    fn nat_output(&self, rule: &[&str]) {
        let mut args = vec!["-t", "nat", "-A", "OUTPUT", "-p", "tcp"];
        args.extend_from_slice(rule);
        self.exec("iptables", &args);
    }

    /// Runs `test` on a thread that has entered the namespace, on a runtime of its own: every
    /// socket it opens, and every process it starts, is inside the namespace.
    pub fn run<F, Fut>(&self, test: F) -> Fut::Output
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future,
        Fut::Output: Send,
    {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::scope(|scope| {
            let thread = scope.spawn(move || {
                let file = std::fs::File::open(&path).expect("open the namespace");
                // SAFETY: `file` is an open network namespace file for the whole call;
                // setns only changes this thread's namespace.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(test())
            });
            match thread.join() {
                Ok(out) => out,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (scripts/setup.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
