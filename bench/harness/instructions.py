#!/usr/bin/env python3
"""User-space instructions per request, counted by valgrind's callgrind: a figure that does not
move with the machine's load, for comparing two builds or wasmgate with nginx where the CPU-time
ratios of `ab.py` and `run.sh` are lost in this VM's noise (±5–7% a round).

    bench/.venv/bin/python bench/harness/instructions.py [--binary target/bench-fast/wasmgate]
        [--scenarios a,hdr,b] [--contenders wasmgate,nginx[,wasmgate+obs][,wasmgate+metrics]] [--requests 20000] [--conns 64]
        [--keep DIR]

Per contender and scenario: the bench upstream on its port, the proxy under `valgrind
--tool=callgrind --instr-atstart=no` with the harness's own config for the scenario (one worker),
a warm-up of a tenth of the requests, then counting switched on (`callgrind_control -i on`) for
exactly `--requests` requests sent by `--conns` keep-alive connections of an asyncio client (each
answer checked: 200 and its whole body), switched off and dumped. Writes
`results/instructions-<stamp>.md`: instructions per request (the proxy's user space only: the
kernel's work and wrk are not in it) and each proxy's twenty costliest functions (self cost).

What it does not say: time. An instruction of `memcpy` is not one of a hash probe, cache misses
are not counted, and the kernel's share (about three quarters of a request's CPU time here) is
absent; read it beside `ab.py`'s user-time column. The gateway runs with
`WASMGATE_PLUGIN_INSTANCES=4` (valgrind cannot map the default pool's 8 TiB; plugins keep their
4 GiB reservations, so guest code is the production code). Needs valgrind (Debian `valgrind`;
`bench/setup.sh --profiling` installs it, and this script runs that when it is missing).
"""

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from ab import Side
from main import BUILD_DIR, request_headers, start_upstream
from plan import SCENARIOS, Scenario
from process import Running, wait_ready
from proxies import Nginx, Proxy, Wasmgate

BENCH = Path(__file__).resolve().parent.parent
VALGRIND = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
TOP = 20


async def load(port: int, headers: dict[str, str], total: int, conns: int) -> int:
    """Sends `total` GETs of / over `conns` keep-alive connections, one at a time on each; checks
    every answer (200, its whole body); returns how many were answered."""
    head = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (head + "\r\n").encode()
    answered = 0

    async def one(n: int) -> None:
        nonlocal answered
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(n):
            writer.write(request)
            await writer.drain()
            response_head = await reader.readuntil(b"\r\n\r\n")
            if not response_head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"not a 200: {response_head[:60]!r}")
            m = re.search(rb"(?im)^content-length:\s*(\d+)", response_head)
            if not m:
                raise RuntimeError(f"no content-length: {response_head!r}")
            await reader.readexactly(int(m.group(1)))
            answered += 1
        writer.close()

    share, extra = divmod(total, conns)
    await asyncio.gather(*(one(share + (1 if i < extra else 0)) for i in range(conns)))
    return answered


def control(pid: int, *args: str) -> None:
    """`callgrind_control` waits for the valgrind process to answer, so counting is on or off
    when it returns."""
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def totals_and_top(out: Path, requests: int) -> tuple[float, list[tuple[float, str]]]:
    """Instructions per request in all, and the costliest functions' self cost per request."""
    text = subprocess.run(
        ["callgrind_annotate", "--threshold=100", str(out)], capture_output=True, text=True, check=True
    ).stdout
    total = None
    top = []
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*)", line)
        if not m:
            continue
        ir = int(m.group(1).replace(",", ""))
        name = m.group(2)
        if name.startswith("PROGRAM TOTALS"):
            total = ir
        elif len(top) < TOP:
            # `file:function [object]`: the function is what a reader looks for.
            fn = name.split(":", 1)[-1] if ":" in name.split(" ", 1)[0] else name
            top.append((ir / requests, fn[:140]))
    if total is None:
        raise RuntimeError(f"no totals in {out}")
    return total / requests, top


def measure(
    proxy: Proxy, scenario: Scenario, work: Path, requests: int, conns: int
) -> tuple[float, list[tuple[float, str]]]:
    config = proxy.config(scenario, [f for f in scenario.features() if proxy.missing(f) is None])
    cmd, env = proxy.command(config)
    if proxy.name == "nginx":
        # One process doing the work (the bench's config has a master and one worker).
        cmd += ["-g", "master_process off;"]
    if isinstance(proxy, Wasmgate):
        env = {**env, "WASMGATE_PLUGIN_INSTANCES": "4"}
    out = work / f"callgrind-{proxy.name}-{scenario.id}.out"
    running = Running(proxy.name, VALGRIND + [f"--callgrind-out-file={out}"] + cmd, env, work / f"{proxy.name}.log")
    try:
        wait_ready(running, proxy.port, scenario.path, request_headers(scenario))
        headers = request_headers(scenario)
        asyncio.run(load(proxy.port, headers, max(requests // 10, conns), conns))
        control(running.pid, "-i", "on")
        answered = asyncio.run(load(proxy.port, headers, requests, conns))
        control(running.pid, "-i", "off")
        control(running.pid, "-d")
    finally:
        running.stop()
    dumps = sorted(work.glob(f"{out.name}.*"))
    if answered != requests or not dumps:
        raise RuntimeError(f"{proxy.name} {scenario.id}: {answered} of {requests} answered, dumps {dumps}")
    return totals_and_top(dumps[-1], requests)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", type=Path, default=BUILD_DIR / "wasmgate")
    ap.add_argument(
        "--upstream",
        type=Path,
        help="bench-upstream (default: beside --binary, else the bench profile's build, as bench/profile.sh finds it)",
    )
    ap.add_argument("--scenarios", default="a,hdr,b")
    ap.add_argument(
        "--contenders",
        default="wasmgate,nginx",
        help="wasmgate, nginx, wasmgate+obs (metrics and the JSON access log on, as ab.py's --observability) "
        "and wasmgate+metrics (metrics alone)",
    )
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--keep", type=Path, help="copy each callgrind output here (for callgrind_annotate, e.g. --tree=caller)")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        # As bench/profile.sh does: the profilers' tools, installed when missing.
        subprocess.run(["bash", str(BENCH / "setup.sh"), "--profiling"], check=True, stdout=sys.stderr)
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} missing (Debian: apt-get install valgrind)")
    # A binary built elsewhere (target/pgo-use/release, target/inl/release) has no upstream beside it.
    beside = args.binary.parent / "bench-upstream"
    upstream_bin = args.upstream or (beside if beside.exists() else BUILD_DIR / "bench-upstream")
    if not upstream_bin.exists():
        sys.exit(f"{upstream_bin} missing: build it (cargo build --profile <profile> -p wasmgate-bench-upstream)")
    scenarios = [s for s in SCENARIOS if s.id in args.scenarios.split(",")]
    work = Path(tempfile.mkdtemp(prefix="wasmgate-instructions-"))
    proxies: list[Proxy] = []
    for name in args.contenders.split(","):
        if name == "wasmgate":
            proxies.append(Wasmgate(work, args.binary.resolve()))
        elif name == "wasmgate+obs":
            # Issue 15's "on" side: Prometheus metrics and the JSON access log to a file, as ab.py
            # turns them on.
            proxies.append(Side(work / "obs", args.binary.resolve(), name, {}, observability=["metrics", "accesslog"]))
        elif name == "wasmgate+metrics":
            # Metrics alone (no access log, no writer thread): the recording's request-side part.
            proxies.append(Side(work / "metrics", args.binary.resolve(), name, {}, observability=["metrics"]))
        else:
            proxies.append(Nginx(work))
    upstream = start_upstream(upstream_bin, work / "upstream.log")
    results = {}
    try:
        for scenario in scenarios:
            for proxy in proxies:
                if scenario.essential and proxy.missing(scenario.essential):
                    continue
                started = time.monotonic()
                results[(proxy.name, scenario.id)] = measure(proxy, scenario, work, args.requests, args.conns)
                per_request = results[(proxy.name, scenario.id)][0]
                print(f"{proxy.name:9} {scenario.id:4} {per_request:9.0f} instructions per request "
                      f"({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        upstream.kill()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    lines = [
        f"# User-space instructions per request (callgrind), {stamp} UTC",
        "",
        f"`{' '.join(['bench/harness/instructions.py'] + sys.argv[1:])}`; wasmgate: `{args.binary}`; "
        f"{args.requests} requests over {args.conns} keep-alive connections after a warm-up of "
        f"{max(args.requests // 10, args.conns)}. The kernel's work is not counted.",
        "",
        "| scenario | " + " | ".join(p.name for p in proxies) + " |",
        "|---|" + "---:|" * len(proxies),
    ]
    for scenario in scenarios:
        cells = [f"{results[(p.name, scenario.id)][0]:.0f}" if (p.name, scenario.id) in results else "–"
                 for p in proxies]
        lines.append(f"| {scenario.id} | " + " | ".join(cells) + " |")
    for (name, sid), (_, top) in results.items():
        lines += ["", f"## {name}, scenario {sid}: self cost per request, top {TOP}", "", "```"]
        lines += [f"{ir:8.0f}  {fn}" for ir, fn in top]
        lines.append("```")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for dump in work.glob("callgrind-*.out.*"):
            shutil.copy(dump, args.keep / dump.name)
    out = BENCH / "results" / f"instructions-{stamp}.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
