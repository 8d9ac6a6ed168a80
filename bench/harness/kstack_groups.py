"""CPU µs per request of a `bench/kprofile.sh` recording, kernel included, in groups by call
stack: user mode, then kernel time by system call and, within the syscall, what the kernel
does (waking a peer's epoll, the loopback receive in softirq, transmit, copies, epoll).

    python3 bench/harness/kstack_groups.py target/bench/kprofile-wasmgate-X [target/bench/kprofile-nginx-Y ...]

µs per request = samples × (1 / 4999 s) ÷ wrk's requests in the window (`wrk-perf.txt`).
"""

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

HZ = 4999

# Within a system call, the first of these found in the stack (leaf to root) names the part.
PARTS = [
    ("wake peer (sock_def_readable: epoll callback, try_to_wake_up)", ("sock_def_readable",)),
    ("ack / write space (sk_stream_write_space, tcp_ack)", ("tcp_ack",)),
    ("loopback receive in softirq (ip, tcp_v4_rcv)", ("net_rx_action", "process_backlog")),
    ("transmit (tcp_write_xmit .. loopback_xmit)", ("tcp_write_xmit", "__tcp_transmit_skb", "__dev_queue_xmit")),
    ("copy to/from user", ("_copy_to_iter", "_copy_from_iter", "skb_copy_datagram_iter", "__skb_datagram_iter", "_copy_to_user", "_copy_from_user")),
    ("epoll (ep_poll, ep_send_events)", ("ep_poll", "ep_send_events", "do_epoll_wait")),
    ("schedule (sleep / switch)", ("schedule", "__schedule", "finish_task_switch.isra.0")),
    ("skb alloc / free", ("__alloc_skb", "skb_release_data", "kfree_skb_reason", "__kfree_skb", "skb_attempt_defer_free", "skb_defer_free_flush", "tcp_stream_alloc_skb")),
    ("tcp_sendmsg other", ("tcp_sendmsg_locked", "tcp_sendmsg")),
    ("tcp_recvmsg other", ("tcp_recvmsg_locked", "tcp_recvmsg", "tcp_cleanup_rbuf")),
]

# Functions that name the system call they run in (the `__x64_sys_` wrappers are tail calls, often
# missing from the stacks).
SYSCALLS = {
    "do_writev": "writev", "vfs_writev": "writev",
    "__sys_sendto": "sendto", "__sys_recvfrom": "recvfrom",
    "do_epoll_wait": "epoll_wait", "do_epoll_ctl": "epoll_ctl",
    "do_sock_getsockopt": "getsockopt", "__sys_getsockopt": "getsockopt",
    "__sys_accept4": "accept4", "ksys_write": "write", "ksys_read": "read",
}


def requests(d: Path) -> int:
    m = re.search(r"^\s*(\d+) requests in", (d / "wrk-perf.txt").read_text(), re.M)
    if not m:
        raise SystemExit(f"{d}/wrk-perf.txt: no request count")
    return int(m.group(1))


def classify(stack: list[str], kernel_leaf: bool) -> tuple[str, str]:
    if not kernel_leaf:
        return ("user", "")
    call = next((SYSCALLS[s] for s in stack if s in SYSCALLS), None)
    if call is None:
        call = next((s.removeprefix("__x64_sys_") for s in stack if s.startswith("__x64_sys_")), None)
    if call is None:
        if any(s in ("asm_exc_page_fault", "exc_page_fault") for s in stack):
            call = "page fault"
        elif any(s.startswith("asm_sysvec") or s.startswith("sysvec_") for s in stack):
            call = "interrupt"
        elif any(s in ("syscall_exit_to_user_mode", "entry_SYSCALL_64_after_hwframe", "do_syscall_64") for s in stack):
            call = "syscall entry/exit"
        else:
            call = "other kernel"
    for name, marks in PARTS:
        if any(s in marks for s in stack):
            return (call, name)
    return (call, "rest")


def main() -> None:
    for arg in sys.argv[1:]:
        d = Path(arg)
        n = requests(d)
        # Which symbols are kernel: perf script's ip is a kernel address (ffff...).
        counts: Counter = Counter()
        out = subprocess.run(
            ["perf", "script", "--no-inline", "-F", "ip,sym", "-i", str(d / "perf.data")],
            capture_output=True, text=True, check=True,
        ).stdout
        total = 0
        for block in out.split("\n\n"):
            lines = [l.split() for l in block.strip().splitlines() if l.strip()]
            if not lines:
                continue
            total += 1
            kernel_leaf = lines[0][0].startswith("ffff")
            stack = [l[1].split("+")[0] if len(l) > 1 else "?" for l in lines]
            counts[classify(stack, kernel_leaf)] += 1
        us = lambda c: c / HZ / n * 1e6
        print(f"== {d.name}: {n} requests, {total} samples, {us(total):.2f} µs per request")
        calls = Counter()
        for (call, _), c in counts.items():
            calls[call] += c
        for call, c in calls.most_common():
            print(f"{call:28} {us(c):6.2f}")
            for (k, part), cc in sorted(counts.items(), key=lambda x: -x[1]):
                if k == call and part and us(cc) >= 0.03:
                    print(f"    {part:64} {us(cc):6.2f}")


if __name__ == "__main__":
    main()
