"""The access log's cost for wasmgate and for nginx, in one interleaved run (issue 15's cost check
beside the same check on nginx, so the ratio can be read against what a C proxy pays on this
machine for the same bytes).

    WASMGATE_BENCH_PROFILE=release bench/.venv/bin/python bench/harness/log_cost.py \\
        [--binary target/release/wasmgate] [--rounds 5] [--conns 64]

Four sides, scenario a (plain proxy, 1 KiB), the order alternating each round:
- `wg-off`: wasmgate without metrics or access log;
- `wg-on`: wasmgate with Prometheus metrics and the access log in JSON to a file (what issue 15's
  check names; `ab.py --observability after`);
- `ngx-off`: nginx as in every run of bench/ (`access_log off`);
- `ngx-on`: nginx with an access log in JSON to a file, one line per request with Traefik's field
  names filled from nginx's variables (about the same bytes per line as wasmgate's), written
  through a 64 KiB buffer (`buffer=64k`: nginx writes from its worker once the buffer is full,
  as wasmgate's writer writes 64 KiB at a time). nginx has no per-request metrics to turn on.

`--parts` adds two wasmgate sides that take the cost apart: `wg-metrics` (metrics alone) and
`wg-null` (metrics and the JSON log written to `/dev/null`: everything but the file's writes),
and prints metrics ÷ off, null ÷ off and on ÷ null (what the file's writes alone cost).

Prints every run, then the medians and the median of the per-round ratios on ÷ off for each
proxy (requests per CPU-second), and where wasmgate's extra CPU goes: the request side's user
and system time over off (every thread but the log's) and the access-log writer thread's. The log files are deleted after each run, as `ab.py` does.
Writes nothing under bench/results; the raw runs go to target/bench/logcost-<stamp>/results.json.
"""

import argparse
import shutil
import statistics
from pathlib import Path

import interleave
from ab import OBSERVABILITY, Side
from main import BUILD_DIR
from proxies.nginx import Nginx

# Traefik's JSON access-log fields (pkg/middlewares/accesslog), from nginx's variables.
NGINX_JSON = (
    "escape=json '{"
    '"ClientAddr":"$remote_addr:$remote_port","ClientHost":"$remote_addr",'
    '"ClientPort":"$remote_port","ClientUsername":"-",'
    '"DownstreamContentSize":$body_bytes_sent,"DownstreamStatus":$status,'
    '"Duration":$request_time,"OriginContentSize":$upstream_response_length,'
    '"OriginDuration":$upstream_response_time,"OriginStatus":$upstream_status,"Overhead":0,'
    '"RequestAddr":"$http_host","RequestContentSize":$request_length,'
    '"RequestCount":$connection_requests,"RequestHost":"$host","RequestMethod":"$request_method",'
    '"RequestPath":"$request_uri","RequestPort":"$server_port","RequestProtocol":"$server_protocol",'
    '"RequestScheme":"$scheme","RetryAttempts":0,"RouterName":"bench@file",'
    '"ServiceAddr":"$upstream_addr","ServiceName":"bench@file",'
    '"ServiceURL":"http://$upstream_addr","StartLocal":"$time_iso8601",'
    '"StartUTC":"$time_iso8601","entryPointName":"web","level":"info","msg":"",'
    '"time":"$time_iso8601"'
    "}'"
)


class NginxSide(Nginx):
    """nginx with its access log off or in JSON to a file in the side's work directory."""

    def __init__(self, workdir: Path, name: str, log: bool):
        self.name = name
        super().__init__(workdir)
        self.log = log

    def config(self, scenario, features: list[str]) -> Path:
        path = super().config(scenario, features)
        if self.log:
            (self.workdir / "logs").mkdir(exist_ok=True)
            log = self.workdir / "logs" / "access.json"
            text = path.read_text().replace(
                "access_log off;",
                f"log_format traefik_json {NGINX_JSON};\n    access_log {log} traefik_json buffer=64k;",
            )
            path.write_text(text)
        return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(BUILD_DIR / "wasmgate"))
    interleave.add_run_args(ap, conns="64", duration=5)
    ap.add_argument(
        "--parts",
        action="store_true",
        help="also run wasmgate with metrics alone and with the log to /dev/null (see above)",
    )
    ap.set_defaults(scenarios="a")
    args = ap.parse_args()

    workdir = interleave.work_dir("logcost")
    shutil.copy2(args.binary, workdir / "bin" / "wasmgate")
    binary = workdir / "bin" / "wasmgate"
    sides = [
        Side(workdir / "wg-off", binary, "wg-off", {}),
        Side(workdir / "wg-on", binary, "wg-on", {}, observability=["metrics", "accesslog"]),
        NginxSide(workdir, "ngx-off", log=False),
        NginxSide(workdir, "ngx-on", log=True),
    ]
    if args.parts:
        sides += [
            Side(workdir / "wg-metrics", binary, "wg-metrics", {}, observability=["metrics"]),
            Side(workdir / "wg-null", binary, "wg-null", {}, static=NULL_LOG, observability=["metrics"]),
        ]

    done = interleave.run(
        sides,
        args,
        workdir,
        lambda r: f"p99 {r['p99_us'] / 1000:.2f} ms  busy {r['busy']:.0%}",
        name_width=max(len(side.name) for side in sides),
        cleanup=interleave.logs_remover(sides),
    )

    print(f"\nload average before {done.load_before}, after {done.load_after}; {args.rounds} rounds; raw: {workdir}")
    print("scenario conns proxy    | off: req/s, CPU µs (user/sys) | on: same | on÷off: req/s, req per CPU-s")
    for s in done.scenarios:
        for conns in done.conns_list:
            for proxy in ("wg", "ngx"):
                off, on = f"{proxy}-off", f"{proxy}-on"
                med = lambda name, k: done.median(s.id, conns, name, k)  # noqa: E731
                cols = [
                    f"{med(n, 'rps'):7.0f} {med(n, 'cpu_us'):5.1f} ({med(n, 'cpu_user_us'):.1f}/{med(n, 'cpu_sys_us'):.1f})"
                    for n in (off, on)
                ]
                ratio = lambda k, inverse=False: done.ratio(s.id, conns, on, off, k, inverse)  # noqa: E731
                print(
                    f"{s.id:8} {conns:5} {proxy:8} | {cols[0]} | {cols[1]} | "
                    f"{ratio('rps'):.3f} {ratio('cpu_us', inverse=True):.3f}"
                )
            # Where wasmgate's extra CPU goes: the request side (every thread but the log's)
            # and the access-log writer thread, medians over the rounds.
            rows = {n: done.runs(s.id, conns, n).values() for n in ("wg-off", "wg-on")}
            part = lambda n, k: statistics.median(r[k] or 0 for r in rows[n])  # noqa: E731
            side = lambda n, k: statistics.median(  # noqa: E731
                r[f"cpu_{k}_us"] - (r[f"log_thread_{k}_us"] or 0) for r in rows[n]
            )
            print(
                f"{s.id:8} {conns:5} wg on, µs per request: request side user "
                f"{side('wg-on', 'user') - side('wg-off', 'user'):+.2f}, sys "
                f"{side('wg-on', 'sys') - side('wg-off', 'sys'):+.2f} over off; log thread user "
                f"{part('wg-on', 'log_thread_user_us'):.2f}, sys {part('wg-on', 'log_thread_sys_us'):.2f}"
            )
            if args.parts:
                for num, den, what in PARTS:
                    r = done.ratio(s.id, conns, num, den, "cpu_us", True)
                    print(f"{s.id:8} {conns:5} {num} ÷ {den}: {r:.3f} req per CPU-s ({what})")
    return 0


# `--parts`: the check's JSON access log written to `/dev/null` (rendered, not stored).
NULL_LOG = OBSERVABILITY["accesslog"].format(log="/dev/null")

# `--parts`' ratios: (numerator side, denominator side, what the ratio isolates).
PARTS = [
    ("wg-metrics", "wg-off", "metrics alone"),
    ("wg-null", "wg-off", "all but the file's writes"),
    ("wg-on", "wg-null", "the file's writes alone"),
]


if __name__ == "__main__":
    raise SystemExit(main())
