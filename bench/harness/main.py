"""Entry point of the benchmark (called by bench/run.sh): runs every contender interleaved,
round by round, and writes the report and the chart.

Per round, per scenario, per connection count, each contender in turn (the order rotates by one
each round): start it on the proxy core, wait until it proxies, check it does the scenario's
work (first round), warm up (discarded), measure with wrk on the load core while reading the
proxy's CPU time from /proc, read its peak RSS, stop it.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import machine
import procstat
import report
import wrk
from plan import GUARD_HEADER, GUARD_KEY, LOAD_CORE, PROXY_CORE, SCENARIOS, UPSTREAM_PORT, Scenario, mode
from process import Running, check_work, get, wait_ready
from proxies import Caddy, Haproxy, Nginx, Proxy, Wasmgate
from proxies.base import basic_authorization

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
# The cargo profile the binaries come from: `release` (the default, the only one quoted against
# nginx/HAProxy) or `bench-fast` (same-binary ratios on a busy machine; see Cargo.toml).
PROFILE = os.environ.get("WASMGATE_BENCH_PROFILE", "release")
BUILD_DIR = REPO / "target" / PROFILE
# The gateway binary measured: the profile's build unless `WASMGATE_BENCH_BINARY` names another
# one (`run.sh --pgo` names the profile-guided build of `bench/pgo.sh`).
WASMGATE_BINARY = Path(os.environ.get("WASMGATE_BENCH_BINARY") or BUILD_DIR / "wasmgate")


def parse_args() -> argparse.Namespace:
    scenarios = "\n".join(f"  {s.id:9} {s.title}" for s in SCENARIOS)
    ap = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"scenarios:\n{scenarios}\n\nWASMGATE_BENCH_PROFILE=bench-fast: wasmgate from the bench-fast cargo "
        "profile (release\nwithout LTO) instead of release; ratios against other proxies are quoted from release.",
    )
    ap.add_argument("--quick", action="store_true", help="1 round, 64 connections, 1 s runs")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--duration", type=int, help="measured seconds per run")
    ap.add_argument("--warmup", type=int, help="discarded warm-up seconds per run")
    ap.add_argument("--conns", help="comma-separated connection counts")
    ap.add_argument("--scenarios", help="comma-separated scenario ids (default: all; listed below)")
    ap.add_argument("--contenders", help="comma-separated: wasmgate,nginx,haproxy,caddy")
    ap.add_argument("--report-only", metavar="RESULTS_JSON", help="rewrite the report and chart of an earlier run")
    ap.add_argument("--command-line", default="bash bench/run.sh", help="how the run was invoked (for the report)")
    return ap.parse_args()


def start_upstream(binary: Path, log: Path, cores: str = str(LOAD_CORE)) -> subprocess.Popen:
    cmd = ["taskset", "-c", cores, str(binary), "--listen", f"127.0.0.1:{UPSTREAM_PORT}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(log, "wb"), text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("listening on"):
        proc.kill()
        raise RuntimeError(f"bench-upstream did not start: {line!r}; see {log}")
    return proc


def request_headers(scenario: Scenario) -> dict[str, str]:
    """The same request bytes go to every contender, whatever part of the work it does."""
    h = {}
    if scenario.auth:
        h["Authorization"] = basic_authorization()
    if scenario.guard:
        h[GUARD_HEADER] = GUARD_KEY
    if not scenario.keepalive:
        h["Connection"] = "close"
    return h


def measure_one(
    p: Proxy, scenario: Scenario, features: list[str], conns: int, m, check: bool, load_cores: str = str(LOAD_CORE)
) -> dict:
    """One run. The proxy is pinned to its `cores` attribute when it has one (the multi-core
    scenario), else to the proxy core; wrk to `load_cores`."""
    config = p.config(scenario, features)
    cmd, env = p.command(config)
    headers = request_headers(scenario)
    running = Running(p.name, cmd, env, p.workdir / "proxy.log", getattr(p, "cores", str(PROXY_CORE)))
    ca = p.tls_files().cert if scenario.tls else None
    try:
        wait_ready(running, p.port, scenario.path, {k: v for k, v in headers.items() if k != "Connection"}, ca)
        if check:
            body_len = 16 * 1024 if scenario.path == "/16k" else 1024
            problems = check_work(p.port, scenario, features, headers, body_len, ca)
            if problems:
                return {"error": "; ".join(problems)}
        hdrs = [f"{k}: {v}" for k, v in headers.items()]
        url = p.url(scenario.path, scenario.tls)
        wrk.run(wrk.command(url, conns, m.warmup_s, hdrs, scenario.echo_bytes, load_cores))
        c0, t0 = procstat.core_times(), procstat.cpu_ticks(running.pid)
        th0 = procstat.thread_runtime_ns(running.pid)
        res = wrk.run(wrk.command(url, conns, m.duration_s, hdrs, scenario.echo_bytes, load_cores))
        th1 = procstat.thread_runtime_ns(running.pid)
        t1, c1 = procstat.cpu_ticks(running.pid), procstat.core_times()
        rss = procstat.peak_rss_kib(running.pid)
    finally:
        running.stop()
    us_per_tick = 1e6 / procstat.CLK_TCK
    n = max(res.requests, 1)
    user_us = (t1.user - t0.user) * us_per_tick / n
    sys_us = (t1.system - t0.system) * us_per_tick / n
    busy = ((t1.user - t0.user) + (t1.system - t0.system)) / procstat.CLK_TCK / res.seconds
    return {
        "rps": res.rps,
        "requests": res.requests,
        "seconds": res.seconds,
        "p50_us": res.p50_us,
        "p99_us": res.p99_us,
        "p999_us": res.p999_us,
        "cpu_user_us": user_us,
        "cpu_sys_us": sys_us,
        "cpu_us": user_us + sys_us,
        # wasmgate's access-log writer thread alone (0 when there is none).
        "log_thread_us": (th1.get("access-log", 0) - th0.get("access-log", 0)) / 1000 / n,
        "log_thread_user_us": (th1.get("access-log:user", 0) - th0.get("access-log:user", 0)) / 1000 / n,
        "log_thread_sys_us": (th1.get("access-log:sys", 0) - th0.get("access-log:sys", 0)) / 1000 / n,
        "busy": busy,
        "proxy_core_all": procstat.busy_between(c0, c1, PROXY_CORE),
        "load_core_all": procstat.busy_between(c0, c1, LOAD_CORE),
        "rss_kib": rss,
        "load1": os.getloadavg()[0],
        "non_2xx": res.non_2xx,
        "socket_errors": res.socket_errors,
        "admitted_rps": (res.requests - res.non_2xx) / res.seconds if res.seconds else 0.0,
    }


def command_lines(
    proxies: list[Proxy], scenarios: list[Scenario], plans: dict[str, dict], conns: list[int], duration_s: int
) -> dict[str, str]:
    """The exact command lines of a run, keyed by what they start (from the repository root)."""
    out = {
        "upstream (whole run)": wrk.printable(
            ["taskset", "-c", str(LOAD_CORE), str(bin_dir(proxies[0].workdir.parent) / "bench-upstream"), "--listen", f"127.0.0.1:{UPSTREAM_PORT}"]
        )
    }
    ports = ", ".join(f"{p.name} {p.port}" for p in proxies)
    conns_text = ", ".join(str(c) for c in conns)
    for s in scenarios:
        hdrs = [f"{k}: {v}" for k, v in request_headers(s).items()]
        scheme = "https" if s.tls else "http"
        cmd = wrk.command(f"{scheme}://127.0.0.1:PORT{s.path}", 0, duration_s, hdrs, s.echo_bytes)
        out[f"wrk, scenario {s.id} (CONNS: {conns_text}; PORT: {ports})"] = wrk.printable(cmd).replace("-c0", "-cCONNS")
        for p in proxies:
            config = p.config_file(s.id)
            if plans.get(f"{s.id} {p.name}", {}).get("runs") and config:
                cmd, env = p.command(config)
                envs = " ".join(f"{k}={v}" for k, v in env.items())
                out[f"{p.name}, scenario {s.id}"] = (envs + " " if envs else "") + wrk.printable(["taskset", "-c", "0"] + cmd)
    return out


def bin_dir(workdir: Path) -> Path:
    """Where a run's own copies of the binaries are (runs before those copies: the build directory)."""
    own = workdir / "bin"
    return own if own.is_dir() else BUILD_DIR


def contenders(workdir: Path) -> list[Proxy]:
    return [
        Wasmgate(workdir, bin_dir(workdir) / "wasmgate"),
        Nginx(workdir),
        Haproxy(workdir),
        Caddy(workdir, BENCH / ".venv" / "bin" / "caddy"),
    ]


def out_dir_for(mode_name: str) -> Path:
    return BENCH / "results" if mode_name == "full" else BENCH / "results" / "quick"


def report_only(results_json: Path) -> int:
    data = json.loads(results_json.read_text())
    info, results = data["info"], data["results"]
    proxies = [p for p in contenders(results_json.parent) if p.name in info["versions"]]
    scenarios = [s for s in SCENARIOS if s.id in info["mode"]["scenarios"]]
    info["commands"] = command_lines(proxies, scenarios, info["plans"], info["mode"]["conns"], info["mode"]["duration_s"])
    out = out_dir_for(info["mode"]["name"])
    paths = report.write(out, info["stamp"], info, results, scenarios, proxies, results_json.parent)
    print("\n".join(f"wrote {x.relative_to(REPO)}" for x in paths))
    return 0


def main() -> int:
    args = parse_args()
    if args.report_only:
        return report_only(Path(args.report_only).resolve())
    m = mode(args.quick)
    if args.rounds:
        m.rounds = args.rounds
    if args.duration:
        m.duration_s = args.duration
    if args.warmup:
        m.warmup_s = args.warmup
    if args.conns:
        m.conns = [int(c) for c in args.conns.split(",")]
    if args.scenarios:
        wanted = args.scenarios.split(",")
        m.scenarios = [s for s in SCENARIOS if s.id in wanted]

    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    workdir = REPO / "target" / "bench" / stamp
    workdir.mkdir(parents=True, exist_ok=True)
    # Private copies: a rebuild of the build directory by someone else mid-run changes nothing here.
    (workdir / "bin").mkdir(exist_ok=True)
    shutil.copy2(WASMGATE_BINARY, workdir / "bin" / "wasmgate")
    shutil.copy2(BUILD_DIR / "bench-upstream", workdir / "bin" / "bench-upstream")
    own_build = WASMGATE_BINARY == BUILD_DIR / "wasmgate"
    proxies = contenders(workdir)
    if args.contenders:
        wanted = args.contenders.split(",")
        proxies = [p for p in proxies if p.name in wanted]

    info = {
        "stamp": stamp,
        # Only a release run of every scenario and contender replaces latest.md.
        "complete": PROFILE == "release" and own_build and not args.scenarios and not args.contenders,
        "mode": asdict(m) | {"scenarios": [s.id for s in m.scenarios]},
        "command_line": args.command_line,
        "machine": machine.describe(REPO),
        "load_before": machine.load_average(),
        "versions": {p.name: p.version() for p in proxies}
        | {"wasmgate revision": machine.git_revision(REPO), "wasmgate cargo profile": PROFILE}
        | ({} if own_build else {"wasmgate binary": str(WASMGATE_BINARY)})
        | machine.tool_versions(REPO),
    }

    # What each contender does per scenario: the features it has, the ones it lacks and why.
    plans: dict[tuple[str, str], dict] = {}
    for s in m.scenarios:
        for p in proxies:
            lacking = {f: r for f in s.features() if (r := p.missing(f))}
            runs = not (s.essential and s.essential in lacking)
            plans[(s.id, p.name)] = {
                "features": [f for f in s.features() if f not in lacking],
                "missing": lacking,
                "runs": runs,
            }

    upstream = start_upstream(workdir / "bin" / "bench-upstream", workdir / "upstream.log")
    # Reachability of the upstream itself, before any proxy is blamed.
    status, _, _ = get(UPSTREAM_PORT, "/", {})
    if status != 200:
        raise RuntimeError(f"bench-upstream answered {status}")

    results: list[dict] = []
    failed: dict[tuple[str, str], str] = {}
    total = sum(
        1 for s in m.scenarios for _ in m.conns for p in proxies if plans[(s.id, p.name)]["runs"]
    ) * m.rounds
    done = 0
    began = time.monotonic()
    try:
        for rnd in range(m.rounds):
            order = proxies[rnd % len(proxies):] + proxies[: rnd % len(proxies)]
            for s in m.scenarios:
                for conns in m.conns:
                    for p in order:
                        key = (s.id, p.name)
                        if not plans[key]["runs"] or key in failed:
                            continue
                        done += 1
                        check = key not in {(r["scenario"], r["proxy"]) for r in results}
                        try:
                            r = measure_one(p, s, plans[key]["features"], conns, m, check)
                        except Exception as e:  # one contender failing must not end the run
                            r = {"error": str(e)}
                        if "error" in r:
                            failed[key] = r["error"]
                            print(f"[{done}/{total}] {p.name:8} {s.id:4} c={conns:<3} FAILED: {r['error']}", flush=True)
                            continue
                        r |= {"round": rnd, "scenario": s.id, "conns": conns, "proxy": p.name}
                        results.append(r)
                        el = time.monotonic() - began
                        print(
                            f"[{done}/{total} {el:5.0f}s] r{rnd} {s.id:4} c={conns:<3} {p.name:8} "
                            f"{r['rps']:9.0f} req/s  p99 {r['p99_us'] / 1000:6.2f} ms  "
                            f"CPU {r['cpu_us']:5.1f} µs/req ({r['cpu_user_us']:.1f} user)  busy {r['busy']:.0%}  "
                            f"cores (all processes) {r['proxy_core_all']:.0%}/{r['load_core_all']:.0%}",
                            flush=True,
                        )
    finally:
        upstream.terminate()
        upstream.wait()

    info["load_after"] = machine.load_average()
    info["commands"] = command_lines(proxies, m.scenarios, info_plans := {f"{k[0]} {k[1]}": v for k, v in plans.items()}, m.conns, m.duration_s)
    info["plans"] = info_plans
    info["failed"] = {f"{k[0]} {k[1]}": v for k, v in failed.items()}
    info["configs"] = {p.name: sorted(str(x.relative_to(REPO)) for x in p.workdir.glob("*-*")) for p in proxies}

    out_dir = out_dir_for(m.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    (workdir / "results.json").write_text(json.dumps({"info": info, "results": results}, indent=1))
    paths = report.write(out_dir, stamp, info, results, [s for s in m.scenarios], proxies, workdir)
    print("\n".join(f"wrote {x.relative_to(REPO)}" for x in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
