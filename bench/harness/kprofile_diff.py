"""Two `bench/kprofile.sh` recordings side by side: CPU µs per request by symbol (self time, or
inclusive with `--children`), the kernel's included, sorted by the difference.

    python3 bench/harness/kprofile_diff.py target/bench/kprofile-wasmgate-X target/bench/kprofile-nginx-Y \\
        [--children] [--top 40] [--kernel-only]

Each directory holds `perf.data` (cpu-clock at 4999 Hz) and `wrk-perf.txt` (the window's
requests). µs per request = samples × (1 / 4999 s) ÷ requests. Runs `perf report` (seconds).
"""

import argparse
import re
import subprocess
from pathlib import Path

HZ = 4999


def requests(d: Path) -> int:
    m = re.search(r"^\s*(\d+) requests in", (d / "wrk-perf.txt").read_text(), re.M)
    if not m:
        raise SystemExit(f"{d}/wrk-perf.txt: no request count")
    return int(m.group(1))


def per_symbol(d: Path, children: bool) -> dict[str, float]:
    mode = "--children" if children else "--no-children"
    out = subprocess.run(
        ["perf", "report", "-i", str(d / "perf.data"), mode, "--sort", "sym", "--stdio", "-g", "none", "-n"],
        capture_output=True, text=True, check=True,
    ).stdout
    n = requests(d)
    rows: dict[str, float] = {}
    for line in out.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = line.split()
        # self: "pct count [k] sym"; children: "children% self% count [k] sym"
        try:
            i = next(j for j, p in enumerate(parts) if p in ("[k]", "[.]", "[g]", "[u]"))
        except StopIteration:
            continue
        count = int(parts[i - 1])
        if children:
            # The inclusive share is the first column; the count is self samples.
            total = float(parts[0].rstrip("%")) / 100
            rows[parts[i] + " " + " ".join(parts[i + 1:])] = total
            continue
        rows[parts[i] + " " + " ".join(parts[i + 1:])] = count / HZ / n * 1e6
    if children:
        # Shares to µs per request: total samples ÷ requests.
        total_samples = total_count(d)
        rows = {k: v * total_samples / HZ / n * 1e6 for k, v in rows.items()}
    return rows


def total_count(d: Path) -> int:
    out = subprocess.run(
        ["perf", "report", "-i", str(d / "perf.data"), "--no-children", "--sort", "dso", "--stdio", "-g", "none", "-n"],
        capture_output=True, text=True, check=True,
    ).stdout
    return sum(int(l.split()[1]) for l in out.splitlines() if l.strip() and not l.startswith("#"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--children", action="store_true")
    ap.add_argument("--kernel-only", action="store_true")
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()
    a, b = per_symbol(args.a, args.children), per_symbol(args.b, args.children)
    keys = set(a) | set(b)
    if args.kernel_only:
        keys = {k for k in keys if k.startswith("[k]")}
    ta = sum(v for k, v in a.items() if k in keys) if not args.children else 0
    tb = sum(v for k, v in b.items() if k in keys) if not args.children else 0
    print(f"{'symbol':60} {args.a.name[:22]:>22} {args.b.name[:22]:>22} {'diff':>7}")
    if not args.children:
        print(f"{'(sum)':60} {ta:22.3f} {tb:22.3f} {ta - tb:7.3f}")
    for k in sorted(keys, key=lambda k: -abs(a.get(k, 0) - b.get(k, 0)))[: args.top]:
        print(f"{k[:60]:60} {a.get(k, 0):22.3f} {b.get(k, 0):22.3f} {a.get(k, 0) - b.get(k, 0):7.3f}")


if __name__ == "__main__":
    main()
