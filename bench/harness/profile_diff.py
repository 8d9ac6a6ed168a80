"""Two `bench/profile.sh` recordings compared per request, as a whole: CPU µs per request by
thread, and the leaf functions whose per-request time grew or shrank most. For telling what a
setting costs (the `a` profile against the `log` one) beyond the functions it adds.

    python3 bench/harness/profile_diff.py target/bench/profile-a-<stamp> \\
        target/bench/profile-log-<stamp> [--seconds 8] [--top 40]

Reads each directory's folded.txt (stacks weighted by samples), wrk.txt (requests/s) and
perf-record.log (sample count). perf samples at 499 Hz, so one sample is ~2 ms of CPU; a
difference of a few hundredths of a µs per request is one or two samples: noise.
"""

import argparse
import collections
import re
from pathlib import Path

HZ = 499


def load(d: Path, seconds: float, hz: int = HZ):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", (d / "wrk.txt").read_text()).group(1))
    samples = int(re.search(r"\((\d+) samples\)", (d / "perf-record.log").read_text()).group(1))
    threads, leaves, total = collections.Counter(), collections.Counter(), 0
    for line in (d / "folded.txt").read_text().splitlines():
        stack, n = line.rsplit(" ", 1)
        frames = stack.split(";")
        threads[frames[0]] += int(n)
        leaves[(frames[0], frames[-1][:100])] += int(n)
        total += int(n)
    # µs of CPU per request for one unit of folded weight.
    unit = samples / hz / seconds * 1e6 / rps / total
    return rps, samples, threads, leaves, total, unit


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--seconds", type=float, default=8, help="the profile.sh recording length")
    ap.add_argument("--hz", type=int, default=HZ, help="sampling rate (2999 for WASMGATE_PROFILE_FLAT=1 recordings)")
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()
    b = load(args.before, args.seconds, args.hz)
    a = load(args.after, args.seconds, args.hz)
    for name, (rps, samples, _, _, total, unit) in (("before", b), ("after", a)):
        print(f"{name}: {rps:.0f} req/s, {samples} samples, {total * unit:.2f} µs/req")
    print("CPU µs per request by thread (before → after):")
    for t in sorted(set(b[2]) | set(a[2])):
        print(f"  {t:24} {b[2][t] * b[5]:6.3f} → {a[2][t] * a[5]:6.3f}")
    deltas = sorted(
        ((a[3][k] * a[5] - b[3][k] * b[5], k) for k in set(b[3]) | set(a[3])), reverse=True
    )
    print(f"leaf functions, largest growth per request (µs), top {args.top}:")
    for d, (thread, leaf) in deltas[: args.top]:
        print(f"  {d:+.3f} {thread:14} {leaf}")
    print("largest shrink:")
    for d, (thread, leaf) in deltas[-10:]:
        print(f"  {d:+.3f} {thread:14} {leaf}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
