"""Before/after: two wasmgate binaries (or one binary under two settings) interleaved, for
measuring one change.

    bench/.venv/bin/python bench/harness/ab.py --before target/bench-before/wasmgate \\
        [--after target/$WASMGATE_BENCH_PROFILE/wasmgate] [--scenarios a,hdr] [--conns 64] [--rounds 5]
        [--before-env K=V] [--after-env K=V] [--before-static YAML] [--after-static YAML]
        [--workers N] [--observability after]

`--observability after` (or `before`, or `both`) turns on, for that side only, Prometheus metrics (served on
the proxy's own entry point) and the access log in JSON to a file in the side's work directory:
the issue-15 cost check is one binary against itself,

    bench/.venv/bin/python bench/harness/ab.py --before target/bench-fast/wasmgate \\
        --after target/bench-fast/wasmgate --observability after --scenarios a --rounds 3

Round by round, scenario by scenario, `before` and `after` run one after the other (the order
alternates each round), with the same fixed upstream, wrk command, pinning and warm-up as the
full harness (`main.measure_one`). Prints every run, then per scenario the medians and the
median of the per-round ratios after ÷ before (requests/s, CPU µs per request, p99), and the
load average before and after: the figures a commit message quotes. `--after-static` (and
`--before-static`) append static YAML to that side's generated config, `{upstream}` standing for
the bench upstream's port and `{logs}` for the side's log directory (emptied after each run): one
binary with a setting on against off, e.g.
`--after-static 'tracing: { otlp: { http: { endpoint: "http://127.0.0.1:{upstream}" } } }'`
(the upstream answers the exports). Writes nothing under
bench/results; the raw runs go to target/bench/ab-<timestamp>/results.json.
"""

import argparse
import shutil
from pathlib import Path

import interleave
from main import BUILD_DIR
from plan import UPSTREAM_PORT
from proxies import Wasmgate


# Static config appended for `--observability`: metrics on the proxy's entry point, JSON access
# log to a file (what issue 15's cost check names).
OBSERVABILITY = {
    "metrics": """metrics:
  prometheus:
    entryPoint: web
    addRoutersLabels: true
""",
    "accesslog": """accessLog:
  filePath: {log}
  format: json
""",
}


class Side(Wasmgate):
    """One side of the comparison: its own binary, name, extra environment, static YAML
    appended to its config and whether metrics and the access log are on."""

    def __init__(
        self,
        workdir: Path,
        binary: Path,
        name: str,
        env: dict[str, str],
        static: str = "",
        observability: list[str] | None = None,
    ):
        workdir.mkdir(parents=True, exist_ok=True)
        super().__init__(workdir, binary)
        self.name = name
        self.extra_env = env
        self.static = static.replace("{upstream}", str(UPSTREAM_PORT))
        self.observability = observability or []

    def config(self, scenario, features: list[str]) -> Path:
        path = super().config(scenario, features)
        extra = "".join(OBSERVABILITY[part] for part in self.observability)
        if extra:
            # Outside the config file's directory, as a deployment keeps it: the file provider
            # watches that directory, and each flush of the log would wake its watcher.
            (self.workdir / "logs").mkdir(exist_ok=True)
            extra = extra.format(log=self.workdir / "logs" / "access.json")
        if self.static:
            # `{logs}`: the side's log directory (emptied after each run), for an access log of
            # its own settings.
            (self.workdir / "logs").mkdir(exist_ok=True)
            extra += self.static.replace("{logs}", str(self.workdir / "logs")).rstrip("\n") + "\n"
        if extra:
            path.write_text(path.read_text() + extra)
        return path

    def command(self, config: Path) -> tuple[list[str], dict[str, str]]:
        cmd, env = super().command(config)
        return cmd, env | self.extra_env


def parse_env(pairs: list[str]) -> dict[str, str]:
    return dict(p.split("=", 1) for p in pairs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", default=str(BUILD_DIR / "wasmgate"))
    ap.add_argument("--before-env", action="append", default=[])
    ap.add_argument("--after-env", action="append", default=[])
    ap.add_argument("--before-static", default="", help="static YAML appended to the before side's config")
    ap.add_argument("--after-static", default="", help="static YAML appended to the after side's config")
    ap.add_argument("--workers", type=int, default=1, help="WASMGATE_WORKER_THREADS for both sides")
    ap.add_argument(
        "--observability",
        choices=["none", "before", "after", "both"],
        default="none",
        help="the side that runs with metrics and a JSON access log to a file "
        "(both: an old and a new binary compared with them on)",
    )
    ap.add_argument(
        "--observability-parts",
        default="metrics,accesslog",
        help="what --observability turns on: metrics, accesslog or both (to tell their costs apart)",
    )
    interleave.add_run_args(ap, conns="64", duration=4)
    args = ap.parse_args()

    workdir = interleave.work_dir("ab")
    # Private copies, so a rebuild during the run changes nothing.
    shutil.copy2(args.before, workdir / "bin" / "before")
    shutil.copy2(args.after, workdir / "bin" / "after")
    workers = {"WASMGATE_WORKER_THREADS": str(args.workers)}
    parts = [p for p in args.observability_parts.split(",") if p]
    unknown = [p for p in parts if p not in OBSERVABILITY]
    if unknown:
        ap.error(f"unknown --observability-parts {unknown}; known: {sorted(OBSERVABILITY)}")
    envs = {"before": args.before_env, "after": args.after_env}
    statics = {"before": args.before_static, "after": args.after_static}
    sides = [
        Side(
            workdir / name,
            workdir / "bin" / name,
            name,
            workers | parse_env(envs[name]),
            statics[name],
            parts if args.observability in (name, "both") else [],
        )
        for name in ("before", "after")
    ]

    done = interleave.run(
        sides,
        args,
        workdir,
        lambda r: f"p50 {r['p50_us'] / 1000:.2f} p99 {r['p99_us'] / 1000:.2f} "
        f"p99.9 {r['p999_us'] / 1000:.2f} ms  busy {r['busy']:.0%}"
        + (
            f"  log thread {r['log_thread_us']:.2f} µs/req "
            f"({r.get('log_thread_user_us', 0):.2f}/{r.get('log_thread_sys_us', 0):.2f})"
            if r.get("log_thread_us")
            else ""
        ),
        name_width=6,
        cleanup=interleave.logs_remover(sides),
    )

    print(f"\nload average before {done.load_before}, after {done.load_after}; {args.rounds} rounds; raw: {workdir}")
    print("scenario conns | before: req/s, CPU µs (user/sys), p99 ms | after: same | after÷before: req/s, req per CPU-s, p99")
    for s in done.scenarios:
        for conns in done.conns_list:
            med = lambda name, k: done.median(s.id, conns, name, k)  # noqa: E731
            cols = [
                f"{med(name, 'rps'):7.0f} {med(name, 'cpu_us'):5.1f} ({med(name, 'cpu_user_us'):.1f}/{med(name, 'cpu_sys_us'):.1f}) "
                f"{med(name, 'p99_us') / 1000:5.2f}"
                for name in ("before", "after")
            ]
            ratio = lambda k, inverse=False: done.ratio(s.id, conns, "after", "before", k, inverse)  # noqa: E731
            print(
                f"{s.id:8} {conns:5} | {cols[0]} | {cols[1]} | "
                f"{ratio('rps'):.3f} {ratio('cpu_us', inverse=True):.3f} {ratio('p99_us'):.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
