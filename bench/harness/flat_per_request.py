#!/usr/bin/env python3
"""User-mode CPU µs per request, function by function, of flat profiles side by side.

    python3 bench/harness/flat_per_request.py target/bench/profile-a-<stamp> target/bench/profile-a-c256-<stamp> [...]

Each argument is a work directory of `WASMGATE_PROFILE_FLAT=1 bash bench/profile.sh ...` (its
perf.data, sampled at 2999 Hz for 8 s, and wrk.txt). A function's µs per request = its samples
÷ 2999 Hz ÷ 8 s ÷ wrk's requests per second: recordings of different binaries, scenarios or
connection counts compare directly (the shares of `perf report` do not, when the totals
differ). Prints each recording's sampled user and kernel µs per request, then the user-mode
functions, largest first (`--top N`, 45 unless given).
"""
import collections
import re
import subprocess
import sys

HZ, SECONDS = 2999, 8


def load(work: str):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", open(f"{work}/wrk.txt").read()).group(1))
    report = subprocess.run(
        ["perf", "report", "--no-inline", "-i", f"{work}/perf.data", "--no-children", "--sort", "dso,symbol",
         "--stdio", "-g", "none", "-n", "--percent-limit", "0"],
        capture_output=True, text=True, check=True,
    ).stdout
    samples = collections.Counter()
    for line in report.splitlines():
        m = re.match(r"\s*[\d.]+%\s+(\d+)\s+\S+\s+\[(.)\]\s+(.*)", line)
        if m:
            # The binary's name differs between recordings: functions are keyed by mode and name.
            name = re.sub(r"\s+-\s+-\s*$", "", m.group(3)).strip()
            samples[(m.group(2), name)] += int(m.group(1))
    scale = 1e6 / (HZ * SECONDS) / rps
    return {k: n * scale for k, n in samples.items()}, rps


def main() -> None:
    args = sys.argv[1:]
    top = 45
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i : i + 2]
    recordings = [load(w) for w in args]
    for work, (per_req, rps) in zip(args, recordings):
        user = sum(v for (mode, _), v in per_req.items() if mode == ".")
        kernel = sum(v for (mode, _), v in per_req.items() if mode == "k")
        print(f"{work.rstrip('/').split('/')[-1]}: {rps:.0f} req/s; sampled µs per request: user {user:.2f}, kernel {kernel:.2f}")
    names = {k for per_req, _ in recordings for k in per_req if k[0] == "."}
    for k in sorted(names, key=lambda k: -max(r.get(k, 0) for r, _ in recordings))[:top]:
        print(" ".join(f"{r.get(k, 0):6.3f}" for r, _ in recordings), k[1][:110])


if __name__ == "__main__":
    main()
